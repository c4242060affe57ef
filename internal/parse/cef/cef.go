// Package cef parses ArcSight Common Event Format records
// ("CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|ext"), bare or
// inside a syslog envelope. It registers the format "cef".
//
// The header fills observer.*, event.code and rule.*; standard extension
// keys map to ECS (src → source.ip, act → event.action, request →
// url.original, …); custom-string pairs (cs1Label=X cs1=Y) are stored as
// cef.extensions.X; parse.Config.CEF.Fields adds or overrides mappings.
// Every extension is also kept under cef.extensions.<key>.
package cef

import (
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// Name is the registered format name.
const Name = "cef"

func init() {
	parse.Register(Name, func(cfg *parse.Config) (parse.Parser, error) {
		return &Parser{m: cfg.CEF}, nil
	})
}

// Parser parses CEF records. It is safe for concurrent use.
type Parser struct {
	m parse.FieldMapping
}

var (
	_ parse.Parser   = (*Parser)(nil)
	_ parse.Detector = (*Parser)(nil)
)

// Name returns "cef".
func (*Parser) Name() string { return Name }

// Detect claims payloads containing a CEF header.
func (*Parser) Detect(rec *parse.Record) int {
	if strings.HasPrefix(rec.Payload, "CEF:") {
		return 100
	}
	if i := strings.Index(rec.Payload, "CEF:"); i >= 0 && strings.Count(rec.Payload[i:], "|") >= 7 {
		return 90
	}
	return 0
}

// standard maps CEF extension keys to ECS fields.
var standard = map[string]string{
	"src": "source.ip", "spt": "source.port", "dst": "destination.ip", "dpt": "destination.port",
	"smac": "source.mac", "dmac": "destination.mac", "shost": "source.domain", "dhost": "destination.domain",
	"suser": "source.user.name", "duser": "destination.user.name", "proto": "network.transport",
	"act": "event.action", "app": "network.protocol", "request": "url.original",
	"requestMethod": "http.request.method", "requestClientApplication": "user_agent.original",
	"fname": "file.name", "filePath": "file.path", "fsize": "file.size", "fileHash": "file.hash.sha256",
	"msg": "message", "reason": "event.reason", "outcome": "event.outcome", "externalId": "event.id",
	"dvc": "observer.ip", "dvchost": "observer.hostname", "deviceExternalId": "observer.serial_number",
	"in": "source.bytes", "out": "destination.bytes", "sproc": "process.name", "spid": "process.pid",
	"cat": "cef.category", "cnt": "event.count", "deviceInboundInterface": "observer.ingress.interface.name",
	"deviceOutboundInterface": "observer.egress.interface.name", "sourceTranslatedAddress": "source.nat.ip",
	"destinationTranslatedAddress": "destination.nat.ip", "sourceTranslatedPort": "source.nat.port",
	"destinationTranslatedPort": "destination.nat.port", "requestContext": "http.request.referrer",
	"dproc": "process.name",
}

var intFields = map[string]bool{
	"source.port": true, "destination.port": true, "file.size": true, "source.bytes": true,
	"destination.bytes": true, "process.pid": true, "event.count": true, "source.nat.port": true,
	"destination.nat.port": true,
}

// Parse normalizes one CEF record.
func (p *Parser) Parse(ev *event.Event, rec *parse.Record) error {
	s := rec.Payload
	i := strings.Index(s, "CEF:")
	if i < 0 {
		return parse.NotMine(Name, `a "CEF:" header`)
	}
	if i > 0 {
		ev.PutString("cef.prefix", strings.TrimSpace(s[:i]))
	}
	s = s[i+4:]
	hdr, ext, ok := header(s)
	if !ok {
		return parse.Errorf("cef: header has %d of 7 pipe-separated fields", len(hdr))
	}
	ev.Kind = event.KindEvent
	ev.Module = "cef"
	ev.Dataset = "cef.log"
	if p.m.Dataset != "" {
		ev.Dataset = p.m.Dataset
	}
	ev.PutString("cef.version", hdr[0])
	ev.Observer.Vendor, ev.Observer.Product = hdr[1], hdr[2]
	ev.PutString("observer.version", hdr[3])
	ev.PutString("event.code", hdr[4])
	ev.Rule.ID = hdr[4]
	ev.Rule.Name = hdr[5]
	ev.Message = hdr[5]
	sev := hdr[6]
	ev.PutString("cef.severity", sev)
	if n, err := strconv.Atoi(sev); err == nil && n >= 0 && n <= 10 {
		ev.Severity = int64(n)
		ev.PutInt(event.FieldSeverityID, int64(cefSeverity(n)))
	} else if id := event.ParseSeverity(strings.ReplaceAll(sev, "Very-High", "critical")); id != event.SeverityUnknown {
		ev.PutInt(event.FieldSeverityID, int64(id))
	}

	pairs := extensions(ext)
	labels := map[string]string{}
	for _, kv := range pairs {
		if strings.HasSuffix(kv[0], "Label") {
			labels[strings.TrimSuffix(kv[0], "Label")] = kv[1]
		}
	}
	var src, dst string
	for _, kv := range pairs {
		k, v := kv[0], kv[1]
		if strings.HasSuffix(k, "Label") {
			continue
		}
		ev.PutString("cef.extensions."+k, v)
		if l, ok := labels[k]; ok && l != "" {
			ev.PutString("cef.extensions."+l, v)
		}
		target, ok := p.m.Fields[k]
		if !ok {
			target, ok = standard[k]
		}
		if !ok {
			switch k {
			case "rt", "start", "end":
				if t, ok := cefTime(v, rec.Config); ok {
					switch k {
					case "rt":
						ev.Timestamp = t
					case "start":
						ev.PutString("event.start", t.UTC().Format(time.RFC3339Nano))
					case "end":
						ev.PutString("event.end", t.UTC().Format(time.RFC3339Nano))
					}
				}
			case "deviceDirection":
				if v == "0" {
					ev.Network.Direction = "inbound"
				} else if v == "1" {
					ev.Network.Direction = "outbound"
				}
			}
			continue
		}
		switch target {
		case "source.ip":
			src = v
			continue
		case "destination.ip":
			dst = v
			continue
		case "network.transport":
			if n, isNum := parse.Atoi(v); isNum {
				v = parse.ProtocolName(n)
			}
			v = parse.Transport(v)
		case "source.mac", "destination.mac":
			v = strings.ToUpper(strings.ReplaceAll(v, ":", "-"))
		case "observer.ip", "source.nat.ip", "destination.nat.ip":
			if a := parse.Addr(v); a.IsValid() {
				ev.Put(target, a)
			}
			continue
		}
		if intFields[target] {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				ev.PutInt(target, n)
			}
			continue
		}
		ev.PutString(target, v)
	}
	parse.SetEndpoints(ev, "cef", src, dst)
	for _, f := range [...]string{"source.user.name", "destination.user.name"} {
		if u, ok := ev.GetString(f); ok {
			ev.AddRelated("user", u)
			if f == "source.user.name" {
				ev.PutString("user.name", u)
			}
		}
	}
	return nil
}

func cefSeverity(n int) event.Severity {
	switch {
	case n <= 3:
		return event.SeverityLow
	case n <= 6:
		return event.SeverityMedium
	case n <= 8:
		return event.SeverityHigh
	}
	return event.SeverityCritical
}

// header splits the seven header fields (escapes \| and \\) and returns the
// extension text.
func header(s string) ([]string, string, bool) {
	var fields []string
	var b strings.Builder
	i := 0
	for i < len(s) && len(fields) < 7 {
		c := s[i]
		if c == '\\' && i+1 < len(s) && (s[i+1] == '|' || s[i+1] == '\\') {
			b.WriteByte(s[i+1])
			i += 2
			continue
		}
		if c == '|' {
			fields = append(fields, b.String())
			b.Reset()
			i++
			continue
		}
		b.WriteByte(c)
		i++
	}
	if len(fields) < 7 {
		return fields, "", false
	}
	return fields, s[i:], true
}

// extensions splits "k1=v1 k2=v two k3=v3": a value runs until the space
// before the next key=. Escapes \= \\ \n \r are decoded.
func extensions(s string) [][2]string {
	var out [][2]string
	s = strings.TrimSpace(s)
	for s != "" {
		eq := unescapedEq(s, 0)
		if eq <= 0 {
			break
		}
		key := strings.TrimSpace(s[:eq])
		rest := s[eq+1:]
		end := len(rest)
		// Find the next " key=" boundary.
		for j := 0; j < len(rest); j++ {
			if rest[j] != ' ' {
				continue
			}
			k := j + 1
			for k < len(rest) && isKeyChar(rest[k]) {
				k++
			}
			if k > j+1 && k < len(rest) && rest[k] == '=' && rest[k-1] != '\\' {
				end = j
				break
			}
		}
		out = append(out, [2]string{key, unescape(strings.TrimRight(rest[:end], " "))})
		if end >= len(rest) {
			break
		}
		s = rest[end+1:]
	}
	return out
}

func unescapedEq(s string, from int) int {
	for i := from; i < len(s); i++ {
		if s[i] == '=' && (i == 0 || s[i-1] != '\\') {
			return i
		}
	}
	return -1
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '[' || c == ']'
}

func unescape(v string) string {
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case '=', '\\', '|':
				b.WriteByte(v[i+1])
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// cefTime reads epoch milliseconds or "MMM dd yyyy HH:mm:ss[.SSS][ zone]".
func cefTime(v string, cfg *parse.Config) (time.Time, bool) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > 1e11 {
			return time.UnixMilli(n).UTC(), true
		}
		return time.Unix(n, 0).UTC(), true
	}
	for _, layout := range [...]string{"Jan 02 2006 15:04:05.000 MST", "Jan 02 2006 15:04:05 MST", "Jan 02 2006 15:04:05.000", "Jan 02 2006 15:04:05", "Jan 02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, cfg.Loc()); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
