// Package suricata parses Suricata EVE JSON records (alert, flow, dns v2 and
// v3, http, tls, fileinfo, anomaly, and any other event_type generically).
// It registers the format "suricata".
//
// Fields mapped to ECS are not repeated; every other leaf is kept under
// "suricata.eve.<path>" (flow_id as int64, or as text in the rare case it
// exceeds int64, never through float64).
package suricata

import (
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// Name is the registered format name.
const Name = "suricata"

func init() {
	parse.Register(Name, func(*parse.Config) (parse.Parser, error) { return Parser{}, nil })
}

// Parser parses EVE JSON lines. It is stateless and safe for concurrent use.
type Parser struct{}

var (
	_ parse.Parser   = Parser{}
	_ parse.Detector = Parser{}
)

// Name returns "suricata".
func (Parser) Name() string { return Name }

// Detect claims JSON objects carrying "event_type" and a Suricata envelope key.
func (Parser) Detect(rec *parse.Record) int {
	p := rec.Payload
	if len(p) < 2 || p[0] != '{' || !strings.Contains(p, `"event_type"`) {
		return 0
	}
	if strings.Contains(p, `"flow_id"`) || strings.Contains(p, `"src_ip"`) || rec.AppName() == "suricata" {
		return 95
	}
	return 40
}

const ns = "suricata.eve"

// consumed lists the paths mapped to ECS; they are not repeated under
// suricata.eve.
var consumed = map[string]bool{
	"timestamp": true, "src_ip": true, "src_port": true, "dest_ip": true, "dest_port": true,
	"proto": true, "in_iface": true, "app_proto": true, "community_id": true, "host": true,
	"alert.action": true, "alert.signature_id": true, "alert.signature": true, "alert.category": true,
	"alert.severity": true,
	"http.hostname":  true, "http.url": true, "http.http_method": true, "http.status": true,
	"http.http_user_agent": true, "http.http_refer": true, "http.length": true, "http.protocol": true,
	"http.http_content_type": true,
	"tls.sni":                true, "tls.subject": true, "tls.issuerdn": true, "tls.notbefore": true, "tls.notafter": true,
	"tls.ja3.hash": true, "tls.ja3s.hash": true, "tls.version": true, "tls.fingerprint": true, "tls.serial": true,
	"fileinfo.filename": true, "fileinfo.size": true, "fileinfo.md5": true, "fileinfo.sha1": true, "fileinfo.sha256": true,
	"flow.pkts_toserver": true, "flow.pkts_toclient": true, "flow.bytes_toserver": true, "flow.bytes_toclient": true,
	"flow.start": true, "flow.end": true,
	"dns.rrname": true, "dns.rrtype": true, "dns.rcode": true, "dns.id": true, "dns.type": true,
	"dns.queries": true, "dns.answers": true,
}

var (
	categoryNetwork = []string{"network"}
	categoryIDS     = []string{"network", "intrusion_detection"}
	categoryWeb     = []string{"network", "web"}
	categoryFile    = []string{"network", "file"}
)

// Parse normalizes one EVE record.
func (Parser) Parse(ev *event.Event, rec *parse.Record) error {
	p := rec.Payload
	if len(p) == 0 || p[0] != '{' {
		return parse.NotMine(Name, "an EVE JSON object")
	}
	d, err := parse.ParseJSON(p)
	if err != nil {
		return parse.Errorf("suricata: %v", err)
	}
	defer d.Free()
	root := d.Root()
	et, ok := d.String(d.Lookup(root, "event_type"))
	if !ok {
		return parse.Errorf(`suricata: EVE record has no "event_type"`)
	}
	ev.Grow(32)
	ev.Kind = event.KindEvent
	ev.Module = "suricata"
	ev.Dataset = "suricata.eve"
	ev.Observer.Vendor = "OISF"
	ev.Observer.Product = "Suricata"
	ev.Observer.Type = "ids"
	ev.Category = categoryNetwork

	if ts, ok := d.String(d.Lookup(root, "timestamp")); ok {
		if t, ok := parseTime(ts); ok {
			ev.Timestamp = t
		}
	}
	src, _ := d.String(d.Lookup(root, "src_ip"))
	dst, _ := d.String(d.Lookup(root, "dest_ip"))
	if n, ok := d.Int(d.Lookup(root, "src_port")); ok && n > 0 && n < 65536 {
		ev.Source.Port = int(n)
	}
	if n, ok := d.Int(d.Lookup(root, "dest_port")); ok && n > 0 && n < 65536 {
		ev.Destination.Port = int(n)
	}
	if proto, ok := d.String(d.Lookup(root, "proto")); ok {
		if n, isNum := parse.Atoi(proto); isNum {
			ev.Network.IANANumber = proto
			ev.Network.Transport = parse.ProtocolName(n)
		} else {
			ev.Network.Transport = parse.Transport(proto)
			if n := parse.ProtocolNumber(proto); n >= 0 {
				ev.Network.IANANumber = parse.ProtocolNumberText(n)
			}
		}
	}
	if ap, ok := d.String(d.Lookup(root, "app_proto")); ok && ap != "failed" && ap != "unknown" {
		ev.Network.Protocol = strings.ToLower(ap)
	}
	if ifc, ok := d.String(d.Lookup(root, "in_iface")); ok {
		ev.PutString("observer.ingress.interface.name", ifc)
	}
	if cid, ok := d.String(d.Lookup(root, "community_id")); ok {
		ev.PutString("network.community_id", cid)
	}
	if h, ok := d.String(d.Lookup(root, "host")); ok {
		ev.Observer.Hostname = h
	}
	parse.SetEndpoints(ev, ns, src, dst)

	switch et {
	case "alert":
		alert(ev, d, d.Lookup(root, "alert"))
	case "flow", "netflow":
		flow(ev, d, d.Lookup(root, "flow"))
	case "anomaly":
		ev.Type = []string{"info"}
	}
	// Application sub-objects appear in their own event type and inside
	// alerts: map them wherever they are.
	if n := d.Lookup(root, "http"); n >= 0 {
		httpObj(ev, d, n)
	}
	if n := d.Lookup(root, "dns"); n >= 0 {
		dnsObj(ev, d, n)
	}
	if n := d.Lookup(root, "tls"); n >= 0 {
		tlsObj(ev, d, n)
	}
	if n := d.Lookup(root, "fileinfo"); n >= 0 {
		fileObj(ev, d, n)
	}
	if ev.Type == nil {
		if et == "flow" {
			ev.Type = []string{"connection"}
		} else {
			ev.Type = []string{"protocol"}
		}
	}
	d.Flatten(ev, root, ns, func(path string) bool { return consumed[path] })
	return nil
}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range [...]string{"2006-01-02T15:04:05.999999999-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func alert(ev *event.Event, d *parse.JSONDoc, a int) {
	ev.Kind = event.KindAlert
	ev.Category = categoryIDS
	if a < 0 {
		return
	}
	action, _ := d.String(d.Lookup(a, "action"))
	ev.Action = action
	switch action {
	case "allowed":
		ev.Type = []string{"allowed"}
	case "blocked":
		ev.Type = []string{"denied"}
		ev.Outcome = "success"
	default:
		ev.Type = []string{"info"}
	}
	ev.Rule.ID, _ = d.String(d.Lookup(a, "signature_id"))
	ev.Rule.Name, _ = d.String(d.Lookup(a, "signature"))
	ev.Rule.Category, _ = d.String(d.Lookup(a, "category"))
	ev.Message = ev.Rule.Name
	if sev, ok := d.Int(d.Lookup(a, "severity")); ok {
		ev.Severity = sev
		ev.PutInt(event.FieldSeverityID, int64(event.SeverityFromSuricata(sev)))
	}
	md := d.Lookup(a, "metadata")
	if v := d.Value(d.Lookup(md, "mitre_tactic_id")); v != nil {
		ev.Put("threat.tactic.id", v)
	}
	if v := d.Value(d.Lookup(md, "mitre_tactic_name")); v != nil {
		ev.Put("threat.tactic.name", v)
	}
	if v := d.Value(d.Lookup(md, "mitre_technique_id")); v != nil {
		ev.Put("threat.technique.id", v)
	}
	if v := d.Value(d.Lookup(md, "mitre_technique_name")); v != nil {
		ev.Put("threat.technique.name", v)
	}
}

func flow(ev *event.Event, d *parse.JSONDoc, f int) {
	if f < 0 {
		return
	}
	var total [2]int64
	pair := func(key, ecs string, idx int) {
		if n, ok := d.Int(d.Lookup(f, key)); ok {
			ev.PutInt(ecs, n)
			total[idx] += n
		}
	}
	pair("pkts_toserver", "source.packets", 0)
	pair("pkts_toclient", "destination.packets", 0)
	pair("bytes_toserver", "source.bytes", 1)
	pair("bytes_toclient", "destination.bytes", 1)
	if total[0] > 0 {
		ev.PutInt("network.packets", total[0])
	}
	if total[1] > 0 {
		ev.PutInt("network.bytes", total[1])
	}
	var start, end time.Time
	if s, ok := d.String(d.Lookup(f, "start")); ok {
		if t, ok := parseTime(s); ok {
			start = t
			ev.PutString("event.start", t.UTC().Format(time.RFC3339Nano))
		}
	}
	if s, ok := d.String(d.Lookup(f, "end")); ok {
		if t, ok := parseTime(s); ok {
			end = t
			ev.PutString("event.end", t.UTC().Format(time.RFC3339Nano))
		}
	}
	if !start.IsZero() && !end.IsZero() && !end.Before(start) {
		ev.PutInt("event.duration", end.Sub(start).Nanoseconds())
	}
	if state, _ := d.String(d.Lookup(f, "state")); state == "closed" {
		ev.Type = []string{"connection", "end"}
	} else {
		ev.Type = []string{"connection"}
	}
}

func httpObj(ev *event.Event, d *parse.JSONDoc, h int) {
	if ev.Kind != event.KindAlert {
		ev.Category = categoryWeb
		ev.Type = []string{"access", "protocol"}
	}
	if ev.Network.Protocol == "" {
		ev.Network.Protocol = "http"
	}
	host, _ := d.String(d.Lookup(h, "hostname"))
	ev.PutString("url.domain", host)
	if u, ok := d.String(d.Lookup(h, "url")); ok {
		ev.PutString("url.original", u)
		path, query, _ := strings.Cut(u, "?")
		ev.PutString("url.path", path)
		ev.PutString("url.query", query)
	}
	if m, ok := d.String(d.Lookup(h, "http_method")); ok {
		ev.PutString("http.request.method", m)
	}
	if s, ok := d.Int(d.Lookup(h, "status")); ok {
		ev.PutInt("http.response.status_code", s)
	}
	if ua, ok := d.String(d.Lookup(h, "http_user_agent")); ok {
		ev.PutString("user_agent.original", ua)
	}
	if r, ok := d.String(d.Lookup(h, "http_refer")); ok {
		ev.PutString("http.request.referrer", r)
	}
	if n, ok := d.Int(d.Lookup(h, "length")); ok {
		ev.PutInt("http.response.body.bytes", n)
	}
	if p, ok := d.String(d.Lookup(h, "protocol")); ok {
		ev.PutString("http.version", strings.TrimPrefix(p, "HTTP/"))
	}
	if ct, ok := d.String(d.Lookup(h, "http_content_type")); ok {
		ev.PutString("http.response.mime_type", ct)
	}
	ev.AddRelated("hosts", host)
}

func dnsObj(ev *event.Event, d *parse.JSONDoc, n int) {
	if ev.Network.Protocol == "" {
		ev.Network.Protocol = "dns"
	}
	if ev.Kind != event.KindAlert {
		ev.Type = []string{"protocol", "info"}
	}
	typ, _ := d.String(d.Lookup(n, "type"))
	switch typ {
	case "query", "request":
		ev.PutString("dns.type", "query")
	case "answer", "response":
		ev.PutString("dns.type", "answer")
	default:
		ev.PutString("dns.type", typ)
	}
	if id, ok := d.String(d.Lookup(n, "id")); ok {
		ev.PutString("dns.id", id)
	}
	if rc, ok := d.String(d.Lookup(n, "rcode")); ok {
		ev.PutString("dns.response_code", rc)
	}
	name, _ := d.String(d.Lookup(n, "rrname"))
	qtype, _ := d.String(d.Lookup(n, "rrtype"))
	if q := d.Lookup(n, "queries"); q >= 0 && name == "" { // EVE DNS v3
		first := d.First(q)
		name, _ = d.String(d.Lookup(first, "rrname"))
		qtype, _ = d.String(d.Lookup(first, "rrtype"))
	}
	if typ == "answer" && name != "" { // v2 answers repeat the question fields
		ev.PutString("dns.question.name", name)
		ev.PutString("dns.question.type", qtype)
	} else {
		ev.PutString("dns.question.name", name)
		ev.PutString("dns.question.type", qtype)
	}
	ev.AddRelated("hosts", name)
	if a := d.Lookup(n, "answers"); a >= 0 {
		var answers []any
		var ips []string
		for c := d.First(a); c >= 0; c = d.Next(c) {
			m := map[string]any{}
			if v, ok := d.String(d.Lookup(c, "rrname")); ok {
				m["name"] = v
			}
			if v, ok := d.String(d.Lookup(c, "rrtype")); ok {
				m["type"] = v
			}
			if v, ok := d.Int(d.Lookup(c, "ttl")); ok {
				m["ttl"] = v
			}
			if v, ok := d.String(d.Lookup(c, "rdata")); ok {
				m["data"] = v
				if ip := parse.Addr(v); ip.IsValid() {
					ips = append(ips, ip.String())
				}
			}
			answers = append(answers, m)
		}
		if len(answers) > 0 {
			ev.Put("dns.answers", answers)
		}
		if len(ips) > 0 {
			ev.Put("dns.resolved_ip", ips)
			ev.AddRelated("ip", ips...)
		}
	}
}

func tlsObj(ev *event.Event, d *parse.JSONDoc, n int) {
	if ev.Network.Protocol == "" {
		ev.Network.Protocol = "tls"
	}
	sni, _ := d.String(d.Lookup(n, "sni"))
	ev.PutString("tls.client.server_name", sni)
	ev.AddRelated("hosts", sni)
	if v, ok := d.String(d.Lookup(n, "subject")); ok {
		ev.PutString("tls.server.subject", v)
	}
	if v, ok := d.String(d.Lookup(n, "issuerdn")); ok {
		ev.PutString("tls.server.issuer", v)
	}
	if v, ok := d.String(d.Lookup(n, "serial")); ok {
		ev.PutString("tls.server.x509.serial_number", strings.ReplaceAll(v, ":", ""))
	}
	if v, ok := d.String(d.Lookup(n, "notbefore")); ok {
		ev.PutString("tls.server.not_before", v)
	}
	if v, ok := d.String(d.Lookup(n, "notafter")); ok {
		ev.PutString("tls.server.not_after", v)
	}
	if v, ok := d.String(d.Path(n, "ja3", "hash")); ok {
		ev.PutString("tls.client.ja3", v)
	}
	if v, ok := d.String(d.Path(n, "ja3s", "hash")); ok {
		ev.PutString("tls.server.ja3s", v)
	}
	if v, ok := d.String(d.Lookup(n, "fingerprint")); ok {
		ev.PutString("tls.server.hash.sha1", strings.ToUpper(strings.ReplaceAll(v, ":", "")))
	}
	if v, ok := d.String(d.Lookup(n, "version")); ok {
		proto, ver, found := strings.Cut(v, " ")
		if found && (proto == "TLS" || proto == "SSL") {
			ev.PutString("tls.version_protocol", strings.ToLower(proto))
			ev.PutString("tls.version", ver)
		} else {
			ev.PutString("tls.version", v)
		}
	}
}

func fileObj(ev *event.Event, d *parse.JSONDoc, n int) {
	if ev.Kind != event.KindAlert {
		ev.Category = categoryFile
		ev.Type = []string{"info"}
	}
	if v, ok := d.String(d.Lookup(n, "filename")); ok {
		ev.PutString("file.path", v)
		name := v
		if i := strings.LastIndexAny(v, "/\\"); i >= 0 {
			name = v[i+1:]
		}
		ev.PutString("file.name", name)
	}
	if v, ok := d.Int(d.Lookup(n, "size")); ok {
		ev.PutInt("file.size", v)
	}
	var hashes []string
	for _, h := range [...]string{"md5", "sha1", "sha256"} {
		if v, ok := d.String(d.Lookup(n, h)); ok {
			ev.PutString("file.hash."+h, v)
			hashes = append(hashes, v)
		}
	}
	if len(hashes) > 0 {
		ev.AddRelated("hash", hashes...)
	}
}
