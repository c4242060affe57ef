// Package winlog parses Windows event log records serialized as JSON, in the
// shapes the common tools write. It registers the format "winlog".
//
//   - evtx dump tools (evtx_dump -o jsonl, python-evtx through xmltodict):
//     {"Event":{"System":{...},"EventData":{...}}} with XML attributes as
//     "#attributes"/"@Name" and text as "#text", EventData either a map or
//     a list of {"@Name":…,"#text":…} Data items;
//   - Winlogbeat / Elastic Agent: {"@timestamp":…,"winlog":{"channel":…,
//     "event_id":…,"event_data":{…}},…};
//   - flat records (chainsaw, hayabusa, custom exporters) with System and
//     EventData names side by side at top level ("EventID","Channel","Image").
//
// All three become the same event: System values under winlog.* as
// Winlogbeat names them (winlog.event_id, winlog.channel,
// winlog.provider_name, …), EventData under winlog.event_data.<Name> and
// UserData under winlog.user_data.<Name>, so Sigma's Windows field names
// resolve through event.Event.Get as-is ("EventID", "Channel",
// "Provider_Name", "Image", "CommandLine"). The best-known EventData names
// are also mapped to ECS (process.*, user.name, source.ip, file.path, …).
package winlog

import (
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// Name is the registered format name.
const Name = "winlog"

func init() {
	parse.Register(Name, func(*parse.Config) (parse.Parser, error) { return Parser{}, nil })
}

// Parser parses Windows event JSON. It is stateless and safe for concurrent use.
type Parser struct{}

var (
	_ parse.Parser     = Parser{}
	_ parse.Detector   = Parser{}
	_ parse.MultiLiner = Parser{}
)

// Begins reports whether line opens a pretty-printed record as evtx_dump
// writes by default: a "Record N" header or a lone "{".
func (Parser) Begins(line []byte) bool {
	if len(line) == 1 && line[0] == '{' {
		return true
	}
	_, ok := recordHeader(string(line))
	return ok
}

// Ends reports whether line closes a pretty-printed record (a lone "}").
func (Parser) Ends(line []byte) bool { return len(line) == 1 && line[0] == '}' }

// recordHeader parses evtx_dump's "Record 1234" separator line.
func recordHeader(line string) (int64, bool) {
	rest, ok := strings.CutPrefix(line, "Record ")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
	return n, err == nil
}

// stripRecordHeader removes a leading "Record N" line.
func stripRecordHeader(p string) (string, int64) {
	first, rest, found := strings.Cut(p, "\n")
	if !found {
		return p, 0
	}
	if n, ok := recordHeader(strings.TrimRight(first, "\r")); ok {
		return strings.TrimLeft(rest, " \t\r\n"), n
	}
	return p, 0
}

// Name returns "winlog".
func (Parser) Name() string { return Name }

// Detect recognizes the three JSON shapes by their characteristic keys.
func (Parser) Detect(rec *parse.Record) int {
	p, _ := stripRecordHeader(rec.Payload)
	if len(p) < 2 || p[0] != '{' {
		return 0
	}
	switch {
	case strings.Contains(p, `"System"`) && strings.Contains(p, `"Event"`):
		return 95
	case strings.Contains(p, `"winlog"`) && strings.Contains(p, `"event_id"`):
		return 95
	case strings.Contains(p, `"EventID"`) && (strings.Contains(p, `"Channel"`) || strings.Contains(p, `"Provider_Name"`)):
		return 80
	}
	return 0
}

// system maps System element names (as evtx dumps and flat exporters spell
// them) to winlog.* field names.
var system = map[string]string{
	"EventID":           "winlog.event_id",
	"Channel":           "winlog.channel",
	"Computer":          "winlog.computer_name",
	"EventRecordID":     "winlog.record_id",
	"Level":             "winlog.level",
	"Task":              "winlog.task",
	"Opcode":            "winlog.opcode",
	"Keywords":          "winlog.keywords",
	"Version":           "winlog.version",
	"Provider_Name":     "winlog.provider_name",
	"Provider_Guid":     "winlog.provider_guid",
	"ProcessID":         "winlog.process.pid",
	"ThreadID":          "winlog.process.thread.id",
	"UserID":            "winlog.user.identifier",
	"Security_UserID":   "winlog.user.identifier",
	"ActivityID":        "winlog.activity_id",
	"RelatedActivityID": "winlog.related_activity_id",
}

// numeric System fields are stored as int64 when they parse.
var numeric = map[string]bool{
	"winlog.event_id": true, "winlog.record_id": true, "winlog.level": true, "winlog.task": true,
	"winlog.opcode": true, "winlog.version": true, "winlog.process.pid": true, "winlog.process.thread.id": true,
}

// Parse normalizes one Windows event record.
func (Parser) Parse(ev *event.Event, rec *parse.Record) error {
	p, recNum := stripRecordHeader(rec.Payload)
	if len(p) == 0 || p[0] != '{' {
		return parse.NotMine(Name, "a Windows event JSON object")
	}
	d, err := parse.ParseJSON(p)
	if err != nil {
		return parse.Errorf("winlog: %v", err)
	}
	defer d.Free()
	root := d.Root()
	ev.Grow(48)
	if recNum > 0 {
		ev.PutInt("winlog.dump_record_number", recNum)
	}
	ev.Kind = event.KindEvent
	ev.Module = "windows"
	ev.Observer.Vendor = "Microsoft"
	ev.Observer.Product = "Windows"
	switch {
	case d.Lookup(root, "Event") >= 0:
		e := d.Lookup(root, "Event")
		if sys := d.Lookup(e, "System"); sys >= 0 {
			evtxSystem(ev, d, sys)
		} else {
			return parse.Errorf(`winlog: "Event" object has no "System"`)
		}
		eventData(ev, d, d.Lookup(e, "EventData"), "winlog.event_data.")
		if ud := d.Lookup(e, "UserData"); ud >= 0 {
			// UserData wraps its fields in one element named after the event.
			inner := d.First(ud)
			if inner >= 0 && d.Kind(inner) == parse.JSONObject {
				ev.PutString("winlog.user_data.xml_name", d.Key(inner))
				eventData(ev, d, inner, "winlog.user_data.")
			} else {
				eventData(ev, d, ud, "winlog.user_data.")
			}
		}
		if m, ok := d.String(d.Path(e, "RenderingInfo", "Message")); ok {
			ev.Message = m
		}
	case d.Lookup(root, "winlog") >= 0:
		winlogbeat(ev, d, root)
	case d.Lookup(root, "EventID") >= 0:
		flat(ev, d, root)
	default:
		return parse.NotMine(Name, `"Event.System", "winlog" or a top-level "EventID"`)
	}
	if _, ok := ev.Get("winlog.event_id"); !ok {
		return parse.Errorf("winlog: record has no EventID")
	}
	finish(ev)
	return nil
}

// attr returns an XML attribute as evtx_dump ("#attributes":{"Name":…})
// or xmltodict ("@Name") writes it.
func attr(d *parse.JSONDoc, n int, name string) int {
	if a := d.Path(n, "#attributes", name); a >= 0 {
		return a
	}
	return d.Lookup(n, "@"+name)
}

// text returns an element's text: the value itself, or its "#text".
func text(d *parse.JSONDoc, n int) int {
	if n >= 0 && d.Kind(n) == parse.JSONObject {
		return d.Lookup(n, "#text")
	}
	return n
}

func putSystem(ev *event.Event, d *parse.JSONDoc, name string, n int) {
	field, ok := system[name]
	if !ok || n < 0 {
		return
	}
	s, ok := d.String(n)
	if !ok || s == "" {
		return
	}
	if numeric[field] {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			ev.PutInt(field, v)
			return
		}
	}
	ev.PutString(field, s)
}

func evtxSystem(ev *event.Event, d *parse.JSONDoc, sys int) {
	for c := d.First(sys); c >= 0; c = d.Next(c) {
		switch k := d.Key(c); k {
		case "Provider":
			putSystem(ev, d, "Provider_Name", attr(d, c, "Name"))
			putSystem(ev, d, "Provider_Guid", attr(d, c, "Guid"))
			if src, ok := d.String(attr(d, c, "EventSourceName")); ok {
				ev.PutString("winlog.event_source_name", src)
			}
		case "TimeCreated":
			if s, ok := d.String(attr(d, c, "SystemTime")); ok {
				if t, ok := parseTime(s); ok {
					ev.Timestamp = t
				}
			}
		case "Execution":
			putSystem(ev, d, "ProcessID", attr(d, c, "ProcessID"))
			putSystem(ev, d, "ThreadID", attr(d, c, "ThreadID"))
		case "Security":
			putSystem(ev, d, "UserID", attr(d, c, "UserID"))
		case "Correlation":
			putSystem(ev, d, "ActivityID", attr(d, c, "ActivityID"))
			putSystem(ev, d, "RelatedActivityID", attr(d, c, "RelatedActivityID"))
		case "EventID":
			putSystem(ev, d, k, text(d, c))
			if q, ok := d.String(attr(d, c, "Qualifiers")); ok {
				ev.PutString("winlog.event_id_qualifiers", q)
			}
		default:
			putSystem(ev, d, k, text(d, c))
		}
	}
}

// eventData stores EventData as prefix+Name. It accepts a map, a "Data"
// list of named items, a single named "Data" item, and unnamed Data
// (stored as param1, param2, … as Windows numbers insertion strings).
func eventData(ev *event.Event, d *parse.JSONDoc, n int, prefix string) {
	if n < 0 || d.Kind(n) != parse.JSONObject {
		return
	}
	for c := d.First(n); c >= 0; c = d.Next(c) {
		k := d.Key(c)
		if k == "#attributes" || strings.HasPrefix(k, "@") {
			continue
		}
		if k == "Data" {
			dataItems(ev, d, c, prefix)
			continue
		}
		if k == "Binary" {
			if s, ok := d.String(c); ok {
				ev.PutString(prefix+"Binary", s)
			}
			continue
		}
		putData(ev, d, prefix+k, text(d, c))
	}
}

func dataItems(ev *event.Event, d *parse.JSONDoc, n int, prefix string) {
	items := []int{n}
	if d.Kind(n) == parse.JSONArray {
		items = items[:0]
		for c := d.First(n); c >= 0; c = d.Next(c) {
			items = append(items, c)
		}
	}
	for i, it := range items {
		name, ok := d.String(attr(d, it, "Name"))
		if !ok {
			name = "param" + strconv.Itoa(i+1)
		}
		putData(ev, d, prefix+name, text(d, it))
	}
}

func putData(ev *event.Event, d *parse.JSONDoc, name string, n int) {
	if n < 0 {
		return
	}
	switch d.Kind(n) {
	case parse.JSONNull:
		return
	case parse.JSONObject:
		d.Flatten(ev, n, name, nil)
		return
	}
	ev.Put(name, d.Value(n))
}

func winlogbeat(ev *event.Event, d *parse.JSONDoc, root int) {
	w := d.Lookup(root, "winlog")
	for c := d.First(w); c >= 0; c = d.Next(c) {
		k := d.Key(c)
		switch k {
		case "event_data", "user_data":
			d.Flatten(ev, c, "winlog."+k, nil)
		case "event_id", "record_id", "version", "opcode", "task", "level":
			s, _ := d.String(c)
			if v, err := strconv.ParseInt(s, 10, 64); err == nil {
				ev.PutInt("winlog."+k, v)
			} else {
				ev.PutString("winlog."+k, s)
			}
		default:
			if d.Kind(c) == parse.JSONObject {
				d.Flatten(ev, c, "winlog."+k, nil)
			} else {
				ev.Put("winlog."+k, d.Value(c))
			}
		}
	}
	if s, ok := d.String(d.Lookup(root, "@timestamp")); ok {
		if t, ok := parseTime(s); ok {
			ev.Timestamp = t
		}
	}
	if s, ok := d.String(d.Lookup(root, "message")); ok {
		ev.Message = s
	}
	// Keep what Winlogbeat already normalized, except what we derive.
	for _, obj := range [...]string{"event", "host", "log", "user", "process", "source", "destination", "related"} {
		if n := d.Lookup(root, obj); n >= 0 {
			d.Flatten(ev, n, obj, func(path string) bool {
				return obj == "event" && (path == "original" || path == "ingested" || path == "module" || path == "dataset" || path == "kind")
			})
		}
	}
}

func flat(ev *event.Event, d *parse.JSONDoc, root int) {
	for c := d.First(root); c >= 0; c = d.Next(c) {
		k := d.Key(c)
		if _, ok := system[k]; ok {
			putSystem(ev, d, k, text(d, c))
			continue
		}
		switch k {
		case "TimeCreated", "SystemTime", "@timestamp", "Timestamp":
			if s, ok := d.String(text(d, c)); ok {
				if t, ok := parseTime(s); ok {
					ev.Timestamp = t
				}
			} else if s, ok := d.String(attr(d, c, "SystemTime")); ok {
				if t, ok := parseTime(s); ok {
					ev.Timestamp = t
				}
			}
			continue
		case "Provider":
			if s, ok := d.String(c); ok {
				ev.PutString("winlog.provider_name", s)
			} else {
				putSystem(ev, d, "Provider_Name", attr(d, c, "Name"))
			}
			continue
		case "Message", "message":
			if s, ok := d.String(c); ok {
				ev.Message = s
			}
			continue
		}
		putData(ev, d, "winlog.event_data."+k, text(d, c))
	}
}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ecsData maps well-known EventData names to ECS fields.
var ecsData = [...]struct{ data, ecs string }{
	{"Image", "process.executable"},
	{"CommandLine", "process.command_line"},
	{"ProcessId", "process.pid"},
	{"NewProcessName", "process.executable"},
	{"NewProcessId", "process.pid"},
	{"ParentImage", "process.parent.executable"},
	{"ParentCommandLine", "process.parent.command_line"},
	{"ParentProcessId", "process.parent.pid"},
	{"ParentProcessName", "process.parent.executable"},
	{"CurrentDirectory", "process.working_directory"},
	{"TargetFilename", "file.path"},
	{"TargetObject", "registry.path"},
	{"QueryName", "dns.question.name"},
	{"SourceIp", "source.ip"},
	{"SourcePort", "source.port"},
	{"DestinationIp", "destination.ip"},
	{"DestinationPort", "destination.port"},
	{"DestinationHostname", "destination.domain"},
	{"IpAddress", "source.ip"},
	{"IpPort", "source.port"},
	{"WorkstationName", "source.domain"},
	{"TargetUserName", "user.name"},
	{"TargetDomainName", "user.domain"},
	{"LogonType", "winlog.logon.type"},
	{"ScriptBlockText", "powershell.file.script_block_text"},
	{"ServiceName", "service.name"},
}

// eventClass gives event.category/type/outcome for well-known event IDs.
func eventClass(ev *event.Event, provider string, id int64) {
	sysmon := strings.EqualFold(provider, "Microsoft-Windows-Sysmon")
	switch {
	case sysmon && id == 1, !sysmon && id == 4688:
		ev.Category, ev.Type, ev.Action = []string{"process"}, []string{"start"}, "process-created"
	case sysmon && id == 5, !sysmon && id == 4689:
		ev.Category, ev.Type, ev.Action = []string{"process"}, []string{"end"}, "process-terminated"
	case sysmon && id == 3:
		ev.Category, ev.Type, ev.Action = []string{"network"}, []string{"connection", "start"}, "network-connection"
	case sysmon && id == 11:
		ev.Category, ev.Type, ev.Action = []string{"file"}, []string{"creation"}, "file-created"
	case sysmon && id == 22:
		ev.Category, ev.Type, ev.Action = []string{"network"}, []string{"protocol", "info"}, "dns-query"
	case sysmon && (id == 12 || id == 13 || id == 14):
		ev.Category, ev.Type, ev.Action = []string{"registry"}, []string{"change"}, "registry-event"
	case !sysmon && id == 4624:
		ev.Category, ev.Type, ev.Action, ev.Outcome = []string{"authentication"}, []string{"start"}, "logged-in", "success"
	case !sysmon && id == 4625:
		ev.Category, ev.Type, ev.Action, ev.Outcome = []string{"authentication"}, []string{"start"}, "logon-failed", "failure"
	case !sysmon && id == 4634:
		ev.Category, ev.Type, ev.Action = []string{"authentication"}, []string{"end"}, "logged-out"
	case !sysmon && id == 1102:
		ev.Category, ev.Type, ev.Action = []string{"iam"}, []string{"change"}, "audit-log-cleared"
	case !sysmon && id == 7045:
		ev.Category, ev.Type, ev.Action = []string{"configuration"}, []string{"creation"}, "service-installed"
	case id == 4104:
		ev.Category, ev.Type, ev.Action = []string{"process"}, []string{"info"}, "execute-remote-command"
	}
}

// finish derives ECS fields from the winlog.* ones.
func finish(ev *event.Event) {
	id, _ := ev.Get("winlog.event_id")
	idn, _ := id.(int64)
	code, _ := ev.GetString("winlog.event_id")
	ev.PutString("event.code", code)
	provider, _ := ev.GetString("winlog.provider_name")
	ev.PutString("event.provider", provider)
	channel, _ := ev.GetString("winlog.channel")
	if ev.Dataset == "" {
		ev.Dataset = "windows." + slug(channel)
		if channel == "" {
			ev.Dataset = "windows.event"
		}
	}
	if host, ok := ev.GetString("winlog.computer_name"); ok {
		ev.PutString("host.name", host)
		ev.Observer.Hostname = host
	}
	if ev.Category == nil {
		eventClass(ev, provider, idn)
	}
	for _, m := range ecsData {
		v, ok := ev.Get("winlog.event_data." + m.data)
		if !ok {
			continue
		}
		if _, taken := ev.Get(m.ecs); taken {
			continue
		}
		s, isStr := v.(string)
		switch m.ecs {
		case "process.pid", "process.parent.pid", "source.port", "destination.port":
			switch x := v.(type) {
			case int64:
				ev.PutInt(m.ecs, x)
			case string:
				if n, err := strconv.ParseInt(strings.TrimSpace(x), 0, 64); err == nil {
					ev.PutInt(m.ecs, n)
				}
			}
			continue
		case "source.ip", "destination.ip":
			if a := parse.Addr(s); a.IsValid() {
				ev.Put(m.ecs, a)
			}
			continue
		}
		if isStr && s != "-" {
			ev.PutString(m.ecs, s)
		}
	}
	if exe, ok := ev.GetString("process.executable"); ok {
		ev.PutString("process.name", baseName(exe))
	}
	if u, ok := ev.GetString("winlog.event_data.User"); ok && u != "" {
		dom, name, found := strings.Cut(u, `\`)
		if found {
			ev.PutString("user.domain", dom)
			ev.PutString("user.name", name)
		} else if _, taken := ev.Get("user.name"); !taken {
			ev.PutString("user.name", u)
		}
	}
	if h, ok := ev.GetString("winlog.event_data.Hashes"); ok {
		var all []string
		for _, part := range strings.Split(h, ",") {
			algo, val, ok := strings.Cut(part, "=")
			if !ok {
				continue
			}
			ev.PutString("process.hash."+strings.ToLower(algo), strings.ToLower(val))
			all = append(all, strings.ToLower(val))
		}
		ev.AddRelated("hash", all...)
	}
	if u, ok := ev.GetString("user.name"); ok {
		ev.AddRelated("user", u)
	}
	if ev.Source.IP.IsValid() || ev.Destination.IP.IsValid() {
		parse.RelateIPs(ev)
	}
	if h, ok := ev.GetString("host.name"); ok {
		ev.AddRelated("hosts", h)
	}
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func slug(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}
