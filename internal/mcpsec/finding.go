package mcpsec

import (
	"fmt"
	"sort"
)

// Tier says what a finding asks for: Hard findings are structural and near
// free of false positives, so they fail CI; Review findings are heuristic and
// ask a human to look.
type Tier string

// The tiers, from strongest.
const (
	TierHard   Tier = "hard"
	TierReview Tier = "review"
)

// Severity follows the usual five steps; OCSF severity ids are Severity.ID.
type Severity string

// The severities, from weakest.
const (
	SevInfo     Severity = "info"
	SevLow      Severity = "low"
	SevMedium   Severity = "medium"
	SevHigh     Severity = "high"
	SevCritical Severity = "critical"
)

// Rank orders severities: info 1 … critical 5, unknown 0.
func (s Severity) Rank() int {
	switch s {
	case SevInfo:
		return 1
	case SevLow:
		return 2
	case SevMedium:
		return 3
	case SevHigh:
		return 4
	case SevCritical:
		return 5
	}
	return 0
}

// ParseSeverity reads a severity name.
func ParseSeverity(s string) (Severity, error) {
	v := Severity(s)
	if v.Rank() == 0 {
		return "", fmt.Errorf("unknown severity %q (want info, low, medium, high or critical)", s)
	}
	return v, nil
}

// Location says where in a server's listing the evidence was found.
type Location struct {
	Server string `json:"server"`
	// Kind is the object holding the text: tool, prompt, resource or server.
	Kind string `json:"kind"`
	// Object is the tool, prompt or resource name; empty for server-level text.
	Object string `json:"object,omitempty"`
	// Path is a JSON path inside the object, such as
	// inputSchema.properties.path.description.
	Path string `json:"path,omitempty"`
}

// Tool returns the tool name when the location is inside a tool.
func (l Location) Tool() string {
	if l.Kind == KindTool {
		return l.Object
	}
	return ""
}

func (l Location) String() string {
	s := l.Server
	if l.Object != "" {
		s += "/" + l.Kind + ":" + l.Object
	}
	if l.Path != "" {
		s += " " + l.Path
	}
	return s
}

// Kinds of objects that carry text.
const (
	KindTool     = "tool"
	KindPrompt   = "prompt"
	KindResource = "resource"
	KindServer   = "server"
)

// Finding is one problem found in model-visible text.
type Finding struct {
	RuleID   string   `json:"ruleId"`
	Title    string   `json:"title"`
	Tier     Tier     `json:"tier"`
	Severity Severity `json:"severity"`
	Category string   `json:"category"`
	// OWASP is the OWASP MCP Top 10 (beta) id, such as MCP03.
	OWASP    string   `json:"owasp"`
	Location Location `json:"location"`
	// Evidence is a short excerpt (≤ 160 characters) of the text that
	// triggered the rule, with secrets redacted and invisible characters
	// shown as \u escapes.
	Evidence string `json:"evidence"`
	// Signals names the weak signals that combined into this finding.
	Signals []string `json:"signals,omitempty"`
	// Related names other locations involved (the other server in a
	// collision, the other fragments of a split payload).
	Related []Location `json:"related,omitempty"`
}

// Rule describes one stable rule id.
type Rule struct {
	ID          string
	Title       string
	Tier        Tier
	Severity    Severity
	Category    string
	OWASP       string
	Description string
}

// The OWASP MCP Top 10 (beta) ids this package maps to. The list is beta;
// keeping the mapping in the rules table makes a renumbering a one-file change.
const (
	owaspSecrets   = "MCP01"
	owaspPoisoning = "MCP03"
	owaspOverShare = "MCP10"
)

// OWASPTitles names the OWASP MCP Top 10 (beta) categories.
var OWASPTitles = map[string]string{
	"MCP01": "Token mismanagement and secret exposure",
	"MCP02": "Privilege escalation via scope creep",
	"MCP03": "Tool poisoning",
	"MCP04": "Supply chain and dependency tampering",
	"MCP05": "Command injection and execution",
	"MCP06": "Prompt injection via contextual payloads",
	"MCP07": "Insufficient authentication and authorization",
	"MCP08": "Lack of audit and telemetry",
	"MCP09": "Shadow MCP servers",
	"MCP10": "Context injection and over-sharing",
}

// Rule ids. They are stable: tests, SARIF consumers and suppressions refer to
// them.
const (
	RuleOverride       = "MCP-POISON-001"
	RuleSecrecy        = "MCP-POISON-002"
	RuleTagDirective   = "MCP-POISON-003"
	RuleDirective      = "MCP-POISON-004"
	RuleApprovalBait   = "MCP-POISON-005"
	RuleHijack         = "MCP-POISON-006"
	RuleTamper         = "MCP-POISON-007"
	RuleHarm           = "MCP-POISON-008"
	RuleSideEffect     = "MCP-POISON-009"
	RuleMismatch       = "MCP-POISON-010"
	RuleExfil          = "MCP-EXFIL-001"
	RuleSensitive      = "MCP-EXFIL-002"
	RuleParamHarvest   = "MCP-EXFIL-003"
	RuleShadowRef      = "MCP-SHADOW-001"
	RuleNameCollision  = "MCP-SHADOW-002"
	RuleOtherTools     = "MCP-SHADOW-003"
	RuleSplit          = "MCP-SPLIT-001"
	RuleUnicodeTag     = "MCP-UNICODE-001"
	RuleZeroWidth      = "MCP-UNICODE-002"
	RuleBidi           = "MCP-UNICODE-003"
	RuleMixedScript    = "MCP-UNICODE-004"
	RuleANSI           = "MCP-ANSI-001"
	RuleEncoded        = "MCP-ENCODED-001"
	RuleComment        = "MCP-HIDDEN-001"
	RuleLength         = "MCP-LENGTH-001"
	RuleJudge          = "MCP-JUDGE-001"
	RuleEncodedComment = "MCP-HIDDEN-002"
)

var rules = []Rule{
	{RuleOverride, "Instruction override aimed at the model", TierHard, SevHigh, "poisoning", owaspPoisoning,
		"Text tells the model to ignore, forget or replace its previous instructions or to switch persona."},
	{RuleSecrecy, "Concealment from the user", TierHard, SevHigh, "poisoning", owaspPoisoning,
		"Text tells the model to hide an action or instruction from the user, a hallmark of tool poisoning."},
	{RuleTagDirective, "Directive wrapped in instruction tags", TierHard, SevHigh, "poisoning", owaspPoisoning,
		"An <IMPORTANT>, <system> or similar pseudo-tag wraps directives aimed at the model."},
	{RuleDirective, "Directive aimed at the model", TierReview, SevMedium, "poisoning", owaspPoisoning,
		"Several weak signals combine: imperatives or triggers aimed at the assistant with sensitive targets, sinks or cross-tool effects."},
	{RuleApprovalBait, "Approval or trust bait", TierHard, SevHigh, "poisoning", owaspPoisoning,
		"Text claims the user already approved the action or tells the model to skip confirmation."},
	{RuleHijack, "Tool-selection hijacking", TierReview, SevMedium, "poisoning", owaspPoisoning,
		"Text tells the model to prefer this tool, to call it before every other tool, or to avoid other tools."},
	{RuleTamper, "Argument tampering directive", TierHard, SevHigh, "poisoning", owaspPoisoning,
		"Text tells the model to change recipients, destinations or amounts regardless of what the user asked."},
	{RuleHarm, "Destructive or privilege-changing directive", TierHard, SevHigh, "poisoning", owaspPoisoning,
		"Text tells the model to delete data, run destructive commands or grant privileges as a side effect of using the tool."},
	{RuleSideEffect, "Hidden side effect toward an outside address", TierHard, SevHigh, "exfiltration", owaspPoisoning,
		"Text tells the model to also send, copy or write data to a literal address (e-mail, URL, path) or to pass the user's personal data along, as a side effect of the tool."},
	{RuleMismatch, "Capability mismatch", TierReview, SevMedium, "poisoning", owaspPoisoning,
		"The description asks for risky actions (messaging, payments, deletion, weakening security, secrets, system files) unrelated to the tool's declared purpose."},
	{RuleExfil, "Sensitive data exfiltration directive", TierHard, SevCritical, "exfiltration", owaspPoisoning,
		"Text directs the model to read sensitive files or secrets and send them to a sink or pass them in a parameter."},
	{RuleSensitive, "Sensitive target with a sink", TierReview, SevMedium, "exfiltration", owaspSecrets,
		"Text mentions reading credentials, keys or client configs together with a network or parameter sink."},
	{RuleParamHarvest, "Parameter harvests ambient context", TierHard, SevHigh, "exfiltration", owaspOverShare,
		"A parameter asks the model to fill in conversation history, system prompt, environment, credentials or file contents the user never gave."},
	{RuleShadowRef, "Cross-server shadowing", TierHard, SevHigh, "shadowing", owaspPoisoning,
		"A server's text directs how another server's tool must behave."},
	{RuleNameCollision, "Tool name collision across servers", TierHard, SevMedium, "shadowing", owaspPoisoning,
		"Two servers export the same tool name; the model may call the wrong one."},
	{RuleOtherTools, "Directive about other tools", TierReview, SevMedium, "shadowing", owaspPoisoning,
		"Text gives the model rules for tools it does not define."},
	{RuleSplit, "Payload split across tools", TierHard, SevHigh, "split-payload", owaspPoisoning,
		"Fragments spread over several tools of one server only form an instruction or exfiltration pattern together."},
	{RuleUnicodeTag, "Invisible Unicode tag characters", TierHard, SevCritical, "hidden-unicode", owaspPoisoning,
		"U+E0000–U+E007F tag characters smuggle invisible ASCII to the model."},
	{RuleZeroWidth, "Zero-width characters inside text", TierHard, SevHigh, "hidden-unicode", owaspPoisoning,
		"Zero-width or invisible format characters split words or hide content."},
	{RuleBidi, "Bidirectional control characters", TierHard, SevHigh, "hidden-unicode", owaspPoisoning,
		"Bidi overrides or isolates reorder what a human sees."},
	{RuleMixedScript, "Mixed-script look-alike word", TierHard, SevHigh, "hidden-unicode", owaspPoisoning,
		"A word mixes Latin with Cyrillic or Greek look-alikes."},
	{RuleANSI, "ANSI escape sequence", TierHard, SevHigh, "hidden-unicode", owaspPoisoning,
		"Terminal escape sequences can hide or rewrite text on screen."},
	{RuleEncoded, "Encoded payload", TierHard, SevHigh, "encoded-payload", owaspPoisoning,
		"A base64, hex or URL-encoded blob decodes to instructions, shell commands or exfiltration targets."},
	{RuleComment, "Hidden comment", TierReview, SevLow, "hidden-content", owaspPoisoning,
		"An HTML or Markdown comment carries text a rendered view hides."},
	{RuleEncodedComment, "Directive inside a hidden comment", TierHard, SevHigh, "hidden-content", owaspPoisoning,
		"An HTML or Markdown comment carries directives aimed at the model."},
	{RuleLength, "Abnormal length or padding", TierReview, SevLow, "hidden-content", owaspPoisoning,
		"Very long text or whitespace padding that pushes content out of view."},
	{RuleJudge, "Flagged by the language-model judge", TierReview, SevMedium, "poisoning", owaspPoisoning,
		"The optional judge considered the text an instruction aimed at the model."},
}

var ruleByID = func() map[string]Rule {
	m := make(map[string]Rule, len(rules))
	for _, r := range rules {
		if _, dup := m[r.ID]; dup {
			panic("mcpsec: duplicate rule " + r.ID)
		}
		m[r.ID] = r
	}
	return m
}()

// Rules returns every rule, sorted by id.
func Rules() []Rule {
	out := append([]Rule(nil), rules...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LookupRule returns the rule with the given id.
func LookupRule(id string) (Rule, bool) {
	r, ok := ruleByID[id]
	return r, ok
}

func newFinding(id string, loc Location, evidence string, signals []string) Finding {
	r, ok := ruleByID[id]
	if !ok {
		panic("mcpsec: unknown rule " + id)
	}
	return Finding{
		RuleID: r.ID, Title: r.Title, Tier: r.Tier, Severity: r.Severity,
		Category: r.Category, OWASP: r.OWASP, Location: loc,
		Evidence: evidence, Signals: signals,
	}
}

// SortFindings orders findings by server, object, path, then rule id.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i].Location, fs[j].Location
		if a.Server != b.Server {
			return a.Server < b.Server
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return fs[i].RuleID < fs[j].RuleID
	})
}
