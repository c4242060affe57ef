// Package detect turns events into alerts. It combines the Sigma engine
// (internal/detect/sigma), correlation rules (internal/detect/correlate) and
// threat-intel matching (internal/detect/ioc) behind one Engine that takes
// events one at a time, and owns the Alert model: OCSF-style severity, ATT&CK
// tactics and techniques from rule tags, matched fields, triggering event
// ids, the entities involved, shadow mode, suppressions and deduplication.
//
// It does not own transport or storage: the caller feeds events (from the
// bus, files or tests) and persists or prints the alerts.
package detect

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
)

// Alert kinds: what produced the alert.
const (
	KindRule        = "rule"        // a Sigma detection rule matched one event
	KindCorrelation = "correlation" // a Sigma correlation rule fired
	KindIOC         = "ioc"         // an event carried a threat-intel indicator
	KindAnomaly     = "anomaly"     // a baseline detector found unusual behaviour
)

// Alert is one detection. Its JSON form is documented in docs/detection.md.
type Alert struct {
	// ID is unique per alert: a hash of the dedup key and first event.
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Time is the event time of the event that raised the alert; FirstSeen
	// and LastSeen bound the events behind it (equal for single events).
	Time      time.Time `json:"time"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Created is when the engine raised it (processing time).
	Created      time.Time      `json:"created"`
	Severity     event.Severity `json:"severity_id"`
	SeverityName string         `json:"severity"`
	Title        string         `json:"title"`
	Rule         RuleRef        `json:"rule"`
	Tactics      []Tactic       `json:"tactics,omitempty"`
	Techniques   []string       `json:"techniques,omitempty"`
	Tags         []string       `json:"tags,omitempty"`
	// Matched are the event fields and values that satisfied the rule
	// (for correlations: the group-by values and counted values).
	Matched []Matched `json:"matched,omitempty"`
	// EventIDs are the triggering events: their event.id, or a content hash
	// ("sha256:…") when they have none.
	EventIDs []string `json:"event_ids"`
	Entities []Entity `json:"entities,omitempty"`
	// Count is the number of events (event_count), distinct values
	// (value_count) or rules (temporal) behind a correlation; 1 otherwise.
	Count int `json:"count"`
	// Indicator is the threat-intel indicator of an ioc alert.
	Indicator *Indicator `json:"indicator,omitempty"`
	// Anomaly explains an anomaly alert: baseline, observed, threshold.
	Anomaly *Anomaly `json:"anomaly,omitempty"`
	// Shadow marks alerts of rules in shadow mode: stored, not notified.
	Shadow bool `json:"shadow,omitempty"`
	// DedupKey identifies repeats of the same detection on the same
	// entities; repeats within the dedup window are not raised again.
	DedupKey string `json:"dedup_key"`
}

// RuleRef identifies the rule behind an alert.
type RuleRef struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Title string `json:"title"`
	// Version is the rule's modified date, else its date.
	Version string `json:"version,omitempty"`
	Level   string `json:"level,omitempty"`
	Status  string `json:"status,omitempty"`
	File    string `json:"file,omitempty"`
}

// Tactic is an ATT&CK tactic.
type Tactic struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Matched is one field and the value that matched.
type Matched struct {
	Field string `json:"field"`
	Value any    `json:"value"`
}

// Indicator is the threat-intel indicator behind an ioc alert.
type Indicator struct {
	Type        string    `json:"type"`
	Value       string    `json:"value"`
	Confidence  int       `json:"confidence,omitempty"`
	Source      string    `json:"source,omitempty"`
	Description string    `json:"description,omitempty"`
	Expires     time.Time `json:"expires,omitzero"`
}

// Anomaly is what an anomaly alert compared: for rate, events in the
// interval (Observed) against the EWMA baseline and deviation; for
// first_seen, the new Field value; for beacon, the mean interval in seconds
// (Observed) and its jitter as a coefficient of variation (Baseline).
type Anomaly struct {
	Kind        string  `json:"kind"`
	Observed    float64 `json:"observed"`
	Baseline    float64 `json:"baseline"`
	StdDev      float64 `json:"stddev"`
	Threshold   float64 `json:"threshold"`
	Field       string  `json:"field,omitempty"`
	Value       string  `json:"value,omitempty"`
	Explanation string  `json:"explanation"`
}

// Entity types.
const (
	EntityIP        = "ip"
	EntityHost      = "host"
	EntityDomain    = "domain"
	EntityUser      = "user"
	EntityHash      = "hash"
	EntityURL       = "url"
	EntityFile      = "file"
	EntityEmail     = "email"
	EntityMCPServer = "mcp_server"
	EntityMCPTool   = "mcp_tool"
	EntityProcess   = "process"
)

// Entity is something an alert involves, for pivots and the incident graph.
type Entity struct {
	Type  string `json:"type"`
	Value string `json:"value"`
	// Field is the ECS field the value came from.
	Field string `json:"field"`
}

// entityFields lists the ECS fields entities are taken from, in order.
var entityFields = []struct{ field, typ string }{
	{"source.ip", EntityIP},
	{"destination.ip", EntityIP},
	{"client.ip", EntityIP},
	{"server.ip", EntityIP},
	{"related.ip", EntityIP},
	{"host.name", EntityHost},
	{"host.hostname", EntityHost},
	{"observer.hostname", EntityHost},
	{"source.domain", EntityDomain},
	{"destination.domain", EntityDomain},
	{"url.domain", EntityDomain},
	{"dns.question.name", EntityDomain},
	{"tls.client.server_name", EntityDomain},
	{"user.name", EntityUser},
	{"source.user.name", EntityUser},
	{"destination.user.name", EntityUser},
	{"related.user", EntityUser},
	{"file.hash.md5", EntityHash},
	{"file.hash.sha1", EntityHash},
	{"file.hash.sha256", EntityHash},
	{"file.hash.sha512", EntityHash},
	{"process.hash.sha256", EntityHash},
	{"related.hash", EntityHash},
	{"url.full", EntityURL},
	{"url.original", EntityURL},
	{"file.path", EntityFile},
	{"process.executable", EntityProcess},
	{"email.from.address", EntityEmail},
	{"email.to.address", EntityEmail},
	{"user.email", EntityEmail},
	{"mcp.server.name", EntityMCPServer},
	{"mcp.server.url", EntityMCPServer},
	{"mcp.tool.name", EntityMCPTool},
}

// Entities extracts the entities of one event, deduplicated by type and
// value (the first field wins).
func Entities(ev Event) []Entity {
	// Collected on the stack, returned in one allocation of the right
	// size (most events name two to six entities).
	var buf [8]Entity
	out := buf[:0]
	add := func(typ, field, v string) {
		if v == "" || v == "-" {
			return
		}
		for _, e := range out {
			if e.Type == typ && e.Value == v {
				return
			}
		}
		out = append(out, Entity{Type: typ, Value: v, Field: field})
	}
	view, _ := ev.(*eventView)
	for _, f := range entityFields {
		var v any
		var ok bool
		if view != nil {
			v, ok = view.entityGet(f.field)
		} else {
			v, ok = ev.Get(f.field)
		}
		if !ok {
			continue
		}
		switch x := v.(type) {
		case string:
			add(f.typ, f.field, x)
		case []string:
			for _, s := range x {
				add(f.typ, f.field, s)
			}
		case []any:
			for _, e := range x {
				if s, ok := e.(string); ok {
					add(f.typ, f.field, s)
				}
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return append([]Entity(nil), out...)
}

func mergeEntities(dst []Entity, src []Entity) []Entity {
next:
	for _, e := range src {
		for _, d := range dst {
			if d.Type == e.Type && d.Value == e.Value {
				continue next
			}
		}
		dst = append(dst, e)
	}
	return dst
}

// tactics maps ATT&CK Enterprise tactic tag names (attack.<name>) to ids.
var tactics = map[string]Tactic{
	"reconnaissance":       {"TA0043", "Reconnaissance"},
	"resource-development": {"TA0042", "Resource Development"},
	"initial-access":       {"TA0001", "Initial Access"},
	"execution":            {"TA0002", "Execution"},
	"persistence":          {"TA0003", "Persistence"},
	"privilege-escalation": {"TA0004", "Privilege Escalation"},
	"defense-evasion":      {"TA0005", "Defense Evasion"},
	"credential-access":    {"TA0006", "Credential Access"},
	"discovery":            {"TA0007", "Discovery"},
	"lateral-movement":     {"TA0008", "Lateral Movement"},
	"collection":           {"TA0009", "Collection"},
	"command-and-control":  {"TA0011", "Command and Control"},
	"exfiltration":         {"TA0010", "Exfiltration"},
	"impact":               {"TA0040", "Impact"},
}

// ParseAttack reads ATT&CK tactics (attack.credential-access, also with
// underscores) and techniques (attack.t1110, attack.t1110.001) from Sigma
// tags. Other tags are ignored. Results keep tag order without duplicates.
func ParseAttack(tags []string) (tacs []Tactic, techs []string) {
	for _, tag := range tags {
		name, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(tag)), "attack.")
		if !ok {
			continue
		}
		if isTechnique(name) {
			id := strings.ToUpper(name)
			if !contains(techs, id) {
				techs = append(techs, id)
			}
			continue
		}
		if t, ok := tactics[strings.ReplaceAll(name, "_", "-")]; ok {
			dup := false
			for _, x := range tacs {
				dup = dup || x.ID == t.ID
			}
			if !dup {
				tacs = append(tacs, t)
			}
		}
	}
	return tacs, techs
}

// isTechnique matches t1234 and t1234.567.
func isTechnique(s string) bool {
	if len(s) < 5 || s[0] != 't' {
		return false
	}
	base, sub, hasSub := strings.Cut(s[1:], ".")
	if len(base) != 4 || !digits(base) {
		return false
	}
	return !hasSub || (len(sub) == 3 && digits(sub))
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// EventID returns an event's event.id, or "sha256:" and the first 16 bytes
// (hex) of the SHA-256 of its event.original (or, without one, its JSON
// encoding) so the same record always gets the same id.
func EventID(ev Event) string {
	if v, ok := ev.Get("event.id"); ok {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	h := sha256.New()
	if e, ok := ev.(*event.Event); ok {
		if e.Original != "" {
			h.Write([]byte(e.Original))
		} else {
			b, _ := e.MarshalJSON()
			h.Write(b)
		}
	} else if v, ok := ev.Get("event.original"); ok {
		if s, ok := v.(string); ok {
			h.Write([]byte(s))
		}
	} else if m, ok := ev.(interface{ MarshalJSON() ([]byte, error) }); ok {
		b, _ := m.MarshalJSON()
		h.Write(b)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// dedupKey hashes the rule and the alert's identifying values: for
// correlations the group-by values, otherwise the entities (sorted), so the
// same detection on the same things collapses.
func dedupKey(ruleID string, parts []string) string {
	sort.Strings(parts)
	h := sha256.New()
	h.Write([]byte(ruleID))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func alertID(key string, t time.Time, firstEvent string) string {
	h := sha256.New()
	h.Write([]byte(key))
	h.Write([]byte(t.UTC().Format(time.RFC3339Nano)))
	h.Write([]byte(firstEvent))
	return "al-" + hex.EncodeToString(h.Sum(nil)[:12])
}
