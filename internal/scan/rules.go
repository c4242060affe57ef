package scan

import (
	"sort"

	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
)

// Finding is an mcpsec finding placed in a client config. Content findings
// from mcpsec keep their rule ids; config, connection and lockfile findings
// use the MCP-CONFIG-*, MCP-REMOTE-*, MCP-CONNECT-* and MCP-LOCK-* rules below.
type Finding struct {
	mcpsec.Finding
	// Client and Scope name the client config the server came from.
	Client string `json:"client,omitempty"`
	Scope  string `json:"scope,omitempty"`
	// File is the config file (or saved listing) the server came from.
	File string `json:"file,omitempty"`
}

// KindConfig is the location kind of findings about a config entry itself
// (mcpsec's kinds are tool, prompt, resource and server); Location.Path is
// then the entry's path in the file, such as mcpServers.fw.env.TOKEN.
const KindConfig = "config"

// The scanner's own rules. The OWASP MCP Top 10 is beta: the mapping lives
// only here, so a renumbering is a one-file change.
var scanRules = []mcpsec.Rule{
	{ID: "MCP-CONFIG-SECRET-001", Title: "Hard-coded secret in client config", Tier: mcpsec.TierHard, Severity: mcpsec.SevHigh, Category: "secret", OWASP: "MCP01",
		Description: "A credential is written into env, args, headers or the URL of a server entry. Use an environment reference, a VS Code ${input:…} with password: true, bearer_token_env_var, or OAuth."},
	{ID: "MCP-CONFIG-SECRET-002", Title: "Possible secret in client config", Tier: mcpsec.TierReview, Severity: mcpsec.SevMedium, Category: "secret", OWASP: "MCP01",
		Description: "A high-entropy value sits under a key that names a credential."},
	{ID: "MCP-CONFIG-PIN-001", Title: "Package launched without a pinned version", Tier: mcpsec.TierReview, Severity: mcpsec.SevMedium, Category: "supply-chain", OWASP: "MCP04",
		Description: "npx/bunx/pnpm dlx/uvx/pipx start whatever version the registry serves today (no version, @latest, or a range). Pin an exact version."},
	{ID: "MCP-CONFIG-PIN-002", Title: "Container image without a digest", Tier: mcpsec.TierReview, Severity: mcpsec.SevMedium, Category: "supply-chain", OWASP: "MCP04",
		Description: "docker/podman run an image by tag; a tag can be moved. Pin image@sha256:…"},
	{ID: "MCP-CONFIG-SQUAT-001", Title: "Look-alike of a known MCP package or server", Tier: mcpsec.TierHard, Severity: mcpsec.SevHigh, Category: "typosquat", OWASP: "MCP04",
		Description: "The package, scope or host differs from a well-known MCP package or domain by a typo, a Unicode confusable or a swapped npm scope."},
	{ID: "MCP-CONFIG-HTTP-001", Title: "Remote server over plaintext HTTP", Tier: mcpsec.TierHard, Severity: mcpsec.SevHigh, Category: "transport", OWASP: "MCP07",
		Description: "A remote MCP server off loopback is reached over http://; requests, tokens and tool results travel in clear text."},
	{ID: "MCP-CONFIG-EXEC-001", Title: "Shell wrapper downloads and executes code", Tier: mcpsec.TierHard, Severity: mcpsec.SevCritical, Category: "execution", OWASP: "MCP05",
		Description: "The server command pipes a download into a shell or interpreter (curl … | sh, iwr … | iex, bash <(curl …)); whatever the URL serves at start-up runs with the user's rights."},
	{ID: "MCP-CONFIG-TRUST-001", Title: "Tool calls approved without confirmation", Tier: mcpsec.TierReview, Severity: mcpsec.SevMedium, Category: "privilege", OWASP: "MCP02",
		Description: "Cline autoApprove or Gemini CLI trust: true lets the model call the server's tools without asking the user."},
	{ID: "MCP-CONFIG-FLOW-001", Title: "Toxic flow across a client's servers", Tier: mcpsec.TierReview, Severity: mcpsec.SevMedium, Category: "toxic-flow", OWASP: "MCP10",
		Description: "Together the client's servers give the model private data, content an attacker can write (web pages, search results, tickets, mail) and a way to send data out: injected text can exfiltrate the data. Split the servers across agents or gate the sending tools."},
	{ID: "MCP-CONFIG-INVALID-001", Title: "Client config could not be read", Tier: mcpsec.TierReview, Severity: mcpsec.SevLow, Category: "config", OWASP: "MCP09",
		Description: "The file is broken, too large or unreadable; the client may ignore it or fail to start, and its servers were not checked."},
	{ID: "MCP-CONFIG-BINARY-001", Title: "Server command not found", Tier: mcpsec.TierReview, Severity: mcpsec.SevLow, Category: "config", OWASP: "MCP09",
		Description: "The command of a stdio server is not on PATH or does not exist; the client cannot start it (or starts whatever appears there later)."},
	{ID: "MCP-CONNECT-001", Title: "Server could not be scanned", Tier: mcpsec.TierReview, Severity: mcpsec.SevLow, Category: "connect", OWASP: "MCP09",
		Description: "Starting or listing the server failed or timed out; its tools were not analyzed."},
	{ID: "MCP-REMOTE-AUTH-001", Title: "Remote server answers without authentication", Tier: mcpsec.TierHard, Severity: mcpsec.SevHigh, Category: "auth", OWASP: "MCP07",
		Description: "An initialize request without credentials succeeded; anyone who can reach the URL can list and call its tools."},
	{ID: "MCP-REMOTE-PRM-001", Title: "Remote server advertises no protected-resource metadata", Tier: mcpsec.TierReview, Severity: mcpsec.SevLow, Category: "auth", OWASP: "MCP07",
		Description: "No RFC 9728 metadata at /.well-known/oauth-protected-resource and no resource_metadata in WWW-Authenticate: clients cannot discover how to authorize."},
	{ID: "MCP-LOCK-001", Title: "Tool definition changed since pinning (rug pull)", Tier: mcpsec.TierHard, Severity: mcpsec.SevHigh, Category: "rug-pull", OWASP: "MCP03",
		Description: "The canonical hash of a pinned tool, prompt, resource or the server instructions differs from the lockfile."},
	{ID: "MCP-LOCK-002", Title: "Tool added since pinning", Tier: mcpsec.TierReview, Severity: mcpsec.SevMedium, Category: "rug-pull", OWASP: "MCP03",
		Description: "The server offers an object the lockfile does not list."},
	{ID: "MCP-LOCK-003", Title: "Tool removed since pinning", Tier: mcpsec.TierReview, Severity: mcpsec.SevLow, Category: "rug-pull", OWASP: "MCP03",
		Description: "An object listed in the lockfile is gone."},
	{ID: "MCP-LOCK-004", Title: "Tool renamed since pinning", Tier: mcpsec.TierReview, Severity: mcpsec.SevMedium, Category: "rug-pull", OWASP: "MCP03",
		Description: "An object reappears under another name with an otherwise identical definition."},
	{ID: "MCP-LOCK-005", Title: "Server identity changed since pinning", Tier: mcpsec.TierHard, Severity: mcpsec.SevHigh, Category: "supply-chain", OWASP: "MCP04",
		Description: "The package, version, image digest, command or URL of a pinned server differs from the lockfile."},
	{ID: "MCP-LOCK-006", Title: "Server not in lockfile", Tier: mcpsec.TierReview, Severity: mcpsec.SevMedium, Category: "inventory", OWASP: "MCP09",
		Description: "A configured server has no lockfile entry (shadow server)."},
}

var scanRuleByID = func() map[string]mcpsec.Rule {
	m := map[string]mcpsec.Rule{}
	for _, r := range scanRules {
		if _, dup := m[r.ID]; dup {
			panic("scan: duplicate rule " + r.ID)
		}
		if _, clash := mcpsec.LookupRule(r.ID); clash {
			panic("scan: rule id also used by mcpsec " + r.ID)
		}
		m[r.ID] = r
	}
	return m
}()

// Rules returns the scanner's own rules (MCP-CONFIG-*, MCP-CONNECT-*,
// MCP-REMOTE-*, MCP-LOCK-*), sorted by id; AllRules adds mcpsec's.
func Rules() []mcpsec.Rule {
	out := append([]mcpsec.Rule(nil), scanRules...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// AllRules returns mcpsec's content rules and the scanner's rules, sorted by
// id; SARIF rule indexes follow this order.
func AllRules() []mcpsec.Rule {
	out := append(mcpsec.Rules(), scanRules...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// LookupRule finds a scanner or mcpsec rule.
func LookupRule(id string) (mcpsec.Rule, bool) {
	if r, ok := scanRuleByID[id]; ok {
		return r, true
	}
	return mcpsec.LookupRule(id)
}

// NewFinding builds a finding for one of the scanner's rules.
func NewFinding(id string, loc mcpsec.Location, evidence string) Finding {
	r, ok := LookupRule(id)
	if !ok {
		panic("scan: unknown rule " + id)
	}
	return Finding{Finding: mcpsec.Finding{
		RuleID: r.ID, Title: r.Title, Tier: r.Tier, Severity: r.Severity,
		Category: r.Category, OWASP: r.OWASP, Location: loc, Evidence: evidence,
	}}
}
