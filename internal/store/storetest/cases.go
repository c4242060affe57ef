package storetest

import (
	"net/netip"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
)

// Case is one search the suite runs: the query, an optional time range, and
// the reference predicate that says which of the suite's events must come
// back. Every backend must return exactly the matching events, in order, so
// backends agree with each other as well as with the reference.
type Case struct {
	Name     string
	Query    string
	From, To time.Time
	Match    func(ev *event.Event) bool
	// None marks a case that must match nothing.
	None bool
}

func str(ev *event.Event, f string) string {
	s, _ := ev.GetString(f)
	return s
}

func has(ev *event.Event, f string) bool {
	_, ok := ev.Get(f)
	return ok
}

func anyOf(ev *event.Event, f string, pred func(string) bool) bool {
	v, ok := ev.Get(f)
	if !ok {
		return false
	}
	switch x := v.(type) {
	case []string:
		for _, s := range x {
			if pred(s) {
				return true
			}
		}
		return false
	}
	s, ok := ev.GetString(f)
	return ok && pred(s)
}

func inPrefix(p string) func(string) bool {
	pfx := netip.MustParsePrefix(p)
	return func(s string) bool {
		a, err := netip.ParseAddr(s)
		return err == nil && pfx.Contains(a)
	}
}

func ci(s, sub string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(sub)) }

// Cases returns the suite's searches.
func Cases() []Case {
	port := func(ev *event.Event) int { return ev.Destination.Port }
	return []Case{
		{Name: "all", Query: "", Match: func(*event.Event) bool { return true }},
		{Name: "ip equality", Query: "source.ip:192.0.2.7", Match: func(ev *event.Event) bool { return str(ev, "source.ip") == "192.0.2.7" }},
		{Name: "ipv4 cidr", Query: "source.ip:10.0.0.0/8", Match: func(ev *event.Event) bool { return anyOf(ev, "source.ip", inPrefix("10.0.0.0/8")) }},
		{Name: "narrow cidr", Query: "source.ip:10.1.2.0/24", Match: func(ev *event.Event) bool { return anyOf(ev, "source.ip", inPrefix("10.1.2.0/24")) }},
		{Name: "ipv6 cidr", Query: "source.ip:2001:db8::/32", Match: func(ev *event.Event) bool { return anyOf(ev, "source.ip", inPrefix("2001:db8::/32")) }},
		{Name: "all v6", Query: "source.ip:\"::/0\"", Match: func(ev *event.Event) bool { return ev.Source.IP.Is6() }},
		{Name: "not cidr keeps absent", Query: "NOT source.ip:10.0.0.0/8", Match: func(ev *event.Event) bool { return !anyOf(ev, "source.ip", inPrefix("10.0.0.0/8")) }},
		{Name: "port range", Query: "destination.port:[1 TO 1024]", Match: func(ev *event.Event) bool { return port(ev) >= 1 && port(ev) <= 1024 }},
		{Name: "port exclusive range", Query: "destination.port:{22 TO 443}", Match: func(ev *event.Event) bool { return port(ev) > 22 && port(ev) < 443 }},
		{Name: "port gte", Query: "destination.port>=1024", Match: func(ev *event.Event) bool { return port(ev) >= 1024 }},
		{Name: "port colon lt", Query: "destination.port:<80", Match: func(ev *event.Event) bool { return port(ev) != 0 && port(ev) < 80 }},
		{Name: "port open range", Query: "destination.port:[3389 TO *]", Match: func(ev *event.Event) bool { return port(ev) >= 3389 }},
		{Name: "port fractional bound", Query: "destination.port:>79.5", Match: func(ev *event.Event) bool { return port(ev) >= 80 }},
		{Name: "port equality", Query: "destination.port:22", Match: func(ev *event.Event) bool { return port(ev) == 22 }},
		{Name: "and not", Query: "event.action:block AND NOT user.name:root", Match: func(ev *event.Event) bool { return ev.Action == "block" && str(ev, "user.name") != "root" }},
		{Name: "implicit and", Query: "event.action:pass destination.port:443", Match: func(ev *event.Event) bool { return ev.Action == "pass" && port(ev) == 443 }},
		{Name: "or with parens", Query: "(event.action:block OR event.action:deny) AND destination.port:22", Match: func(ev *event.Event) bool {
			return (ev.Action == "block" || ev.Action == "deny") && port(ev) == 22
		}},
		{Name: "wildcard star", Query: "user.name:adm*", Match: func(ev *event.Event) bool { return strings.HasPrefix(str(ev, "user.name"), "adm") }},
		{Name: "wildcard question", Query: "host.name:web-0?", Match: func(ev *event.Event) bool {
			h := str(ev, "host.name")
			return len(h) == 6 && strings.HasPrefix(h, "web-0")
		}},
		{Name: "wildcard case-sensitive", Query: "host.name:WEB*", None: true, Match: func(*event.Event) bool { return false }},
		{Name: "phrase", Query: `"failed password"`, Match: func(ev *event.Event) bool { return ci(ev.Message, "failed password") }},
		{Name: "free text case-insensitive", Query: "denied", Match: func(ev *event.Event) bool { return ci(ev.Message, "denied") }},
		{Name: "short free text", Query: "ok", Match: func(ev *event.Event) bool { return ci(ev.Message, "ok") }},
		{Name: "free text wildcard", Query: "acc*key", Match: func(ev *event.Event) bool {
			m := strings.ToLower(ev.Message)
			i := strings.Index(m, "acc")
			return i >= 0 && strings.Contains(m[i:], "key")
		}},
		{Name: "free text percent literal", Query: `"100%"`, Match: func(ev *event.Event) bool { return strings.Contains(ev.Message, "100%") }},
		{Name: "free text underscore literal", Query: `"admin_1"`, Match: func(ev *event.Event) bool { return ci(ev.Message, "admin_1") }},
		{Name: "message field", Query: "message:publickey", Match: func(ev *event.Event) bool { return ci(ev.Message, "publickey") }},
		{Name: "two free words", Query: "failed ssh2", Match: func(ev *event.Event) bool { return ci(ev.Message, "failed") && ci(ev.Message, "ssh2") }},
		{Name: "array field", Query: "event.category:authentication", Match: func(ev *event.Event) bool {
			return anyOf(ev, "event.category", func(s string) bool { return s == "authentication" })
		}},
		{Name: "json int", Query: "http.response.status_code:404", Match: func(ev *event.Event) bool { return str(ev, "http.response.status_code") == "404" }},
		{Name: "json int range", Query: "http.response.status_code:[400 TO 499]", Match: func(ev *event.Event) bool {
			v, ok := ev.Get("http.response.status_code")
			n, _ := v.(int64)
			return ok && n >= 400 && n <= 499
		}},
		{Name: "json cidr on array", Query: "related.ip:203.0.113.0/30", Match: func(ev *event.Event) bool { return anyOf(ev, "related.ip", inPrefix("203.0.113.0/30")) }},
		{Name: "json ip equality", Query: "related.ip:192.0.2.3", Match: func(ev *event.Event) bool {
			return anyOf(ev, "related.ip", func(s string) bool { return s == "192.0.2.3" })
		}},
		{Name: "exists", Query: "url.original:*", Match: func(ev *event.Event) bool { return has(ev, "url.original") }},
		{Name: "not exists", Query: "NOT url.original:*", Match: func(ev *event.Event) bool { return !has(ev, "url.original") }},
		{Name: "hot exists", Query: "rule.id:*", Match: func(ev *event.Event) bool { return ev.Rule.ID != "" }},
		{Name: "json wildcard", Query: "url.original:/login?user=a*", Match: func(ev *event.Event) bool { return strings.HasPrefix(str(ev, "url.original"), "/login?user=a") }},
		{Name: "json text case-sensitive", Query: "labels.env:prod", Match: func(ev *event.Event) bool { return str(ev, "labels.env") == "prod" }},
		{Name: "json bool", Query: "labels.prod:true", Match: func(ev *event.Event) bool { return str(ev, "labels.prod") == "true" }},
		{Name: "json text not", Query: "observer.name:fw-1 AND NOT labels.env:Prod", Match: func(ev *event.Event) bool {
			return ev.Observer.Name == "fw-1" && str(ev, "labels.env") != "Prod"
		}},
		{Name: "severity range", Query: "event.severity:[2 TO 3] OR event.severity:0", Match: func(ev *event.Event) bool { return ev.Severity == 2 || ev.Severity == 3 }},
		{Name: "timestamp range in query", Query: "@timestamp:[2026-11-15 TO 2026-11-17}", Match: func(ev *event.Event) bool {
			return !ev.Timestamp.Before(time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)) && ev.Timestamp.Before(time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC))
		}},
		{Name: "timestamp comparison", Query: "@timestamp>=2026-11-19T00:00:00Z source.ip:192.0.2.0/24", Match: func(ev *event.Event) bool {
			return !ev.Timestamp.Before(time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)) && anyOf(ev, "source.ip", inPrefix("192.0.2.0/24"))
		}},
		{Name: "request time range", Query: "event.action:block", From: Base.Add(-48 * time.Hour), To: Base.Add(-24 * time.Hour), Match: func(ev *event.Event) bool {
			us := ev.Timestamp.Truncate(time.Microsecond)
			return ev.Action == "block" && !us.Before(Base.Add(-48*time.Hour)) && us.Before(Base.Add(-24*time.Hour))
		}},
		{Name: "free text in a time window", Query: `"failed password" OR message:accepted`, From: Base.Add(-72 * time.Hour), To: Base.Add(-12 * time.Hour), Match: func(ev *event.Event) bool {
			us := ev.Timestamp.Truncate(time.Microsecond)
			return (ci(ev.Message, "failed password") || ci(ev.Message, "accepted")) && !us.Before(Base.Add(-72*time.Hour)) && us.Before(Base.Add(-12*time.Hour))
		}},
		{Name: "free text in an empty window", Query: "failed", From: Base.Add(time.Hour), None: true, Match: func(*event.Event) bool { return false }},
		{Name: "nested not", Query: "NOT (event.action:block OR NOT destination.port:22)", Match: func(ev *event.Event) bool { return ev.Action != "block" && port(ev) == 22 }},
		{Name: "dataset and rule", Query: "event.dataset:pfsense.filterlog rule.id:1000000103", Match: func(ev *event.Event) bool {
			return ev.Dataset == "pfsense.filterlog" && ev.Rule.ID == "1000000103"
		}},
	}
}
