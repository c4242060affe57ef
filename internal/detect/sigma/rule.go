package sigma

import (
	"fmt"
)

// RuleError reports why one rule (or one document of a rule file) could not
// be loaded. File and Line point at the offending YAML node when known.
type RuleError struct {
	File   string
	Line   int
	RuleID string
	Title  string
	Reason string
}

func (e *RuleError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
	case e.File != "":
		return fmt.Sprintf("%s: %s", e.File, e.Reason)
	default:
		return e.Reason
	}
}

// Logsource names the kind of log a rule applies to. Empty fields are
// wildcards.
type Logsource struct {
	Product    string `json:"product,omitempty"`
	Category   string `json:"category,omitempty"`
	Service    string `json:"service,omitempty"`
	Definition string `json:"definition,omitempty"`
}

func (l Logsource) String() string {
	return fmt.Sprintf("product=%s category=%s service=%s", l.Product, l.Category, l.Service)
}

// Rule is one compiled Sigma detection rule. Rules are immutable after
// loading and safe to share between engines.
type Rule struct {
	ID             string
	Name           string
	Title          string
	Status         string
	Description    string
	Level          string
	Author         string
	Date           string
	Modified       string
	Tags           []string
	References     []string
	Falsepositives []string
	Fields         []string
	Logsource      Logsource

	// File and Line locate the rule's document.
	File string
	Line int

	// UnmappedFields lists detection fields that had no entry in a field
	// mapping which applies to this rule's logsource while other fields did;
	// such a field only matches events that carry the Sigma name itself.
	UnmappedFields []string

	// Hash identifies the rule's definition: a digest of its YAML document
	// after global and repeat documents are merged in (keys, values and
	// structure; not comments, layout, File or Line). Correlations fold the
	// hashes of the rules they reference into their own, so a changed base
	// rule restarts their windows on reload.
	Hash string

	det *detection
}

// Match is one rule that matched an event.
type Match struct {
	Rule *Rule
	// Fields are the event values that satisfied the selections of the
	// condition that evaluated true, in rule order.
	Fields []MatchedField
}

// MatchedField is one field of a matching selection and the event's value.
type MatchedField struct {
	Selection string
	Field     string // the event field that was read (after mapping)
	Value     any    // the event's value; nil for keyword or absence matches
}
