// Package config owns MCPSoc's typed configuration tree: its defaults, strict
// loading from one YAML file, explicit ${ENV} expansion and validation that
// names file, line and field. It does not start anything; components receive
// the parts of the tree they need.
package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Config is the whole configuration. The zero value is not useful; start
// from Default or Load.
type Config struct {
	// DataDir is where embedded state lives (store, bus, offsets). Relative
	// paths are resolved against the config file's directory.
	DataDir string `yaml:"data_dir"`
	Log     Log    `yaml:"log"`
	API     API    `yaml:"api"`
	MCP     MCP    `yaml:"mcp"`
	Bus     Bus    `yaml:"bus"`
	Ingest  Ingest `yaml:"ingest"`
	Store   Store  `yaml:"store"`
	Detect  Detect `yaml:"detect"`
	// Intel is the threat-intelligence store, feeds and TAXII endpoint.
	Intel Intel `yaml:"intel"`
	// Servers configures MCPSoc's built-in MCP servers ('mcpsoc mcp NAME
	// --config F').
	Servers Servers `yaml:"servers"`
	// LLM is the optional language-model provider (off when empty).
	LLM LLM `yaml:"llm"`
}

// Servers holds the built-in MCP servers' settings.
type Servers struct {
	AV       AVServer       `yaml:"av"`
	Firewall FirewallServer `yaml:"firewall"`
	Intel    IntelServer    `yaml:"intel"`
	WAF      WAFServer      `yaml:"waf"`
}

// IntelServer configures 'mcpsoc mcp intel' (threat-intelligence lookups).
// Everything is optional: a tool whose backend is missing says so.
type IntelServer struct {
	// GeoIPCity is a GeoLite2-City (or GeoIP2-City, or -Country) .mmdb file
	// for enrich_ip.
	GeoIPCity string `yaml:"geoip_city"`
	// GeoIPASN is a GeoLite2-ASN .mmdb file for enrich_ip.
	GeoIPASN string `yaml:"geoip_asn"`
	// VirusTotal, OTX and AbuseIPDB are the live connectors, each off until
	// it has an api_key (write it as ${ENV_VAR}).
	VirusTotal IntelAPI `yaml:"virustotal"`
	OTX        IntelAPI `yaml:"otx"`
	AbuseIPDB  IntelAPI `yaml:"abuseipdb"`
}

// IntelAPI configures one live intel connector.
type IntelAPI struct {
	// APIKey is the service's key; never logged or returned.
	APIKey Secret `yaml:"api_key"`
	// BaseURL replaces the service's address (a proxy); https unless the
	// host is a loopback address.
	BaseURL string `yaml:"base_url"`
	// Timeout bounds one request (0: 15s).
	Timeout time.Duration `yaml:"timeout"`
	// CacheTTL is how long answers are reused (0: 10m; negative: no cache).
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// MaxResponseBytes caps one response body (0: 4 MiB).
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
}

// WAFServer configures 'mcpsoc mcp waf' (ModSecurity v3 or Coraza with the
// OWASP CRS). Zero values keep the command's defaults.
type WAFServer struct {
	// AuditLogs are the WAF's audit log files (libmodsecurity JSON, native
	// serial, Coraza JSON).
	AuditLogs []string `yaml:"audit_logs"`
	// RuleFiles are globs of the installed rule files explain_rule reads
	// (default: Debian's modsecurity-crs locations).
	RuleFiles []string `yaml:"rule_files"`
	// ExclusionsDir receives the exclusion snippets; the WAF must include
	// its *.conf before the CRS rules.
	ExclusionsDir string `yaml:"exclusions_dir"`
	// EnableApply lets apply_exclusion and remove_exclusion change files
	// and reload the WAF.
	EnableApply bool `yaml:"enable_apply"`
	// ValidateCommand and ReloadCommand are argv lists run after a change
	// (["nginx", "-t"] and ["nginx", "-s", "reload"]); no shell.
	ValidateCommand []string `yaml:"validate_command"`
	ReloadCommand   []string `yaml:"reload_command"`
	// RuleIDBase is the first id of the rules exclusions create (10000).
	RuleIDBase int `yaml:"rule_id_base"`
	// Timeout bounds each validate and reload command.
	Timeout time.Duration `yaml:"timeout"`
	// Audit is the hash-chained audit log of exclusion changes.
	Audit string `yaml:"audit"`
}

// FirewallServer configures 'mcpsoc mcp firewall' (nftables). Zero values
// keep the command's defaults.
type FirewallServer struct {
	// NFT is the nft binary (name in PATH or path).
	NFT string `yaml:"nft"`
	// Table is the managed inet table; no other table is touched.
	Table string `yaml:"table"`
	// EnableActions lets block_ip and unblock_ip change the ruleset.
	EnableActions bool `yaml:"enable_actions"`
	// AllowPrivate permits blocking private (RFC 1918, 100.64/10) and ULA
	// addresses.
	AllowPrivate bool `yaml:"allow_private"`
	// AllowList are CIDRs that are never blocked.
	AllowList []string `yaml:"allow_list"`
	// DefaultTTL, MinTTL and MaxTTL bound how long a block lasts.
	DefaultTTL time.Duration `yaml:"default_ttl"`
	MinTTL     time.Duration `yaml:"min_ttl"`
	MaxTTL     time.Duration `yaml:"max_ttl"`
	// MaxElements caps the addresses per set (IPv4 and IPv6 each).
	MaxElements int `yaml:"max_elements"`
	// Timeout limits one nft run.
	Timeout time.Duration `yaml:"timeout"`
	// Logs are firewall log files for the query tools; LogFormat their parser.
	Logs      []string `yaml:"logs"`
	LogFormat string   `yaml:"log_format"`
	// Audit is the hash-chained audit log of block and unblock calls.
	Audit string `yaml:"audit"`
	// Backend is nftables (default), iptables (iptables+ipset), opnsense
	// or pfsense.
	Backend string `yaml:"backend"`
	// IPSet, IPTables and IP6Tables are the iptables backend's binaries.
	IPSet     string `yaml:"ipset"`
	IPTables  string `yaml:"iptables"`
	IP6Tables string `yaml:"ip6tables"`
	// URL, Alias, APIKey, APISecret (OPNsense), CAFile and AllowHTTP
	// reach the appliance of the REST backends.
	URL       string `yaml:"url"`
	Alias     string `yaml:"alias"`
	APIKey    Secret `yaml:"api_key"`
	APISecret Secret `yaml:"api_secret"`
	CAFile    string `yaml:"ca_file"`
	AllowHTTP bool   `yaml:"allow_http"`
	// DataDir keeps the REST backends' TTL book (default: the top-level
	// data_dir).
	DataDir string `yaml:"data_dir"`
	// SweepInterval is how often expired REST blocks are removed.
	SweepInterval time.Duration `yaml:"sweep_interval"`
}

// AVServer configures 'mcpsoc mcp av' (ClamAV over clamd).
type AVServer struct {
	// Clamd is "unix:/run/clamav/clamd.ctl" or "tcp:127.0.0.1:3310".
	Clamd string `yaml:"clamd"`
	// ClamdConfig is clamd.conf, read for StreamMaxLength.
	ClamdConfig string `yaml:"clamd_config"`
	// AllowedRoots are the directories files may be scanned, quarantined
	// and restored in.
	AllowedRoots []string `yaml:"allowed_roots"`
	// QuarantineDir holds quarantined files; outside the allowed roots.
	QuarantineDir string `yaml:"quarantine_dir"`
	// EnableQuarantine lets quarantine_file and restore_file change files.
	EnableQuarantine bool `yaml:"enable_quarantine"`
	// MaxStreamBytes caps uploads and scanned files (0: clamd's limit).
	MaxStreamBytes int64 `yaml:"max_stream_bytes"`
	// LogFile is clamd's log, read by recent_detections.
	LogFile string `yaml:"log_file"`
	// Timeout bounds one clamd command (0: 2 minutes).
	Timeout time.Duration `yaml:"timeout"`
	// ScanConcurrency is how many files a directory scan streams at once.
	ScanConcurrency int `yaml:"scan_concurrency"`
	// Audit is the hash-chained audit log of quarantine and restore calls.
	Audit string `yaml:"audit"`
}

// Detect configures detection on the live event stream.
type Detect struct {
	// Disabled turns detection off.
	Disabled bool `yaml:"disabled"`
	// Rules are extra directories of Sigma rules and correlations, loaded
	// with the built-in packs.
	Rules []string `yaml:"rules"`
	// NoBuiltinRules leaves MCPSoc's own rule packs out.
	NoBuiltinRules bool `yaml:"no_builtin_rules"`
	// DedupWindow drops repeats of the same detection on the same entities
	// within this event time (default 5m).
	DedupWindow time.Duration `yaml:"dedup_window"`
	// Modes sets rules, by id or name, to enabled, disabled or shadow
	// (evaluated and stored, marked shadow, not notified): a new version
	// can run in shadow beside the old one before it is promoted.
	Modes map[string]string `yaml:"modes"`
	// Suppressions are allow-list entries: alerts of Rule whose event has
	// one of Values (CIDR, glob or exact) in Field are dropped.
	Suppressions []Suppression `yaml:"suppressions"`
	// Intel lists files of indicators (CSV: type,value[,confidence,expires,source];
	// or STIX 2.1 bundles) matched against every event.
	Intel []string `yaml:"intel"`
	// Anomaly names a YAML file of anomaly detectors (rate baselines,
	// first-seen values, beaconing; see docs/detection.md).
	Anomaly string `yaml:"anomaly"`
	// ReloadInterval is how often serve checks the rule, intel, anomaly
	// and config files for changes and reloads detection (default 5s;
	// negative: only on SIGHUP).
	ReloadInterval time.Duration `yaml:"reload_interval"`
}

// Suppression is one detection allow-list entry.
type Suppression struct {
	Rule   string    `yaml:"rule"`
	Field  string    `yaml:"field"`
	Values []string  `yaml:"values"`
	Reason string    `yaml:"reason"`
	Until  time.Time `yaml:"until"`
}

// Store configures where events are kept.
type Store struct {
	// Driver is sqlite (embedded, data_dir/events.db) or postgres.
	Driver string `yaml:"driver"`
	// DSN is the PostgreSQL connection string (postgres://...); it may
	// hold a password and is treated as a secret.
	DSN Secret `yaml:"dsn"`
	// MaxAge deletes events older than this (0 keeps them).
	MaxAge time.Duration `yaml:"max_age"`
	// MaxBytes trims the oldest events beyond this size (0 means no limit).
	MaxBytes int64 `yaml:"max_bytes"`
	// TimeRangeRequiredAbove makes searches without a time range fail once
	// more events than this are stored (0 means 1,000,000; -1 never).
	TimeRangeRequiredAbove int64 `yaml:"time_range_required_above"`
	// SegmentRows is how many events the SQLite store writes to a segment
	// file before it indexes the file and starts the next (0 means
	// 100,000; at least 100).
	SegmentRows int64 `yaml:"segment_rows"`
}

// Bus configures the event bus (NATS JetStream).
type Bus struct {
	// URL of an external NATS cluster; empty embeds JetStream in the
	// process with its storage under data_dir/bus.
	URL string `yaml:"url"`
	// MaxBytes and MaxAge bound what the bus buffers (defaults 10 GiB, 7d).
	MaxBytes int64         `yaml:"max_bytes"`
	MaxAge   time.Duration `yaml:"max_age"`
	// Sync is when the embedded bus flushes to disk: "interval" (default:
	// written through to the operating system at once, synced every two
	// minutes; survives a crash of MCPSoc, not a power loss) or "always"
	// (every message synced before it is acknowledged; slower).
	Sync string `yaml:"sync"`
}

// Ingest configures the event sources.
type Ingest struct {
	// APIKeys may push events to POST /api/v1/ingest (api.api_keys may
	// too). With none configured, serve creates one in data_dir/ingest.key
	// on first start, readable only by its owner.
	APIKeys []Secret `yaml:"api_keys"`
	// MaxBodyBytes bounds one push request, after decompression (413 above).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Syslog listeners (RFC 3164/5424 over UDP or TCP).
	Syslog []SyslogSource `yaml:"syslog"`
	// Files to tail.
	Files []FileSource `yaml:"files"`
}

// SyslogSource is one syslog listener.
type SyslogSource struct {
	Name string `yaml:"name"`
	// Protocol is udp or tcp (TCP accepts RFC 6587 octet counting and
	// newline framing on the same port).
	Protocol string `yaml:"protocol"`
	// Listen is host:port; loopback unless allow_remote.
	Listen string `yaml:"listen"`
	// Format names the parser for the payloads (default auto).
	Format string `yaml:"format"`
	// TLS enables syslog over TLS on tcp; ClientCAFile requires client
	// certificates signed by that CA.
	TLS          TLS    `yaml:"tls"`
	ClientCAFile string `yaml:"client_ca_file"`
	// AllowRemote accepts a non-loopback listen address. Syslog has no
	// authentication of its own: prefer tcp with tls and client_ca_file.
	AllowRemote bool `yaml:"allow_remote"`
}

// FileSource tails files matching glob patterns.
type FileSource struct {
	Name   string   `yaml:"name"`
	Paths  []string `yaml:"paths"`
	Format string   `yaml:"format"`
	// StartAt is where a file seen for the first time is read from:
	// beginning (default) or end.
	StartAt string `yaml:"start_at"`
	// PollInterval is how often files are checked (default 250ms).
	PollInterval time.Duration `yaml:"poll_interval"`
}

// Log configures operator logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// API configures the HTTP listener that serves the REST API, metrics and
// health endpoints.
type API struct {
	// Listen is host:port. The default binds loopback only; any other
	// address requires api_keys.
	Listen string `yaml:"listen"`
	// APIKeys are accepted as "Authorization: Bearer KEY" or "X-API-Key".
	// When set they are required on every request except /healthz and
	// /readyz, on loopback too.
	APIKeys []Secret `yaml:"api_keys"`
	// AllowedHosts lists extra Host header values accepted besides the
	// loopback names (DNS-rebinding protection).
	AllowedHosts []string `yaml:"allowed_hosts"`
	// TLS enables HTTPS when both files are set.
	TLS TLS `yaml:"tls"`
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// TLS names a certificate and key in PEM files.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// MCP configures the MCP host: the servers MCPSoc connects to.
type MCP struct {
	Servers []MCPServer `yaml:"servers"`
}

// MCPServer declares one MCP server to connect to, either a local process
// spoken to over stdio (command) or a remote Streamable HTTP endpoint (url).
type MCPServer struct {
	// Name namespaces the server's tools ("name.tool"). Letters, digits,
	// '_' and '-' only.
	Name string `yaml:"name"`
	// Disabled keeps the entry without connecting to it.
	Disabled bool `yaml:"disabled"`

	// Command, Args, Env and Cwd start a stdio server. The process gets
	// only PATH, HOME, LANG and TMPDIR from MCPSoc's environment plus Env.
	Command string            `yaml:"command"`
	Args    []string          `yaml:"args"`
	Env     map[string]Secret `yaml:"env"`
	Cwd     string            `yaml:"cwd"`

	// URL, Headers and Auth reach a Streamable HTTP server.
	URL     string            `yaml:"url"`
	Headers map[string]Secret `yaml:"headers"`
	Auth    *MCPAuth          `yaml:"auth"`

	// ProtocolVersion pins the version offered; empty negotiates the newest
	// both sides speak (server/discover first, initialize as fallback).
	ProtocolVersion string `yaml:"protocol_version"`
	// CallTimeout bounds one request (tool call, read, get).
	CallTimeout time.Duration `yaml:"call_timeout"`
	// ConnectTimeout bounds connecting and the first listing.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// MaxConcurrency bounds requests in flight to this server.
	MaxConcurrency int `yaml:"max_concurrency"`
	// HealthInterval is how often a connected server is checked.
	HealthInterval time.Duration `yaml:"health_interval"`
}

// Transport reports "stdio" or "http".
func (s MCPServer) Transport() string {
	if s.URL != "" {
		return "http"
	}
	return "stdio"
}

// MCPAuth authenticates to a remote server. At most one method is set.
type MCPAuth struct {
	// BearerToken is sent as "Authorization: Bearer ...".
	BearerToken Secret `yaml:"bearer_token"`
	// OAuth runs the MCP authorization flow (authorization code with PKCE).
	OAuth *OAuth `yaml:"oauth"`
}

// OAuth configures the MCP authorization-code flow. The client registers
// through a pre-registered ID, a client ID metadata document, or dynamic
// registration, in that order of preference.
type OAuth struct {
	ClientID          string   `yaml:"client_id"`
	ClientSecret      Secret   `yaml:"client_secret"`
	ClientMetadataURL string   `yaml:"client_metadata_url"`
	RedirectURL       string   `yaml:"redirect_url"`
	Scopes            []string `yaml:"scopes"`
}

// Defaults for server entries, applied where a field is zero.
const (
	DefaultCallTimeout    = 60 * time.Second
	DefaultConnectTimeout = 30 * time.Second
	DefaultMaxConcurrency = 16
	DefaultHealthInterval = 30 * time.Second
	DefaultListen         = "127.0.0.1:8080"
	DefaultMaxBodyBytes   = 10 << 20
	DefaultIngestBody     = 64 << 20
)

// Default returns the configuration used when no file is given: embedded
// storage under ./data, loopback binds, no MCP servers.
func Default() *Config {
	return &Config{
		DataDir: "data",
		Log:     Log{Level: "info", Format: "text"},
		API:     API{Listen: DefaultListen, MaxBodyBytes: DefaultMaxBodyBytes},
		Ingest:  Ingest{MaxBodyBytes: DefaultIngestBody},
		Store:   Store{Driver: "sqlite"},
		Intel: Intel{RefreshInterval: 10 * time.Second, PruneInterval: 10 * time.Minute,
			TAXII: TAXIIServer{MaxPage: 1000}},
		Detect: Detect{ReloadInterval: 5 * time.Second},
	}
}

// applyDefaults fills zero fields that have per-element defaults.
func (c *Config) applyDefaults() {
	c.intelDefaults()
	for i := range c.Ingest.Syslog {
		if c.Ingest.Syslog[i].Format == "" {
			c.Ingest.Syslog[i].Format = "auto"
		}
	}
	for i := range c.Ingest.Files {
		f := &c.Ingest.Files[i]
		if f.Format == "" {
			f.Format = "auto"
		}
		if f.StartAt == "" {
			f.StartAt = "beginning"
		}
		if f.PollInterval == 0 {
			f.PollInterval = 250 * time.Millisecond
		}
	}
	for i := range c.MCP.Servers {
		s := &c.MCP.Servers[i]
		if s.CallTimeout == 0 {
			s.CallTimeout = DefaultCallTimeout
		}
		if s.ConnectTimeout == 0 {
			s.ConnectTimeout = DefaultConnectTimeout
		}
		if s.MaxConcurrency == 0 {
			s.MaxConcurrency = DefaultMaxConcurrency
		}
		if s.HealthInterval == 0 {
			s.HealthInterval = DefaultHealthInterval
		}
	}
}

var serverNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// knownProtocolVersions are the MCP revisions a server entry may pin.
var knownProtocolVersions = map[string]bool{
	"2024-11-05": true, "2025-03-26": true, "2025-06-18": true, "2025-11-25": true, "2026-07-28": true,
}

// Validate checks the whole tree and returns every problem found, each
// naming its field path. Load adds file and line.
func (c *Config) Validate() error {
	var errs Errors
	add := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "must be one of debug, info, warn, error; got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add("log.format", "must be text or json; got %q", c.Log.Format)
	}
	if c.DataDir == "" {
		add("data_dir", "must not be empty")
	}
	c.LLM.validate(add)
	if host, port, err := net.SplitHostPort(c.API.Listen); err != nil {
		add("api.listen", "must be host:port: %v", err)
	} else {
		if port == "" {
			add("api.listen", "port is missing")
		}
		if !IsLoopbackHost(host) && len(c.API.APIKeys) == 0 {
			add("api.listen", "%q is not a loopback address: set api.api_keys so the API is authenticated", c.API.Listen)
		}
	}
	for i, k := range c.API.APIKeys {
		if len(k.Value()) < 16 {
			add(fmt.Sprintf("api.api_keys[%d]", i), "must be at least 16 characters")
		}
	}
	if (c.API.TLS.CertFile == "") != (c.API.TLS.KeyFile == "") {
		add("api.tls", "cert_file and key_file must be set together")
	}
	if c.API.MaxBodyBytes <= 0 {
		add("api.max_body_bytes", "must be positive")
	}
	seen := map[string]int{}
	for i, s := range c.MCP.Servers {
		p := fmt.Sprintf("mcp.servers[%d]", i)
		if s.Name == "" {
			add(p+".name", "is required")
		} else if !serverNameRE.MatchString(s.Name) {
			add(p+".name", "%q must be 1-64 letters, digits, '_' or '-' (it prefixes tool names)", s.Name)
		} else if j, dup := seen[s.Name]; dup {
			add(p+".name", "%q is already used by mcp.servers[%d]", s.Name, j)
		} else {
			seen[s.Name] = i
		}
		switch {
		case s.Command == "" && s.URL == "":
			add(p, "needs either command (stdio) or url (HTTP)")
		case s.Command != "" && s.URL != "":
			add(p, "has both command and url; choose one")
		}
		if s.URL != "" {
			u, err := url.Parse(s.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(p+".url", "must be an absolute http or https URL; got %q", s.URL)
			}
		} else {
			if len(s.Headers) > 0 {
				add(p+".headers", "applies only to url servers")
			}
			if s.Auth != nil {
				add(p+".auth", "applies only to url servers")
			}
		}
		if s.URL != "" && (len(s.Args) > 0 || len(s.Env) > 0 || s.Cwd != "") {
			add(p, "args, env and cwd apply only to command servers")
		}
		if s.Auth != nil {
			if s.Auth.BearerToken.IsSet() && s.Auth.OAuth != nil {
				add(p+".auth", "set bearer_token or oauth, not both")
			}
			if !s.Auth.BearerToken.IsSet() && s.Auth.OAuth == nil {
				add(p+".auth", "needs bearer_token or oauth")
			}
			if o := s.Auth.OAuth; o != nil && o.RedirectURL != "" {
				if u, err := url.Parse(o.RedirectURL); err != nil || u.Scheme == "" || u.Host == "" {
					add(p+".auth.oauth.redirect_url", "must be an absolute URL; got %q", o.RedirectURL)
				}
			}
		}
		if s.ProtocolVersion != "" && !knownProtocolVersions[s.ProtocolVersion] {
			add(p+".protocol_version", "unknown MCP revision %q", s.ProtocolVersion)
		}
		if s.CallTimeout < 0 {
			add(p+".call_timeout", "must not be negative")
		}
		if s.ConnectTimeout < 0 {
			add(p+".connect_timeout", "must not be negative")
		}
		if s.MaxConcurrency < 0 || s.MaxConcurrency > 10000 {
			add(p+".max_concurrency", "must be between 1 and 10000")
		}
		if s.HealthInterval < 0 {
			add(p+".health_interval", "must not be negative")
		}
		for k := range s.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				add(p+".env", "invalid variable name %q", k)
			}
		}
	}
	c.validateIngest(add)
	c.validateIntel(add)
	c.validateIntelServer(add)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// validateIntelServer checks servers.intel ('mcpsoc mcp intel').
func (c *Config) validateIntelServer(add func(path, format string, args ...any)) {
	in := &c.Servers.Intel
	for _, e := range []struct {
		name string
		a    IntelAPI
	}{{"virustotal", in.VirusTotal}, {"otx", in.OTX}, {"abuseipdb", in.AbuseIPDB}} {
		p, a := "servers.intel."+e.name, e.a
		if a.BaseURL != "" {
			u, err := url.Parse(a.BaseURL)
			switch {
			case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
				add(p+".base_url", "must be an absolute https URL; got %q", a.BaseURL)
			case u.Scheme == "http" && !IsLoopbackHost(u.Hostname()):
				add(p+".base_url", "must use https (the API key would travel in clear); http is allowed only on loopback")
			}
		}
		if a.Timeout < 0 {
			add(p+".timeout", "must not be negative")
		}
		if a.MaxResponseBytes < 0 {
			add(p+".max_response_bytes", "must not be negative")
		}
	}
}

var sourceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

func (c *Config) validateIngest(add func(path, format string, args ...any)) {
	if c.Bus.URL != "" {
		if u, err := url.Parse(strings.Split(c.Bus.URL, ",")[0]); err != nil || (u.Scheme != "nats" && u.Scheme != "tls") {
			add("bus.url", "must be a nats:// or tls:// URL; got %q", c.Bus.URL)
		}
	}
	if c.Bus.Sync != "" && c.Bus.Sync != "interval" && c.Bus.Sync != "always" {
		add("bus.sync", "must be interval or always; got %q", c.Bus.Sync)
	}
	if c.Bus.MaxBytes < 0 {
		add("bus.max_bytes", "must not be negative")
	}
	for id, m := range c.Detect.Modes {
		if m != "enabled" && m != "disabled" && m != "shadow" {
			add("detect.modes."+id, "must be enabled, disabled or shadow; got %q", m)
		}
	}
	for i, sp := range c.Detect.Suppressions {
		p := fmt.Sprintf("detect.suppressions[%d]", i)
		if sp.Rule == "" || sp.Field == "" || len(sp.Values) == 0 {
			add(p, "needs rule, field and values")
		}
	}
	switch c.Store.Driver {
	case "sqlite":
		if c.Store.DSN.IsSet() {
			add("store.dsn", "applies only to the postgres driver")
		}
	case "postgres":
		if !c.Store.DSN.IsSet() {
			add("store.dsn", "is required for the postgres driver")
		}
	default:
		add("store.driver", "must be sqlite or postgres; got %q", c.Store.Driver)
	}
	if c.Store.SegmentRows != 0 && c.Store.SegmentRows < 100 {
		add("store.segment_rows", "must be at least 100 (0 means 100,000)")
	}
	if c.Store.MaxAge < 0 || c.Store.MaxBytes < 0 {
		add("store", "max_age and max_bytes must not be negative")
	}
	if c.Ingest.MaxBodyBytes <= 0 {
		add("ingest.max_body_bytes", "must be positive")
	}
	for i, k := range c.Ingest.APIKeys {
		if len(k.Value()) < 16 {
			add(fmt.Sprintf("ingest.api_keys[%d]", i), "must be at least 16 characters")
		}
	}
	names := map[string]string{}
	name := func(p, n string) {
		if n == "" {
			add(p+".name", "is required")
		} else if !sourceNameRE.MatchString(n) {
			add(p+".name", "%q must be 1-64 letters, digits, '_', '.' or '-'", n)
		} else if prev, dup := names[n]; dup {
			add(p+".name", "%q is already used by %s", n, prev)
		} else {
			names[n] = p
		}
	}
	for i, s := range c.Ingest.Syslog {
		p := fmt.Sprintf("ingest.syslog[%d]", i)
		name(p, s.Name)
		if s.Protocol != "udp" && s.Protocol != "tcp" {
			add(p+".protocol", "must be udp or tcp; got %q", s.Protocol)
		}
		host, _, err := net.SplitHostPort(s.Listen)
		switch {
		case err != nil:
			add(p+".listen", "must be host:port: %v", err)
		case !IsLoopbackHost(host) && !s.AllowRemote:
			add(p+".listen", "%q is not a loopback address: syslog is unauthenticated, set allow_remote: true (and prefer tcp with tls and client_ca_file)", s.Listen)
		}
		if s.TLS.Enabled() {
			if s.Protocol != "tcp" {
				add(p+".tls", "applies only to tcp")
			}
			if s.TLS.CertFile == "" || s.TLS.KeyFile == "" {
				add(p+".tls", "cert_file and key_file must be set together")
			}
		}
		if s.ClientCAFile != "" && !s.TLS.Enabled() {
			add(p+".client_ca_file", "requires tls")
		}
	}
	for i, f := range c.Ingest.Files {
		p := fmt.Sprintf("ingest.files[%d]", i)
		name(p, f.Name)
		if len(f.Paths) == 0 {
			add(p+".paths", "needs at least one path or glob")
		}
		if f.StartAt != "beginning" && f.StartAt != "end" {
			add(p+".start_at", "must be beginning or end; got %q", f.StartAt)
		}
		if f.PollInterval < 10*time.Millisecond {
			add(p+".poll_interval", "must be at least 10ms")
		}
	}
}

// IsLoopbackHost reports whether host (a name or an IP, without port) only
// reaches this machine.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
