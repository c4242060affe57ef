package gateway

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/config"
)

// Config is the gateway's own configuration file (examples/gateway.yaml is
// the annotated reference). Upstream entries use the same shape as the SOC's
// mcp.servers entries.
type Config struct {
	// Listen is the Streamable HTTP address. Default 127.0.0.1:8787. A
	// non-loopback address requires authentication.
	Listen string `yaml:"listen"`
	// PublicURL is the gateway's canonical URL as clients reach it (scheme,
	// host, port, no path). It names the protected resource in RFC 9728
	// metadata and is the audience tokens must carry. Default
	// http://<listen>.
	PublicURL string `yaml:"public_url"`
	// AllowedHosts and AllowedOrigins extend the loopback defaults of the
	// Host and Origin checks (DNS-rebinding defence).
	AllowedHosts   []string `yaml:"allowed_hosts"`
	AllowedOrigins []string `yaml:"allowed_origins"`
	// TLS serves HTTPS when both files are set.
	TLS struct {
		CertFile string `yaml:"cert_file"`
		KeyFile  string `yaml:"key_file"`
	} `yaml:"tls"`

	Upstreams []config.MCPServer `yaml:"upstreams"`

	Auth      AuthConfig      `yaml:"auth"`
	Policy    PolicyConfig    `yaml:"policy"`
	Limits    LimitsConfig    `yaml:"limits"`
	Content   ContentConfig   `yaml:"content"`
	Approvals ApprovalsConfig `yaml:"approvals"`
	Audit     AuditConfig     `yaml:"audit"`
	// SOC forwards audit records to an MCPSoc SOC as events.
	SOC SOCConfig `yaml:"soc"`

	file             string // set by Load, for messages
	defaultPublicURL bool   // PublicURL was derived from Listen
}

// SetListen overrides the listen address (the --listen flag), moving a
// derived PublicURL (and the default JWT audience) along, and re-validates.
func (c *Config) SetListen(addr string) error {
	c.Listen = addr
	if c.defaultPublicURL {
		oldResource := c.ResourceURL()
		c.PublicURL = c.derivedPublicURL()
		if j := c.Auth.JWT; j != nil && len(j.Audience) == 1 && j.Audience[0] == oldResource {
			j.Audience = []string{c.ResourceURL()}
		}
	}
	return c.Validate()
}

func (c *Config) derivedPublicURL() string {
	scheme := "http"
	if c.TLS.CertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + c.Listen
}

// AuthConfig selects how clients authenticate. With no method configured
// the gateway accepts unauthenticated requests only on a loopback listener,
// as subject Anonymous.
type AuthConfig struct {
	// Anonymous is the subject given to unauthenticated loopback and stdio
	// clients. Default "local".
	Anonymous string `yaml:"anonymous"`
	// APIKeys are accepted as "Authorization: Bearer <key>" or
	// "X-API-Key: <key>". Only the SHA-256 of each key is stored.
	APIKeys []APIKey `yaml:"api_keys"`
	// JWT validates bearer JWTs (OAuth 2.1 access tokens).
	JWT *JWTConfig `yaml:"jwt"`
	// Scopes every token must carry to use the gateway at all (403
	// insufficient_scope otherwise). Per-tool rights are policy's job.
	RequiredScopes []string `yaml:"required_scopes"`
	// AuthorizationServers are advertised in the protected-resource
	// metadata (RFC 9728).
	AuthorizationServers []string `yaml:"authorization_servers"`
}

// APIKey is one client key, stored hashed.
type APIKey struct {
	// Subject is the principal the key authenticates.
	Subject string `yaml:"subject"`
	// Roles are matched by policy rules.
	Roles []string `yaml:"roles"`
	// SHA256 is the lowercase hex SHA-256 of the key ('mcpsoc gateway
	// hash-key' prints it).
	SHA256 string `yaml:"sha256"`
}

// JWTConfig validates JWT access tokens.
type JWTConfig struct {
	// Issuer must equal the token's iss.
	Issuer string `yaml:"issuer"`
	// Audience lists accepted aud values; default the gateway's resource
	// URL (PublicURL + "/mcp").
	Audience []string `yaml:"audience"`
	// Algorithms accepted (HS256/384/512, RS*, PS*, ES256/384/512,
	// EdDSA); "none" is always refused.
	Algorithms []string `yaml:"algorithms"`
	// Exactly one key source: an HMAC secret, a PEM public key file, or a
	// JWKS URL fetched and cached.
	HMACSecret    config.Secret `yaml:"hmac_secret"`
	PublicKeyFile string        `yaml:"public_key_file"`
	JWKSURL       string        `yaml:"jwks_url"`
	// JWKSRefresh is how long a fetched JWKS is cached (default 10m); an
	// unknown kid triggers at most one refetch per minute.
	JWKSRefresh time.Duration `yaml:"jwks_refresh"`
	// AllowPrivateJWKS permits a JWKS URL on a loopback or private
	// address (development only; the SSRF guard blocks it otherwise).
	AllowPrivateJWKS bool `yaml:"allow_private_jwks"`
	// SubjectClaim names the claim used as subject (default "sub");
	// RolesClaim the claim holding roles (default "roles").
	SubjectClaim string `yaml:"subject_claim"`
	RolesClaim   string `yaml:"roles_claim"`
	// Leeway tolerates clock skew on exp/nbf/iat (default 30s).
	Leeway time.Duration `yaml:"leeway"`
}

// PolicyConfig is the authorization policy. Rules are evaluated in order;
// the first rule whose subjects/roles, upstream and tool match decides. No
// match means Default.
type PolicyConfig struct {
	// Default is "deny" (the default) or "allow".
	Default string `yaml:"default"`
	Rules   []Rule `yaml:"rules"`
}

// Rule is one policy entry.
type Rule struct {
	// Name appears in audit records as the reason.
	Name string `yaml:"name"`
	// Subjects and Roles select callers ("*" any); a rule with neither
	// matches everyone.
	Subjects []string `yaml:"subjects"`
	Roles    []string `yaml:"roles"`
	// Upstreams and Tools are glob patterns (path.Match syntax); empty
	// means all.
	Upstreams []string `yaml:"upstreams"`
	Tools     []string `yaml:"tools"`
	// Effect is "allow" or "deny".
	Effect string `yaml:"effect"`
	// RequireApproval holds calls this allow rule admits until a human
	// approves them (see ApprovalsConfig).
	RequireApproval bool `yaml:"require_approval"`
	// AllowDestructive must be true for an allow rule to cover tools that
	// are destructive (annotated destructiveHint, or not annotated at all:
	// MCP's default is destructive) or listed in Destructive.
	AllowDestructive bool `yaml:"allow_destructive"`
	// Args are conditions on the call's arguments, all of which must hold
	// for the rule to match a call (listing ignores them): each key is a
	// top-level argument name.
	Args map[string]ArgCondition `yaml:"args"`
	// When is a CEL expression that must be true for the rule to apply to
	// a call. It reads args (the decoded arguments), subject, roles,
	// scopes, upstream and tool, e.g.
	//   args.path.startsWith("/tmp/") && !args.path.contains("..")
	// An allow rule whose conditions fail denies the call with the reason
	// (conditions constrain the callers and tools the rule selects); a
	// deny rule whose conditions fail does not apply, but one whose
	// expression cannot be evaluated (a missing argument) denies: fail
	// closed. Listing ignores conditions.
	When string `yaml:"when"`

	when      cel.Program
	allowedBy string // "allowed by " + Name, the reason of its allow decisions
}

// ArgCondition constrains one argument. Set fields are ANDed.
type ArgCondition struct {
	// OneOf lists accepted values (compared as JSON scalars).
	OneOf []string `yaml:"one_of"`
	// Pattern is a regular expression a string argument must match fully.
	Pattern string `yaml:"pattern"`
	// MaxLength bounds a string argument.
	MaxLength int `yaml:"max_length"`

	re *regexp.Regexp
}

// LimitsConfig bounds requests and rates.
type LimitsConfig struct {
	// MaxBodyBytes bounds one HTTP request body (413 above). Default 1 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxDepth bounds JSON nesting of a request (400 above). Default 32.
	MaxDepth int `yaml:"max_depth"`
	// MaxStringBytes bounds any single JSON string (400 above). Default
	// 256 KiB.
	MaxStringBytes int `yaml:"max_string_bytes"`
	// Rate limits tool calls per subject and per subject and tool.
	Rate RateConfig `yaml:"rate"`
}

// RateConfig holds token-bucket limits; zero Rate disables a limit.
type RateConfig struct {
	// PerRequest limits every HTTP request of a subject (any method);
	// an empty bucket answers 429 with Retry-After.
	PerRequest Bucket `yaml:"per_request"`
	PerSubject Bucket `yaml:"per_subject"`
	PerTool    Bucket `yaml:"per_tool"`
	// Redis, when set, shares the buckets between gateway instances.
	Redis *RedisConfig `yaml:"redis"`
}

// Bucket is a token bucket: Rate tokens per second, up to Burst.
type Bucket struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// RedisConfig reaches the Redis server holding shared buckets.
type RedisConfig struct {
	Addr     string        `yaml:"addr"`
	Password config.Secret `yaml:"password"`
	DB       int           `yaml:"db"`
	// Prefix namespaces the keys. Default "mcpsoc:gw:".
	Prefix string `yaml:"prefix"`
}

// ApprovalsConfig governs calls held for human approval. When the client
// supports elicitation the user is asked through it; otherwise the call
// waits for an approver (GET /approvals, POST /approvals/{id}/approve or
// /deny, or 'mcpsoc gateway approvals'), who must differ from the
// requester. No decision within Timeout denies the call.
type ApprovalsConfig struct {
	// Timeout is how long a call waits (default 2m).
	Timeout time.Duration `yaml:"timeout"`
	// Subjects and Roles may decide approvals.
	Subjects []string `yaml:"subjects"`
	Roles    []string `yaml:"roles"`
}

// ContentConfig sets what the gateway does with what upstreams send.
type ContentConfig struct {
	// ToolScan runs the shared analyzers (package mcpsec) over every
	// upstream's tools/list: "block" (default) hides and refuses tools with
	// a hard finding at or above BlockSeverity, "flag" only audits
	// findings, "off" skips scanning.
	ToolScan string `yaml:"tool_scan"`
	// BlockSeverity is the lowest severity that blocks (default high).
	BlockSeverity string `yaml:"block_severity"`
	// Pin is "tofu" (default): without Lockfile, the first definition seen
	// of each tool is pinned and a changed definition (rug pull, also
	// mid-session after list_changed) is quarantined; "off" disables
	// pinning (and ignores Lockfile).
	Pin string `yaml:"pin"`
	// Lockfile is a lockfile written by `mcpsoc pin` (package internal/pin:
	// RFC 8785 canonical hashes per tool and per field). When set, every
	// upstream must be in it (matched by package identity or client name)
	// and a tool absent from it or different from it is quarantined until
	// an operator approves it; approving writes the new definition's hashes
	// back to the file.
	Lockfile string `yaml:"lockfile"`
	// PinFile keeps first-seen pins across restarts (same lockfile format;
	// ignored when Lockfile is set). Default: pins live in memory only.
	PinFile string `yaml:"pin_file"`
	// Signatures verifies upstreams' signed manifests (internal/sign).
	Signatures SignaturesConfig `yaml:"signatures"`
	// Responses is what happens to tool results carrying credentials:
	// "redact" (default), "block" or "off".
	Responses string `yaml:"responses"`
}

// SignaturesConfig checks signed server manifests (`mcpsoc sign`) against
// a trust store of publisher keys before an upstream's tools are offered.
type SignaturesConfig struct {
	// Mode is "off" (default), "flag" (audit a missing or bad signature and
	// a tool that differs from the signed hash, serve anyway) or "require"
	// (refuse the upstream's tools: not listed, calls refused with the
	// reason).
	Mode string `yaml:"mode"`
	// TrustStore is the trust store file (`mcpsoc verify --trust` format).
	TrustStore string `yaml:"trust_store"`
	// Manifests maps upstream names to their signed manifest files.
	Manifests map[string]string `yaml:"manifests"`
}

// AuditConfig places the hash-chained audit log.
type AuditConfig struct {
	// File is the log path, relative to the config file. Default
	// "gateway-audit.jsonl". "-" disables auditing (not recommended).
	File string `yaml:"file"`
	// Sync is interval (default), always or never; see audit.SyncPolicy.
	Sync string `yaml:"sync"`
	// RedactKeys are argument names (case-insensitive, at any depth)
	// whose values are replaced by "[REDACTED]" in audit records, in
	// addition to the built-in secret-like names.
	RedactKeys []string `yaml:"redact_keys"`
}

// LoadConfig reads path strictly (unknown keys are errors naming file and
// line), expands ${NAME} and ${NAME:-default} from the environment in
// scalar values, applies defaults, resolves relative paths against the
// file's directory and validates.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading gateway config: %w", err)
	}
	c, err := ParseConfig(path, data, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	c.resolvePaths(dir)
	return c, nil
}

// ParseConfig decodes data (named name in messages) strictly, as every
// MCPSoc config file is (config.DecodeYAML: unknown keys and wrong types are
// errors with file and line, ${NAME} expanded), then applies defaults and
// validates.
func ParseConfig(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	c := &Config{file: name}
	if _, err := config.DecodeYAML(name, data, c, lookupEnv); err != nil {
		return nil, err
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8787"
	}
	if c.PublicURL == "" {
		c.PublicURL = c.derivedPublicURL()
		c.defaultPublicURL = true
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.Auth.Anonymous == "" {
		c.Auth.Anonymous = "local"
	}
	if j := c.Auth.JWT; j != nil {
		if len(j.Audience) == 0 {
			j.Audience = []string{c.ResourceURL()}
		}
		if j.JWKSRefresh == 0 {
			j.JWKSRefresh = 10 * time.Minute
		}
		if j.SubjectClaim == "" {
			j.SubjectClaim = "sub"
		}
		if j.RolesClaim == "" {
			j.RolesClaim = "roles"
		}
		if j.Leeway == 0 {
			j.Leeway = 30 * time.Second
		}
	}
	if c.Policy.Default == "" {
		c.Policy.Default = "deny"
	}
	if c.Limits.MaxBodyBytes == 0 {
		c.Limits.MaxBodyBytes = 1 << 20
	}
	if c.Limits.MaxDepth == 0 {
		c.Limits.MaxDepth = 32
	}
	if c.Limits.MaxStringBytes == 0 {
		c.Limits.MaxStringBytes = 256 << 10
	}
	if r := c.Limits.Rate.Redis; r != nil && r.Prefix == "" {
		r.Prefix = "mcpsoc:gw:"
	}
	if c.Approvals.Timeout == 0 {
		c.Approvals.Timeout = 2 * time.Minute
	}
	if c.Content.ToolScan == "" {
		c.Content.ToolScan = "block"
	}
	if c.Content.BlockSeverity == "" {
		c.Content.BlockSeverity = "high"
	}
	if c.Content.Pin == "" {
		c.Content.Pin = "tofu"
	}
	if c.Content.Signatures.Mode == "" {
		c.Content.Signatures.Mode = "off"
	}
	if c.Content.Responses == "" {
		c.Content.Responses = "redact"
	}
	if c.Audit.File == "" {
		c.Audit.File = "gateway-audit.jsonl"
	}
	for i := range c.Upstreams {
		s := &c.Upstreams[i]
		if s.CallTimeout == 0 {
			s.CallTimeout = config.DefaultCallTimeout
		}
		if s.ConnectTimeout == 0 {
			s.ConnectTimeout = config.DefaultConnectTimeout
		}
		if s.MaxConcurrency == 0 {
			s.MaxConcurrency = config.DefaultMaxConcurrency
		}
		if s.HealthInterval == 0 {
			s.HealthInterval = config.DefaultHealthInterval
		}
	}
}

func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && *p != "-" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Audit.File)
	abs(&c.Content.PinFile)
	abs(&c.Content.Lockfile)
	abs(&c.Content.Signatures.TrustStore)
	for k := range c.Content.Signatures.Manifests {
		v := c.Content.Signatures.Manifests[k]
		abs(&v)
		c.Content.Signatures.Manifests[k] = v
	}
	abs(&c.TLS.CertFile)
	abs(&c.TLS.KeyFile)
	if c.Auth.JWT != nil {
		abs(&c.Auth.JWT.PublicKeyFile)
	}
	for i := range c.Upstreams {
		abs(&c.Upstreams[i].Cwd)
		// A relative script path in args stays relative to cwd, which
		// defaults to the config directory.
		if c.Upstreams[i].Command != "" && c.Upstreams[i].Cwd == "" {
			c.Upstreams[i].Cwd = dir
		}
	}
}

// ResourceURL is the gateway's MCP endpoint URL, the resource identifier of
// RFC 8707/9728.
func (c *Config) ResourceURL() string { return c.PublicURL + "/mcp" }

// AuthConfigured reports whether any client authentication is set up.
func (c *Config) AuthConfigured() bool { return len(c.Auth.APIKeys) > 0 || c.Auth.JWT != nil }

var upstreamNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Validate reports every problem, one per line, each naming its field.
func (c *Config) Validate() error {
	var errs []string
	add := func(field, format string, a ...any) {
		errs = append(errs, fmt.Sprintf("%s: %s: %s", c.file, field, fmt.Sprintf(format, a...)))
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		add("listen", "%v", err)
	} else if !isLoopbackHost(host) && !c.AuthConfigured() {
		add("listen", "%q is not a loopback address and no authentication is configured (auth.api_keys or auth.jwt)", c.Listen)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		add("public_url", "want scheme://host[:port] without a path, got %q", c.PublicURL)
	}
	if c.SOC.URL != "" {
		if u, err := url.Parse(c.SOC.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("soc.url", "want an http(s) URL of an MCPSoc API, got %q", c.SOC.URL)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		add("tls", "cert_file and key_file go together")
	}
	if len(c.Upstreams) == 0 {
		add("upstreams", "at least one upstream is required")
	}
	seen := map[string]bool{}
	for i, s := range c.Upstreams {
		f := fmt.Sprintf("upstreams[%d]", i)
		if !upstreamNameRE.MatchString(s.Name) {
			add(f+".name", "must be letters, digits, '_' or '-' (got %q)", s.Name)
		}
		if seen[s.Name] {
			add(f+".name", "duplicate upstream %q", s.Name)
		}
		seen[s.Name] = true
		if (s.Command == "") == (s.URL == "") {
			add(f, "set exactly one of command (stdio) or url (Streamable HTTP)")
		}
		if s.URL != "" {
			if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(f+".url", "want an http(s) URL, got %q", s.URL)
			}
		}
	}
	seenKeys := map[string]bool{}
	for i, k := range c.Auth.APIKeys {
		f := fmt.Sprintf("auth.api_keys[%d]", i)
		if k.Subject == "" {
			add(f+".subject", "required")
		}
		if len(k.SHA256) != 64 || strings.Trim(strings.ToLower(k.SHA256), "0123456789abcdef") != "" {
			add(f+".sha256", "want the 64-digit hex SHA-256 of the key (see 'mcpsoc gateway hash-key')")
		}
		if seenKeys[strings.ToLower(k.SHA256)] {
			add(f+".sha256", "duplicate key")
		}
		seenKeys[strings.ToLower(k.SHA256)] = true
	}
	if j := c.Auth.JWT; j != nil {
		n := 0
		for _, set := range []bool{j.HMACSecret.IsSet(), j.PublicKeyFile != "", j.JWKSURL != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			add("auth.jwt", "set exactly one of hmac_secret, public_key_file or jwks_url")
		}
		if j.Issuer == "" {
			add("auth.jwt.issuer", "required")
		}
		if len(j.Algorithms) == 0 {
			add("auth.jwt.algorithms", "list the accepted algorithms (e.g. [RS256])")
		}
		for _, a := range j.Algorithms {
			if !knownAlg[a] {
				add("auth.jwt.algorithms", "unsupported algorithm %q", a)
			}
		}
		if j.HMACSecret.IsSet() && len(j.HMACSecret.Value()) < 32 {
			add("auth.jwt.hmac_secret", "must be at least 32 bytes")
		}
		if j.JWKSURL != "" {
			if u, err := url.Parse(j.JWKSURL); err != nil || (u.Scheme != "https" && !(j.AllowPrivateJWKS && u.Scheme == "http")) || u.Host == "" {
				add("auth.jwt.jwks_url", "want an https URL (http only with allow_private_jwks), got %q", j.JWKSURL)
			}
		}
	}
	switch c.Policy.Default {
	case "allow", "deny":
	default:
		add("policy.default", "must be allow or deny, got %q", c.Policy.Default)
	}
	for i := range c.Policy.Rules {
		r := &c.Policy.Rules[i]
		f := fmt.Sprintf("policy.rules[%d]", i)
		if r.Effect != "allow" && r.Effect != "deny" {
			add(f+".effect", "must be allow or deny, got %q", r.Effect)
		}
		for _, p := range append(append([]string{}, r.Upstreams...), r.Tools...) {
			if _, err := path.Match(p, ""); err != nil {
				add(f, "bad pattern %q: %v", p, err)
			}
		}
		for k, ac := range r.Args {
			if ac.Pattern != "" {
				re, err := regexp.Compile(`^(?:` + ac.Pattern + `)$`)
				if err != nil {
					add(f+".args."+k+".pattern", "%v", err)
				}
				ac.re = re
				r.Args[k] = ac
			}
		}
		if r.RequireApproval && r.Effect != "allow" {
			add(f+".require_approval", "only allow rules can require approval")
		}
		if r.When != "" {
			prg, err := compileCondition(r.When)
			if err != nil {
				add(f+".when", "%v", err)
			}
			r.when = prg
		}
		if r.Name == "" {
			r.Name = fmt.Sprintf("rule %d", i+1)
		}
		r.allowedBy = "allowed by " + r.Name
	}
	for _, b := range []struct {
		f string
		b Bucket
	}{{"limits.rate.per_request", c.Limits.Rate.PerRequest}, {"limits.rate.per_subject", c.Limits.Rate.PerSubject}, {"limits.rate.per_tool", c.Limits.Rate.PerTool}} {
		if b.b.Rate < 0 || b.b.Burst < 0 || (b.b.Rate > 0 && b.b.Burst == 0) {
			add(b.f, "want rate > 0 with burst >= 1, or both zero")
		}
	}
	if r := c.Limits.Rate.Redis; r != nil && r.Addr == "" {
		add("limits.rate.redis.addr", "required")
	}
	for _, e := range []struct{ f, v, ok string }{
		{"content.tool_scan", c.Content.ToolScan, "block flag off"},
		{"content.pin", c.Content.Pin, "tofu off"},
		{"content.responses", c.Content.Responses, "redact block off"},
		{"content.signatures.mode", c.Content.Signatures.Mode, "off flag require"},
		{"content.block_severity", c.Content.BlockSeverity, "info low medium high critical"},
	} {
		if !slices.Contains(strings.Fields(e.ok), e.v) {
			add(e.f, "must be one of %s, got %q", strings.ReplaceAll(e.ok, " ", ", "), e.v)
		}
	}
	if sg := c.Content.Signatures; sg.Mode != "off" && sg.TrustStore == "" {
		add("content.signatures.trust_store", "required when mode is %s", sg.Mode)
	}
	for name := range c.Content.Signatures.Manifests {
		if !slices.ContainsFunc(c.Upstreams, func(u config.MCPServer) bool { return u.Name == name }) {
			add("content.signatures.manifests."+name, "no upstream has this name")
		}
	}
	if _, err := audit.ParseSyncPolicy(c.Audit.Sync); err != nil {
		add("audit.sync", "%v", err)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
