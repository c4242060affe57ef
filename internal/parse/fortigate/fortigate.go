// Package fortigate parses FortiGate (FortiOS) key=value syslog records:
// traffic, utm (virus, ips, webfilter, waf, app-ctrl, dns, …) and event
// logs. It registers the format "fortigate". The CEF variant FortiGate can
// also emit is handled by the "cef" format.
//
// Time comes from eventtime when present (seconds, milliseconds,
// microseconds or nanoseconds depending on the FortiOS release, decided by
// digit count), else from date+time in tz or the configured zone. Keys
// without an ECS home go under "fortinet.firewall.<key>".
package fortigate

import (
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// Name is the registered format name.
const Name = "fortigate"

func init() {
	parse.Register(Name, func(*parse.Config) (parse.Parser, error) { return Parser{}, nil })
}

// Parser parses FortiGate records. It is stateless and safe for concurrent use.
type Parser struct{}

var (
	_ parse.Parser   = Parser{}
	_ parse.Detector = Parser{}
)

// Name returns "fortigate".
func (Parser) Name() string { return Name }

// Detect claims key=value payloads with FortiOS's characteristic keys.
func (Parser) Detect(rec *parse.Record) int {
	p := rec.Payload
	if strings.HasPrefix(p, "CEF:") {
		return 0
	}
	hits := 0
	for _, k := range [...]string{"logid=", "devid=", "devname=", "eventtime=", "subtype=", "vd="} {
		if strings.Contains(p, k) {
			hits++
		}
	}
	switch {
	case hits >= 3:
		return 95
	case hits == 2 && strings.Contains(p, "type="):
		return 70
	}
	return 0
}

// Pair is one key=value token.
type pair struct{ k, v string }

// splitKV tokenizes space-separated key=value pairs whose values may be
// double-quoted (with spaces and \" inside). Tokens without '=' are skipped.
func splitKV(dst []pair, s string) []pair {
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' {
			i++
		}
		if i >= len(s) || s[i] == ' ' {
			continue
		}
		key := s[start:i]
		i++ // '='
		if i < len(s) && s[i] == '"' {
			i++
			vs := i
			escaped := false
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					escaped = true
					i++
				}
				i++
			}
			v := s[vs:min(i, len(s))]
			if escaped {
				v = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(v)
			}
			dst = append(dst, pair{key, v})
			i++ // closing quote
			continue
		}
		vs := i
		for i < len(s) && s[i] != ' ' {
			i++
		}
		dst = append(dst, pair{key, s[vs:i]})
	}
	return dst
}

var levels = map[string]int64{"emergency": 0, "alert": 1, "critical": 2, "error": 3, "warning": 4, "notice": 5, "information": 6, "debug": 7}

// Parse normalizes one FortiGate record.
func (Parser) Parse(ev *event.Event, rec *parse.Record) error {
	var buf [96]pair
	kv := splitKV(buf[:0], rec.Payload)
	if len(kv) < 3 {
		return parse.NotMine(Name, "FortiOS key=value pairs")
	}
	ev.Grow(48)
	ev.Kind = event.KindEvent
	ev.Module = "fortinet"
	ev.Observer.Vendor = "Fortinet"
	ev.Observer.Product = "FortiGate"
	ev.Observer.Type = "firewall"
	var date, clock, tz, eventtime, typ, subtype, src, dst string
	var sent, rcvd, sentPkt, rcvdPkt int64
	seen := false
	for _, p := range kv {
		k, v := p.k, p.v
		switch k {
		case "date":
			date = v
		case "time":
			clock = v
		case "tz":
			tz = v
		case "eventtime":
			eventtime = v
		case "logid":
			ev.PutString("event.code", v)
			seen = true
		case "type":
			typ = v
		case "subtype":
			subtype = v
		case "level":
			ev.PutString("log.level", v)
			if n, ok := levels[v]; ok {
				ev.Severity = n
				ev.PutInt(event.FieldSeverityID, int64(event.SeverityFromSyslog(n)))
			}
		case "devname":
			ev.Observer.Name = v
			seen = true
		case "devid":
			ev.PutString("observer.serial_number", v)
			seen = true
		case "srcip":
			src = v
		case "dstip":
			dst = v
		case "srcport":
			ev.Source.Port = parse.Port(v)
		case "dstport":
			ev.Destination.Port = parse.Port(v)
		case "srcintf":
			ev.PutString("observer.ingress.interface.name", v)
		case "dstintf":
			ev.PutString("observer.egress.interface.name", v)
		case "proto":
			if n, ok := parse.Atoi(v); ok {
				ev.Network.IANANumber = v
				ev.Network.Transport = parse.ProtocolName(n)
			}
		case "action":
			ev.Action = v
		case "policyid":
			ev.Rule.ID = v
		case "policyname":
			ev.Rule.Name = v
		case "sentbyte":
			sent = atoi64(v)
		case "rcvdbyte":
			rcvd = atoi64(v)
		case "sentpkt":
			sentPkt = atoi64(v)
		case "rcvdpkt":
			rcvdPkt = atoi64(v)
		case "duration":
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				ev.PutInt("event.duration", n*int64(time.Second))
			}
		case "app":
			ev.PutString("network.application", strings.ToLower(v))
		case "srcmac":
			ev.PutString("source.mac", macECS(v))
		case "dstmac":
			ev.PutString("destination.mac", macECS(v))
		case "user", "srcuser":
			ev.PutString("user.name", v)
		case "group":
			ev.PutString("group.name", v)
		case "transip":
			if a := parse.Addr(v); a.IsValid() {
				ev.Put("source.nat.ip", a)
			}
		case "transport":
			if n := parse.Port(v); n > 0 {
				ev.PutInt("source.nat.port", int64(n))
			}
		case "tranip":
			if a := parse.Addr(v); a.IsValid() {
				ev.Put("destination.nat.ip", a)
			}
		case "tranport":
			if n := parse.Port(v); n > 0 {
				ev.PutInt("destination.nat.port", int64(n))
			}
		case "srccountry":
			if v != "Reserved" {
				ev.PutString("source.geo.country_name", v)
			}
		case "dstcountry":
			if v != "Reserved" {
				ev.PutString("destination.geo.country_name", v)
			}
		case "direction":
			switch v {
			case "incoming":
				ev.Network.Direction = "inbound"
			case "outgoing":
				ev.Network.Direction = "outbound"
			default:
				ev.PutString("fortinet.firewall.direction", v)
			}
		case "url":
			ev.PutString("url.original", v)
			path, query, _ := strings.Cut(v, "?")
			ev.PutString("url.path", path)
			ev.PutString("url.query", query)
		case "hostname":
			ev.PutString("url.domain", v)
		case "agent":
			ev.PutString("user_agent.original", v)
		case "httpmethod", "reqtype":
			if k == "httpmethod" {
				ev.PutString("http.request.method", v)
			} else {
				ev.PutString("fortinet.firewall.reqtype", v)
			}
		case "filename":
			ev.PutString("file.name", v)
		case "filesize":
			ev.PutInt("file.size", atoi64(v))
		case "filehash":
			ev.PutString("file.hash.sha256", v)
		case "virus", "attack":
			ev.Rule.Name = v
		case "virusid", "attackid":
			ev.Rule.ID = v
		case "msg":
			ev.Message = v
		case "qname":
			ev.PutString("dns.question.name", v)
		case "qtype":
			ev.PutString("dns.question.type", v)
		case "sessionid":
			ev.PutString("network.session_id", v)
			ev.PutString("fortinet.firewall.sessionid", v)
		default:
			ev.PutString("fortinet.firewall."+k, v)
		}
	}
	if !seen && typ == "" {
		return parse.NotMine(Name, "a FortiOS record (logid, devname or devid)")
	}
	ev.PutString("fortinet.firewall.type", typ)
	ev.PutString("fortinet.firewall.subtype", subtype)
	ev.Dataset = "fortinet.firewall"
	if t, ok := eventTime(eventtime); ok {
		ev.Timestamp = t
	} else if date != "" && clock != "" {
		loc := rec.Config.Loc()
		layout := "2006-01-02 15:04:05"
		text := date + " " + clock
		if tz != "" {
			layout += " -0700"
			text += " " + strings.Trim(tz, `"`)
		}
		if t, err := time.ParseInLocation(layout, text, loc); err == nil {
			ev.Timestamp = t
		}
	}
	if sent > 0 || rcvd > 0 {
		ev.PutInt("source.bytes", sent)
		ev.PutInt("destination.bytes", rcvd)
		ev.PutInt("network.bytes", sent+rcvd)
	}
	if sentPkt > 0 || rcvdPkt > 0 {
		ev.PutInt("source.packets", sentPkt)
		ev.PutInt("destination.packets", rcvdPkt)
		ev.PutInt("network.packets", sentPkt+rcvdPkt)
	}
	parse.SetEndpoints(ev, "fortinet.firewall", src, dst)
	classify(ev, typ, subtype)
	if u, ok := ev.GetString("user.name"); ok {
		ev.AddRelated("user", u)
	}
	return nil
}

func classify(ev *event.Event, typ, subtype string) {
	allowed := false
	denied := false
	switch ev.Action {
	case "accept", "close", "timeout", "client-rst", "server-rst", "pass", "passthrough", "allow", "permit", "start":
		allowed = true
	case "deny", "block", "blocked", "dropped", "drop", "reset", "reject":
		denied = true
	}
	switch typ {
	case "traffic":
		ev.Category = []string{"network"}
		ev.Type = []string{"connection"}
	case "utm":
		ev.Rule.Category = subtype
		ev.Category = []string{"network"}
		ev.Type = []string{"info"}
		switch subtype {
		case "virus":
			ev.Kind = event.KindAlert
			ev.Category = []string{"malware", "network", "file"}
		case "ips", "anomaly":
			ev.Kind = event.KindAlert
			ev.Category = []string{"intrusion_detection", "network"}
		case "waf":
			ev.Kind = event.KindAlert
			ev.Category = []string{"intrusion_detection", "web"}
		case "webfilter":
			ev.Category = []string{"web", "network"}
			if denied {
				ev.Kind = event.KindAlert
			}
		case "dns":
			ev.Category = []string{"network"}
			ev.Network.Protocol = "dns"
		}
	case "event":
		ev.Rule.Category = subtype
		ev.Category = []string{"host"}
		ev.Type = []string{"info"}
		if subtype == "vpn" || subtype == "user" {
			ev.Category = []string{"authentication"}
		}
	}
	switch {
	case allowed:
		ev.AddType("allowed")
		ev.Outcome = "success"
	case denied:
		ev.AddType("denied")
		ev.Outcome = "failure"
	}
}

// eventTime converts FortiOS eventtime, whose unit depends on the release.
func eventTime(s string) (time.Time, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	switch len(s) {
	case 10:
		return time.Unix(n, 0).UTC(), true
	case 13:
		return time.UnixMilli(n).UTC(), true
	case 16:
		return time.UnixMicro(n).UTC(), true
	case 19:
		return time.Unix(0, n).UTC(), true
	}
	return time.Time{}, false
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func macECS(s string) string {
	return strings.ToUpper(strings.ReplaceAll(s, ":", "-"))
}
