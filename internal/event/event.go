package event

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Values of event.kind used across MCPSoc.
const (
	KindEvent         = "event"
	KindAlert         = "alert"
	KindMetric        = "metric"
	KindState         = "state"
	KindPipelineError = "pipeline_error"
)

// Endpoint is the typed part of source.* and destination.*.
type Endpoint struct {
	// IP is the address; the zero Addr means absent.
	IP netip.Addr
	// Port is the transport port; 0 means absent.
	Port int
}

// Network is the typed part of network.*.
type Network struct {
	Transport  string // network.transport: tcp, udp, icmp, ipv6-icmp, ...
	Protocol   string // network.protocol: application protocol, lowercase (http, dns)
	Direction  string // network.direction: inbound, outbound, internal, external, ingress, egress
	Type       string // network.type: ipv4, ipv6
	IANANumber string // network.iana_number: the IP protocol number as text ("6")
}

// Observer is the typed part of observer.*: the device that saw the event.
type Observer struct {
	Vendor   string
	Product  string
	Name     string
	Type     string // firewall, ids, waf, antivirus, ...
	Hostname string
}

// Rule is the typed part of rule.*: the rule or policy that produced the event.
type Rule struct {
	ID       string
	Name     string
	Category string
}

// Provenance records where an event came from inside MCPSoc.
type Provenance struct {
	// SourceID names the ingest source ("file:/var/log/filter.log", "syslog:udp").
	SourceID string
	// Parser is the registered name of the parser that produced the event.
	Parser string
	// IngestTime is when MCPSoc received the record (ECS event.ingested).
	IngestTime time.Time
}

// Event is one normalized security event. The zero value is an empty event
// ready to fill. See the package documentation for the layout.
type Event struct {
	Timestamp time.Time // @timestamp
	Kind      string    // event.kind
	Category  []string  // event.category
	Type      []string  // event.type
	Action    string    // event.action
	Outcome   string    // event.outcome: success, failure, unknown
	Dataset   string    // event.dataset: "<module>.<fileset>", e.g. "pfsense.filterlog"
	Module    string    // event.module
	Severity  int64     // event.severity as the source states it; 0 means absent
	Original  string    // event.original: the exact input record
	Message   string    // message

	Source      Endpoint
	Destination Endpoint
	Network     Network
	Observer    Observer
	Rule        Rule
	Provenance  Provenance

	ext []slot
	// extNames has nameBit set for the name of every extension field (and
	// maybe of deleted ones): find rejects most absent names without
	// scanning, and rule and entity lookups ask for many absent names.
	extNames [2]uint64
}

// nameBit returns the word and bit of extNames that stand for name.
func nameBit(name string) (int, uint64) {
	n := len(name)
	h := uint(n) * 0x9e3779b1
	if n > 0 {
		h ^= uint(name[n-1])*0x85ebca6b ^ uint(name[n/2])*0xc2b2ae35 ^ uint(name[n/3])*0x27d4eb2f
	}
	h ^= h >> 15
	return int(h>>6) & 1, 1 << (h & 63)
}

// Reset clears e for reuse, keeping allocated capacity.
func (e *Event) Reset() {
	ext := e.ext[:0]
	clear(e.ext)
	*e = Event{ext: ext}
}

// Get returns the value of a dotted ECS field name. Values are JSON-like:
// string, int64, float64, bool, []string or []any; @timestamp and
// event.ingested are RFC 3339 strings with nanoseconds in UTC. For Windows
// events the Sigma field names ("EventID", "Image", ...) resolve too, see the
// package documentation.
func (e *Event) Get(field string) (any, bool) {
	if v, ok, core := e.getCore(field); core {
		return v, ok
	}
	if i := e.find(field); i >= 0 {
		return e.ext[i].value(), true
	}
	if strings.IndexByte(field, '.') < 0 {
		return e.getWindows(field)
	}
	return nil, false
}

// GetString returns a field rendered as a string: strings as they are,
// numbers and booleans in their JSON text. ok is false when the field is
// absent or a list.
func (e *Event) GetString(field string) (string, bool) {
	if i := e.find(field); i >= 0 && e.ext[i].kind == slotString {
		return e.ext[i].str, true
	}
	v, ok := e.Get(field)
	if !ok {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// sigmaSystem maps the Windows System field names Sigma rules use to the
// winlog.* names the winlog parser stores.
var sigmaSystem = map[string]string{
	"EventID":            "winlog.event_id",
	"Channel":            "winlog.channel",
	"Provider_Name":      "winlog.provider_name",
	"Provider_Guid":      "winlog.provider_guid",
	"Computer":           "winlog.computer_name",
	"EventRecordID":      "winlog.record_id",
	"Level":              "winlog.level",
	"Task":               "winlog.task",
	"Opcode":             "winlog.opcode",
	"Keywords":           "winlog.keywords",
	"Version":            "winlog.version",
	"ExecutionProcessID": "winlog.process.pid",
	"ExecutionThreadID":  "winlog.process.thread.id",
	"Security_UserID":    "winlog.user.identifier",
	"TimeCreated":        "@timestamp",
}

const (
	eventDataPrefix = "winlog.event_data."
	userDataPrefix  = "winlog.user_data."
)

func (e *Event) getWindows(field string) (any, bool) {
	if stored, ok := sigmaSystem[field]; ok {
		if v, ok := e.Get(stored); ok {
			return v, true
		}
	}
	for _, prefix := range [...]string{eventDataPrefix, userDataPrefix} {
		for i := range e.ext {
			n := e.ext[i].name
			if len(n) == len(prefix)+len(field) && strings.HasPrefix(n, prefix) && n[len(prefix):] == field {
				return e.ext[i].value(), true
			}
		}
	}
	return nil, false
}

// Fields calls fn for every present field, typed fields first in a fixed
// order then extension fields in insertion order, until fn returns false.
func (e *Event) Fields(fn func(name string, v any) bool) {
	for _, name := range coreNames {
		if v, ok, _ := e.getCore(name); ok {
			if !fn(name, v) {
				return
			}
		}
	}
	for i := range e.ext {
		if !fn(e.ext[i].name, e.ext[i].value()) {
			return
		}
	}
}

// coreNames lists the typed fields in the order Fields reports them.
var coreNames = []string{
	"@timestamp", "event.kind", "event.category", "event.type", "event.action",
	"event.outcome", "event.dataset", "event.module", "event.severity",
	"event.original", "event.ingested", "message",
	"source.ip", "source.port", "destination.ip", "destination.port",
	"network.transport", "network.protocol", "network.direction", "network.type", "network.iana_number",
	"observer.vendor", "observer.product", "observer.name", "observer.type", "observer.hostname",
	"rule.id", "rule.name", "rule.category",
	"mcpsoc.source", "mcpsoc.parser",
}

// CoreFieldNames returns the names of the typed fields.
func CoreFieldNames() []string { return append([]string(nil), coreNames...) }

func timeText(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// getCore reads a typed field. core reports whether name is a typed field at
// all; ok whether it holds a value.
func (e *Event) getCore(name string) (v any, ok, core bool) {
	str := func(s string) (any, bool, bool) {
		if s == "" {
			return nil, false, true
		}
		return s, true, true
	}
	switch name {
	case "@timestamp":
		if e.Timestamp.IsZero() {
			return nil, false, true
		}
		return timeText(e.Timestamp), true, true
	case "event.ingested":
		if e.Provenance.IngestTime.IsZero() {
			return nil, false, true
		}
		return timeText(e.Provenance.IngestTime), true, true
	case "event.kind":
		return str(e.Kind)
	case "event.category":
		if len(e.Category) == 0 {
			return nil, false, true
		}
		return e.Category, true, true
	case "event.type":
		if len(e.Type) == 0 {
			return nil, false, true
		}
		return e.Type, true, true
	case "event.action":
		return str(e.Action)
	case "event.outcome":
		return str(e.Outcome)
	case "event.dataset":
		return str(e.Dataset)
	case "event.module":
		return str(e.Module)
	case "event.severity":
		if e.Severity == 0 {
			return nil, false, true
		}
		return e.Severity, true, true
	case "event.original":
		return str(e.Original)
	case "message":
		return str(e.Message)
	case "source.ip":
		if !e.Source.IP.IsValid() {
			return nil, false, true
		}
		return e.Source.IP.String(), true, true
	case "source.port":
		if e.Source.Port == 0 {
			return nil, false, true
		}
		return int64(e.Source.Port), true, true
	case "destination.ip":
		if !e.Destination.IP.IsValid() {
			return nil, false, true
		}
		return e.Destination.IP.String(), true, true
	case "destination.port":
		if e.Destination.Port == 0 {
			return nil, false, true
		}
		return int64(e.Destination.Port), true, true
	case "network.transport":
		return str(e.Network.Transport)
	case "network.protocol":
		return str(e.Network.Protocol)
	case "network.direction":
		return str(e.Network.Direction)
	case "network.type":
		return str(e.Network.Type)
	case "network.iana_number":
		return str(e.Network.IANANumber)
	case "observer.vendor":
		return str(e.Observer.Vendor)
	case "observer.product":
		return str(e.Observer.Product)
	case "observer.name":
		return str(e.Observer.Name)
	case "observer.type":
		return str(e.Observer.Type)
	case "observer.hostname":
		return str(e.Observer.Hostname)
	case "rule.id":
		return str(e.Rule.ID)
	case "rule.name":
		return str(e.Rule.Name)
	case "rule.category":
		return str(e.Rule.Category)
	case "mcpsoc.source":
		return str(e.Provenance.SourceID)
	case "mcpsoc.parser":
		return str(e.Provenance.Parser)
	}
	return nil, false, false
}

// setCore writes a typed field; v nil clears it. It reports whether name is
// a typed field. Values of the wrong type are converted where the meaning is
// clear (a numeric port given as text) and otherwise stored in the extension
// list under the same name would be wrong, so they clear the field.
func (e *Event) setCore(name string, v any) bool {
	s := func(dst *string) bool { *dst = asString(v); return true }
	switch name {
	case "@timestamp":
		e.Timestamp = asTime(v)
	case "event.ingested":
		e.Provenance.IngestTime = asTime(v)
	case "event.kind":
		return s(&e.Kind)
	case "event.category":
		e.Category = asStrings(v)
	case "event.type":
		e.Type = asStrings(v)
	case "event.action":
		return s(&e.Action)
	case "event.outcome":
		return s(&e.Outcome)
	case "event.dataset":
		return s(&e.Dataset)
	case "event.module":
		return s(&e.Module)
	case "event.severity":
		e.Severity, _ = asInt(v)
	case "event.original":
		return s(&e.Original)
	case "message":
		return s(&e.Message)
	case "source.ip":
		e.Source.IP = asAddr(v)
	case "source.port":
		n, _ := asInt(v)
		e.Source.Port = int(n)
	case "destination.ip":
		e.Destination.IP = asAddr(v)
	case "destination.port":
		n, _ := asInt(v)
		e.Destination.Port = int(n)
	case "network.transport":
		return s(&e.Network.Transport)
	case "network.protocol":
		return s(&e.Network.Protocol)
	case "network.direction":
		return s(&e.Network.Direction)
	case "network.type":
		return s(&e.Network.Type)
	case "network.iana_number":
		return s(&e.Network.IANANumber)
	case "observer.vendor":
		return s(&e.Observer.Vendor)
	case "observer.product":
		return s(&e.Observer.Product)
	case "observer.name":
		return s(&e.Observer.Name)
	case "observer.type":
		return s(&e.Observer.Type)
	case "observer.hostname":
		return s(&e.Observer.Hostname)
	case "rule.id":
		return s(&e.Rule.ID)
	case "rule.name":
		return s(&e.Rule.Name)
	case "rule.category":
		return s(&e.Rule.Category)
	case "mcpsoc.source":
		return s(&e.Provenance.SourceID)
	case "mcpsoc.parser":
		return s(&e.Provenance.Parser)
	default:
		return false
	}
	return true
}

func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), x == float64(int64(x))
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func asTime(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err == nil {
			return t
		}
	}
	return time.Time{}
}

func asAddr(v any) netip.Addr {
	switch x := v.(type) {
	case netip.Addr:
		return x
	case string:
		a, err := netip.ParseAddr(x)
		if err == nil {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

func asStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, el := range x {
			if s, ok := el.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
