package waf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	"github.com/mcpsoc/mcpsoc/internal/parse/modsec"
)

// maxLogTail bounds how much of the end of each audit log a query reads, so
// a huge unrotated log cannot stall a call.
const maxLogTail = 128 << 20

// RuleHit is one rule that matched in a transaction.
type RuleHit struct {
	ID       string   `json:"id"`
	Message  string   `json:"message,omitempty"`
	Severity string   `json:"severity,omitempty" jsonschema:"CRITICAL, ERROR, WARNING, NOTICE... (numeric severities are named)"`
	Data     string   `json:"data,omitempty" jsonschema:"what matched, as the rule's logdata says"`
	File     string   `json:"file,omitempty"`
	Line     string   `json:"line,omitempty"`
	Tags     []string `json:"tags,omitempty"`
}

// Event is one WAF audit record.
type Event struct {
	Time         time.Time `json:"time"`
	ID           string    `json:"transaction_id,omitempty"`
	Client       string    `json:"client_ip,omitempty"`
	ClientPort   int       `json:"client_port,omitempty"`
	Method       string    `json:"method,omitempty"`
	URI          string    `json:"uri,omitempty" jsonschema:"the request URI as sent, query string included"`
	Path         string    `json:"path,omitempty"`
	Host         string    `json:"host,omitempty"`
	UserAgent    string    `json:"user_agent,omitempty"`
	Status       int       `json:"status,omitempty" jsonschema:"HTTP status returned"`
	Action       string    `json:"action" jsonschema:"blocked (the WAF intercepted), detected (rules matched, request allowed) or logged (no rule matched)"`
	AnomalyScore int       `json:"anomaly_score" jsonschema:"inbound anomaly score: from the CRS verdict message when present, else the sum of the matched rules' CRS severity points"`
	Rules        []RuleHit `json:"rules"`
	Log          string    `json:"log"`
}

// verdict rules report the anomaly-score decision, not an attack.
var verdictRules = map[string]bool{"949110": true, "949111": true, "959100": true, "959101": true, "980130": true, "980140": true, "980170": true}

// scoreRes find the total in CRS verdict messages: the msg "Inbound
// Anomaly Score Exceeded (Total Score: 5)" or "(Total Inbound Score: 5 -
// SQLI=5,...)", and the match text of the native format "against variable
// `TX:ANOMALY_SCORE' (Value: `30' )".
var scoreRes = []*regexp.Regexp{
	regexp.MustCompile(`Total (?:Inbound )?Score: (\d+)`),
	regexp.MustCompile("variable `TX:(?:INBOUND_)?ANOMALY_SCORE' \\(Value: `(\\d+)'"),
}

// severityName maps ModSecurity's numeric severities to the CRS names.
func severityName(s string) string {
	switch strings.TrimSpace(s) {
	case "0":
		return "EMERGENCY"
	case "1":
		return "ALERT"
	case "2":
		return "CRITICAL"
	case "3":
		return "ERROR"
	case "4":
		return "WARNING"
	case "5":
		return "NOTICE"
	case "6":
		return "INFO"
	case "7":
		return "DEBUG"
	}
	return strings.ToUpper(strings.TrimSpace(s))
}

// crsPoints are the CRS default anomaly points per severity
// (tx.critical_anomaly_score and friends in crs-setup.conf).
func crsPoints(sev string) int {
	switch sev {
	case "CRITICAL", "EMERGENCY", "ALERT":
		return 5
	case "ERROR":
		return 4
	case "WARNING":
		return 3
	case "NOTICE":
		return 2
	}
	return 0
}

// fromEvent turns a normalized modsecurity event into an Event; ok is false
// for records that are not audit transactions (pipeline errors).
func fromEvent(ev *event.Event, log string) (Event, bool) {
	if ev.Kind == event.KindPipelineError {
		return Event{}, false
	}
	str := func(f string) string { v, _ := ev.GetString(f); return v }
	e := Event{Time: ev.Timestamp.UTC(), ID: str("transaction.id"), Method: str("http.request.method"),
		URI: str("url.original"), Path: str("url.path"), Host: str("url.domain"), UserAgent: str("user_agent.original"),
		ClientPort: ev.Source.Port, Action: ev.Action, Log: log, Rules: []RuleHit{}}
	if ev.Source.IP.IsValid() {
		e.Client = ev.Source.IP.String()
	}
	if v, ok := ev.Get("http.response.status_code"); ok {
		switch n := v.(type) {
		case int64:
			e.Status = int(n)
		case int:
			e.Status = n
		case float64:
			e.Status = int(n)
		}
	}
	if e.Action == "" {
		e.Action = "logged"
	}
	msgs, _ := ev.Get("modsec.messages")
	list, _ := msgs.([]any)
	score, points := -1, 0
	for _, m := range list {
		mm, ok := m.(map[string]any)
		if !ok {
			continue
		}
		// The rule's msg when the record has it apart (native format),
		// else the message (libmodsecurity JSON puts the msg there).
		text := anyString(mm["message"])
		h := RuleHit{ID: anyString(mm["id"]), Message: anyString(mm["msg"]), Severity: severityName(anyString(mm["severity"])),
			Data: anyString(mm["data"]), File: anyString(mm["file"]), Line: anyString(mm["line"]), Tags: anyStrings(mm["tag"])}
		if h.Message == "" {
			h.Message = text
		}
		if verdictRules[h.ID] {
			for _, re := range scoreRes {
				for _, t := range []string{h.Message, text} {
					if sm := re.FindStringSubmatch(t); sm != nil {
						if n, err := strconv.Atoi(sm[1]); err == nil && n > score {
							score = n
						}
					}
				}
			}
		} else {
			points += crsPoints(h.Severity)
		}
		e.Rules = append(e.Rules, h)
	}
	if score < 0 {
		score = points
	}
	e.AnomalyScore = score
	return e, true
}

func anyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []string:
		if len(x) > 0 {
			return x[0]
		}
	case []any:
		if len(x) > 0 {
			s, _ := x[0].(string)
			return s
		}
	}
	return ""
}

func anyStrings(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []string:
		return x
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// readLogs parses the end of each audit log and calls fn for every
// transaction, oldest first per file. It reports whether any file was
// longer than what was read.
func readLogs(paths []string, fn func(Event)) (truncated bool, err error) {
	if len(paths) == 0 {
		return false, errors.New("no WAF audit log is configured: start the server with --audit-log /var/log/modsec_audit.json (servers.waf.audit_logs)")
	}
	for _, p := range paths {
		t, err := readLog(p, fn)
		if err != nil {
			return truncated, err
		}
		truncated = truncated || t
	}
	return truncated, nil
}

func readLog(path string, fn func(Event)) (truncated bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("opening WAF audit log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("stat WAF audit log: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("WAF audit log %q is not a regular file", path)
	}
	var r io.Reader = f
	if fi.Size() > maxLogTail {
		if _, err := f.Seek(fi.Size()-maxLogTail, io.SeekStart); err != nil {
			return false, fmt.Errorf("seeking in WAF audit log: %w", err)
		}
		br := bufio.NewReader(f)
		if _, err := br.ReadString('\n'); err != nil {
			return true, nil
		}
		r, truncated = br, true
	}
	n, err := parse.New(modsec.Name, &parse.Config{Location: time.Local, SourceID: "file:" + path})
	if err != nil {
		return false, err
	}
	sc := parse.NewScanner(r, n)
	for sc.Scan() {
		if e, ok := fromEvent(sc.Event(), path); ok {
			fn(e)
		}
	}
	if err := sc.Err(); err != nil {
		return truncated, fmt.Errorf("reading WAF audit log %s: %w", path, err)
	}
	return truncated, nil
}

// filter selects events.
type filter struct {
	pathPrefix  string
	uriContains string
	client      string
	ruleID      string
	minScore    int
	since       time.Time
	until       time.Time
	blockedOnly bool
	matchedOnly bool
}

func (f filter) match(e Event) bool {
	if f.blockedOnly && e.Action != "blocked" {
		return false
	}
	if f.matchedOnly && len(e.Rules) == 0 {
		return false
	}
	if !f.since.IsZero() && e.Time.Before(f.since) {
		return false
	}
	if !f.until.IsZero() && !e.Time.Before(f.until) {
		return false
	}
	if f.pathPrefix != "" && !strings.HasPrefix(e.Path, f.pathPrefix) {
		return false
	}
	if f.uriContains != "" && !strings.Contains(e.URI, f.uriContains) {
		return false
	}
	if f.client != "" && e.Client != f.client {
		return false
	}
	if e.AnomalyScore < f.minScore {
		return false
	}
	if f.ruleID != "" {
		found := false
		for _, r := range e.Rules {
			if r.ID == f.ruleID {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// URIStat is one path with the attacks against it.
type URIStat struct {
	Path      string    `json:"path"`
	Events    int       `json:"events" jsonschema:"transactions with at least one rule match"`
	Blocked   int       `json:"blocked"`
	Clients   int       `json:"distinct_clients"`
	MaxScore  int       `json:"max_anomaly_score"`
	TopRules  []string  `json:"top_rules" jsonschema:"the most frequent non-verdict rule ids, most first (at most 5)"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	clients   map[string]bool
	rules     map[string]int
}

// topURIs ranks paths by matched transactions.
func topURIs(evs []Event, limit int) []URIStat {
	by := map[string]*URIStat{}
	for _, e := range evs {
		u := by[e.Path]
		if u == nil {
			u = &URIStat{Path: e.Path, FirstSeen: e.Time, clients: map[string]bool{}, rules: map[string]int{}}
			by[e.Path] = u
		}
		u.Events++
		if e.Action == "blocked" {
			u.Blocked++
		}
		u.clients[e.Client] = true
		u.MaxScore = max(u.MaxScore, e.AnomalyScore)
		for _, r := range e.Rules {
			if !verdictRules[r.ID] {
				u.rules[r.ID]++
			}
		}
		if e.Time.Before(u.FirstSeen) {
			u.FirstSeen = e.Time
		}
		if e.Time.After(u.LastSeen) {
			u.LastSeen = e.Time
		}
	}
	out := make([]URIStat, 0, len(by))
	for _, u := range by {
		u.Clients = len(u.clients)
		u.TopRules = topKeys(u.rules, 5)
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Events != out[j].Events {
			return out[i].Events > out[j].Events
		}
		return out[i].Path < out[j].Path
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// topKeys returns the keys with the highest counts, ties by key.
func topKeys(m map[string]int, n int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if m[ks[i]] != m[ks[j]] {
			return m[ks[i]] > m[ks[j]]
		}
		return ks[i] < ks[j]
	})
	if len(ks) > n {
		ks = ks[:n]
	}
	return ks
}

// RuleStat is one rule's hits.
type RuleStat struct {
	ID        string    `json:"id"`
	Message   string    `json:"message,omitempty"`
	Severity  string    `json:"severity,omitempty"`
	Hits      int       `json:"hits" jsonschema:"transactions the rule matched in"`
	Blocked   int       `json:"blocked" jsonschema:"of those, transactions the WAF blocked"`
	Clients   int       `json:"distinct_clients"`
	TopPaths  []string  `json:"top_paths" jsonschema:"the paths it matched most, most first (at most 5)"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	clients   map[string]bool
	paths     map[string]int
}

// ruleStats counts hits per rule id.
func ruleStats(evs []Event, includeVerdict bool, limit int) []RuleStat {
	by := map[string]*RuleStat{}
	for _, e := range evs {
		seen := map[string]bool{}
		for _, r := range e.Rules {
			if r.ID == "" || seen[r.ID] || (!includeVerdict && verdictRules[r.ID]) {
				continue
			}
			seen[r.ID] = true
			s := by[r.ID]
			if s == nil {
				s = &RuleStat{ID: r.ID, Message: r.Message, Severity: r.Severity, FirstSeen: e.Time, clients: map[string]bool{}, paths: map[string]int{}}
				by[r.ID] = s
			}
			s.Hits++
			if e.Action == "blocked" {
				s.Blocked++
			}
			s.clients[e.Client] = true
			s.paths[e.Path]++
			if e.Time.Before(s.FirstSeen) {
				s.FirstSeen = e.Time
			}
			if e.Time.After(s.LastSeen) {
				s.LastSeen = e.Time
			}
		}
	}
	out := make([]RuleStat, 0, len(by))
	for _, s := range by {
		s.Clients = len(s.clients)
		s.TopPaths = topKeys(s.paths, 5)
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Hits != out[j].Hits {
			return out[i].Hits > out[j].Hits
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// parseAddr reads one IP address, IPv4-mapped IPv6 folded to IPv4 (as the
// audit logs write it).
func parseAddr(s string) (string, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("client_ip %q is not an IP address", s)
	}
	return a.Unmap().WithZone("").String(), nil
}
