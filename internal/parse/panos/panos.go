// Package panos parses Palo Alto Networks PAN-OS syslog records in the
// default CSV layout: TRAFFIC and THREAT logs fully, every other log type
// (SYSTEM, CONFIG, URL, …) with its common header. It registers the format
// "panos".
//
// Columns follow the PAN-OS "Syslog Field Descriptions". Releases append
// columns at the end and never move earlier ones, so the table below names
// the columns every release since 8.1 shares; later columns are kept as
// panw.panos.column_<n> (1-based) rather than guessed. Fields are split
// with a quote-aware CSV tokenizer because values (rule names, URLs,
// threat names) may contain commas. Empty fields are absent, not zero.
package panos

import (
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// Name is the registered format name.
const Name = "panos"

func init() {
	parse.Register(Name, func(*parse.Config) (parse.Parser, error) { return Parser{}, nil })
}

// Parser parses PAN-OS CSV records. It is stateless and safe for concurrent use.
type Parser struct{}

var (
	_ parse.Parser   = Parser{}
	_ parse.Detector = Parser{}
)

// Name returns "panos".
func (Parser) Name() string { return Name }

var logTypes = map[string]bool{
	"TRAFFIC": true, "THREAT": true, "SYSTEM": true, "CONFIG": true, "HIPMATCH": true, "GLOBALPROTECT": true,
	"USERID": true, "URL": true, "DECRYPTION": true, "AUTHENTICATION": true, "TUNNEL": true, "CORRELATION": true,
	"IPTAG": true, "SCTP": true, "GTP": true,
}

// Detect claims CSV payloads whose fourth column is a PAN-OS log type and
// second a PAN-OS timestamp.
func (Parser) Detect(rec *parse.Record) int {
	p := rec.Payload
	if len(p) < 30 || !(p[0] >= '0' && p[0] <= '9') {
		return 0
	}
	var f [5]string
	n := 0
	rest := p
	for n < 5 {
		i := strings.IndexByte(rest, ',')
		if i < 0 {
			break
		}
		f[n] = rest[:i]
		rest = rest[i+1:]
		n++
	}
	if n >= 4 && logTypes[f[3]] && isPanTime(f[1]) {
		return 95
	}
	return 0
}

func isPanTime(s string) bool {
	return len(s) == 19 && s[4] == '/' && s[7] == '/' && s[10] == ' ' && s[13] == ':'
}

// Shared columns (0-based) of TRAFFIC and THREAT.
const (
	colReceiveTime = 1
	colSerial      = 2
	colType        = 3
	colSubtype     = 4
	colGenerated   = 6
	colSrc         = 7
	colDst         = 8
	colNATSrc      = 9
	colNATDst      = 10
	colRule        = 11
	colSrcUser     = 12
	colDstUser     = 13
	colApp         = 14
	colVsys        = 15
	colSrcZone     = 16
	colDstZone     = 17
	colInIf        = 18
	colOutIf       = 19
	colLogAction   = 20
	colSession     = 22
	colRepeat      = 23
	colSrcPort     = 24
	colDstPort     = 25
	colNATSrcPort  = 26
	colNATDstPort  = 27
	colFlags       = 28
	colProto       = 29
	colAction      = 30
)

// Named tail columns per type, from colAction+1 on.
var trafficTail = []string{
	"bytes", "bytes_sent", "bytes_received", "packets", "start_time", "elapsed_time", "category",
	"", "sequence_number", "action_flags", "source_location", "destination_location", "",
	"packets_sent", "packets_received", "session_end_reason",
}

var threatTail = []string{
	"url_or_filename", "threat_id", "category", "severity", "direction", "sequence_number", "action_flags",
	"source_location", "destination_location", "", "content_type", "pcap_id", "file_digest", "cloud",
	"url_index", "user_agent", "file_type", "x_forwarded_for", "referer", "sender", "subject", "recipient",
	"report_id",
}

const ns = "panw.panos."

// Parse normalizes one PAN-OS record.
func (Parser) Parse(ev *event.Event, rec *parse.Record) error {
	f := parse.SplitCSV(make([]string, 0, 128), rec.Payload)
	if len(f) < 7 || !logTypes[f[colType]] {
		return parse.NotMine(Name, "a PAN-OS CSV record (type in column 4)")
	}
	loc := rec.Config.Loc()
	ev.Grow(48)
	ev.Kind = event.KindEvent
	ev.Module = "panw"
	ev.Dataset = "panw.panos"
	ev.Observer.Vendor = "Palo Alto Networks"
	ev.Observer.Product = "PAN-OS"
	ev.Observer.Type = "firewall"
	typ := f[colType]
	ev.PutString("observer.serial_number", f[colSerial])
	ev.PutString(ns+"type", typ)
	ev.PutString(ns+"sub_type", f[colSubtype])
	if t, err := time.ParseInLocation("2006/01/02 15:04:05", f[colGenerated], loc); err == nil {
		ev.Timestamp = t
	} else if t, err := time.ParseInLocation("2006/01/02 15:04:05", f[colReceiveTime], loc); err == nil {
		ev.Timestamp = t
	}
	if t, err := time.ParseInLocation("2006/01/02 15:04:05", f[colReceiveTime], loc); err == nil {
		ev.PutString("event.created", t.UTC().Format(time.RFC3339Nano))
	}
	if h, ok := ev.GetString("host.name"); ok {
		ev.Observer.Name = h
	}
	if typ != "TRAFFIC" && typ != "THREAT" || len(f) <= colAction {
		// Other log types: keep the header, the rest positionally.
		ev.Category = []string{"host"}
		ev.Type = []string{"info"}
		for i := 7; i < len(f); i++ {
			ev.PutString(ns+"column_"+strconv.Itoa(i+1), f[i])
		}
		return nil
	}
	parse.SetEndpoints(ev, "panw.panos", f[colSrc], f[colDst])
	if a := parse.Addr(f[colNATSrc]); a.IsValid() && !a.IsUnspecified() {
		ev.Put("source.nat.ip", a)
	}
	if a := parse.Addr(f[colNATDst]); a.IsValid() && !a.IsUnspecified() {
		ev.Put("destination.nat.ip", a)
	}
	ev.Rule.Name = f[colRule]
	ev.PutString("source.user.name", f[colSrcUser])
	ev.PutString("destination.user.name", f[colDstUser])
	if u := f[colSrcUser]; u != "" {
		ev.PutString("user.name", u)
		ev.AddRelated("user", u)
	}
	ev.PutString("network.application", f[colApp])
	ev.PutString(ns+"vsys", f[colVsys])
	ev.PutString("observer.ingress.zone", f[colSrcZone])
	ev.PutString("observer.egress.zone", f[colDstZone])
	ev.PutString("observer.ingress.interface.name", f[colInIf])
	ev.PutString("observer.egress.interface.name", f[colOutIf])
	ev.PutString(ns+"log_profile", f[colLogAction])
	ev.PutString("network.session_id", f[colSession])
	putInt(ev, ns+"repeat_count", f[colRepeat])
	ev.Source.Port = parse.Port(f[colSrcPort])
	ev.Destination.Port = parse.Port(f[colDstPort])
	if n := parse.Port(f[colNATSrcPort]); n > 0 {
		ev.PutInt("source.nat.port", int64(n))
	}
	if n := parse.Port(f[colNATDstPort]); n > 0 {
		ev.PutInt("destination.nat.port", int64(n))
	}
	ev.PutString(ns+"flags", f[colFlags])
	ev.Network.Transport = parse.Transport(f[colProto])
	if n := parse.ProtocolNumber(f[colProto]); n >= 0 {
		ev.Network.IANANumber = parse.ProtocolNumberText(n)
	}
	ev.Action = f[colAction]
	tail := trafficTail
	if typ == "THREAT" {
		tail = threatTail
	}
	vals := map[string]string{}
	for i := colAction + 1; i < len(f); i++ {
		name := ""
		if j := i - colAction - 1; j < len(tail) {
			name = tail[j]
		}
		if name == "" {
			if f[i] != "" {
				ev.PutString(ns+"column_"+strconv.Itoa(i+1), f[i])
			}
			continue
		}
		vals[name] = f[i]
	}
	switch ev.Action {
	case "allow", "alert", "continue", "override":
		ev.Type = []string{"allowed"}
		ev.Outcome = "success"
	case "deny", "drop", "drop-icmp", "reset-client", "reset-server", "reset-both", "block-url", "block", "sinkhole", "block-continue", "block-override", "drop-all-packets":
		ev.Type = []string{"denied"}
		ev.Outcome = "failure"
	}
	if typ == "TRAFFIC" {
		ev.Category = []string{"network"}
		ev.AddType("connection")
		putInt(ev, "network.bytes", vals["bytes"])
		putInt(ev, "source.bytes", vals["bytes_sent"])
		putInt(ev, "destination.bytes", vals["bytes_received"])
		putInt(ev, "network.packets", vals["packets"])
		putInt(ev, "source.packets", vals["packets_sent"])
		putInt(ev, "destination.packets", vals["packets_received"])
		if n, err := strconv.ParseInt(vals["elapsed_time"], 10, 64); err == nil {
			ev.PutInt("event.duration", n*int64(time.Second))
		}
		if t, err := time.ParseInLocation("2006/01/02 15:04:05", vals["start_time"], loc); err == nil {
			ev.PutString("event.start", t.UTC().Format(time.RFC3339Nano))
		}
		ev.PutString(ns+"url_category", vals["category"])
		ev.PutString(ns+"session_end_reason", vals["session_end_reason"])
	} else {
		threat(ev, vals)
	}
	for _, k := range [...]string{"sequence_number", "action_flags", "source_location", "destination_location"} {
		ev.PutString(ns+k, vals[k])
	}
	if ev.Network.Type == "" {
		ev.Network.Type = parse.NetworkType(ev.Source.IP)
	}
	return nil
}

func threat(ev *event.Event, v map[string]string) {
	ev.Kind = event.KindAlert
	// rule.* describes the threat signature (what Sigma antivirus and IDS
	// rules match); the security policy rule stays in panw.panos.rule_name.
	ev.PutString(ns+"rule_name", ev.Rule.Name)
	ev.Rule.Name = ""
	sub, _ := ev.GetString(ns + "sub_type")
	switch sub {
	case "virus", "wildfire-virus", "wildfire", "spyware":
		ev.Category = []string{"malware", "network"}
	case "url":
		ev.Category = []string{"web", "network"}
		if ev.Action == "alert" || ev.Action == "continue" {
			ev.Kind = event.KindEvent
		}
	default:
		ev.Category = []string{"intrusion_detection", "network"}
	}
	// "Eicar File Detected(39040)" → name and id.
	if tid := v["threat_id"]; tid != "" {
		if i := strings.LastIndexByte(tid, '('); i >= 0 && strings.HasSuffix(tid, ")") {
			ev.Rule.ID = tid[i+1 : len(tid)-1]
			ev.Rule.Name = strings.TrimSpace(tid[:i])
			ev.PutString(ns+"threat.name", ev.Rule.Name)
		} else {
			ev.PutString(ns+"threat.name", tid)
		}
		ev.PutString(ns+"threat.id", ev.Rule.ID)
	}
	ev.Rule.Category = v["category"]
	if sev := v["severity"]; sev != "" {
		ev.PutString("log.level", sev)
		s := event.ParseSeverity(sev)
		ev.Severity = int64(s)
		ev.PutInt(event.FieldSeverityID, int64(s))
	}
	switch v["direction"] {
	case "client-to-server":
		ev.PutString(ns+"direction", "client-to-server")
	case "server-to-client":
		ev.PutString(ns+"direction", "server-to-client")
	}
	if u := v["url_or_filename"]; u != "" {
		if sub == "url" || strings.Contains(u, "/") && !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "http") {
			ev.PutString("url.original", u)
			host, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://"), "/")
			ev.PutString("url.domain", host)
		} else {
			ev.PutString("file.name", u)
		}
	}
	ev.PutString("file.hash.sha256", v["file_digest"])
	ev.PutString("user_agent.original", v["user_agent"])
	ev.PutString("http.request.referrer", v["referer"])
	for _, k := range [...]string{"content_type", "pcap_id", "cloud", "url_index", "file_type", "x_forwarded_for", "sender", "subject", "recipient", "report_id"} {
		ev.PutString(ns+k, v[k])
	}
}

func putInt(ev *event.Event, name, v string) {
	if v == "" {
		return
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		ev.PutInt(name, n)
		return
	}
	ev.PutString(name, v)
}
