package waf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/query"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Name and Version identify the server.
const (
	Name    = "mcpsoc-waf"
	Version = "1.0.0"
)

// Defaults for the zero Config.
const (
	DefaultRuleIDBase = 10000
	ruleIDSpan        = 10000
	DefaultTimeout    = 30 * time.Second
)

// DefaultRuleFiles are where Debian's modsecurity-crs package installs the
// OWASP Core Rule Set and its local exclusion files.
var DefaultRuleFiles = []string{
	"/usr/share/modsecurity-crs/rules/*.conf",
	"/etc/modsecurity/crs/*.conf",
}

// Config is the WAF server's configuration, meant as the servers.waf
// section of the YAML tree. The zero value is valid: the tools are listed,
// queries say that no audit log is configured, explain_rule reads the CRS
// from its Debian location, and apply_exclusion is refused.
type Config struct {
	// AuditLogs are ModSecurity or Coraza audit log files: libmodsecurity
	// v3 JSON, the native serial format (v2 and v3) or Coraza JSON.
	AuditLogs []string `yaml:"audit_logs,omitempty" json:"audit_logs,omitempty"`
	// RuleFiles are globs of the installed rule files read by explain_rule
	// (DefaultRuleFiles when empty).
	RuleFiles []string `yaml:"rule_files,omitempty" json:"rule_files,omitempty"`
	// ExclusionsDir is the directory apply_exclusion writes snippet files
	// to. The WAF configuration must include its *.conf files before the
	// CRS rules.
	ExclusionsDir string `yaml:"exclusions_dir,omitempty" json:"exclusions_dir,omitempty"`
	// EnableApply lets apply_exclusion and remove_exclusion change the WAF
	// configuration; without it they answer dry runs only.
	EnableApply bool `yaml:"enable_apply,omitempty" json:"enable_apply,omitempty"`
	// ValidateCommand checks the configuration after a change (for
	// example nginx -t -c /etc/nginx/nginx.conf); a failure rolls the
	// change back. Required with EnableApply.
	ValidateCommand []string `yaml:"validate_command,omitempty" json:"validate_command,omitempty"`
	// ReloadCommand makes the WAF load the validated configuration (for
	// example nginx -s reload). Required with EnableApply.
	ReloadCommand []string `yaml:"reload_command,omitempty" json:"reload_command,omitempty"`
	// RuleIDBase is the first id of the rules exclusions create; ids are
	// taken from [base, base+10000). 10000 by default: the range
	// ModSecurity reserves for local rules.
	RuleIDBase int `yaml:"rule_id_base,omitempty" json:"rule_id_base,omitempty"`
	// Timeout bounds each validate and reload command (30s).
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// Options are the server's collaborators. Nil means defaults.
type Options struct {
	Logger *slog.Logger
	// Audit records apply_exclusion and remove_exclusion calls that are not
	// dry runs (who, what, outcome). Nil records nothing.
	Audit func(audit.Event) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Events is the MCPSoc event store. When set, the query tools read
	// ModSecurity/Coraza events from it (event.module:modsecurity, last
	// 24h unless since says otherwise) instead of the audit log files.
	Events EventStore
}

// EventStore is what the server reads of the MCPSoc store.
type EventStore = store.Searcher

// Server is the WAF server's state behind its tools; safe for concurrent
// use.
type Server struct {
	cfg    Config
	events EventStore
	log    *slog.Logger
	audit  func(audit.Event) error
	now    func() time.Time
	mu     sync.Mutex // serializes configuration changes
}

// New validates cfg and builds the server.
func New(cfg Config, opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	if len(cfg.RuleFiles) == 0 {
		cfg.RuleFiles = DefaultRuleFiles
	}
	for _, g := range cfg.RuleFiles {
		if _, err := filepath.Match(g, ""); err != nil {
			return nil, fmt.Errorf("rule_files %q: %w", g, err)
		}
	}
	if cfg.RuleIDBase == 0 {
		cfg.RuleIDBase = DefaultRuleIDBase
	}
	if cfg.RuleIDBase < 1 || cfg.RuleIDBase+ruleIDSpan > 900000 {
		return nil, fmt.Errorf("rule_id_base %d must be between 1 and %d (CRS owns 900000-999999)", cfg.RuleIDBase, 900000-ruleIDSpan)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("timeout %s is negative", cfg.Timeout)
	}
	if cfg.ExclusionsDir != "" {
		abs, err := filepath.Abs(cfg.ExclusionsDir)
		if err != nil {
			return nil, fmt.Errorf("exclusions_dir: %w", err)
		}
		cfg.ExclusionsDir = abs
	}
	if cfg.EnableApply {
		switch {
		case cfg.ExclusionsDir == "":
			return nil, errors.New("enable_apply needs exclusions_dir")
		case len(cfg.ValidateCommand) == 0 || cfg.ValidateCommand[0] == "":
			return nil, errors.New("enable_apply needs validate_command (e.g. nginx -t): a change is never loaded unchecked")
		case len(cfg.ReloadCommand) == 0 || cfg.ReloadCommand[0] == "":
			return nil, errors.New("enable_apply needs reload_command (e.g. nginx -s reload)")
		}
	}
	s := &Server{cfg: cfg, log: opts.Logger, audit: opts.Audit, now: opts.Now, events: opts.Events}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// MCP builds the MCP server exposing s's tools.
func (s *Server) MCP(opts *mcpx.ServerOptions) *mcpx.Server {
	if opts == nil {
		opts = &mcpx.ServerOptions{Logger: s.log}
	}
	if opts.Instructions == "" {
		opts.Instructions = "Web application firewall (ModSecurity v3 / Coraza with the OWASP CRS). Query audit events with waf_events, " +
			"summarize with top_attacked_uris and rule_stats, look a rule up with explain_rule. For a false positive, " +
			"call propose_exclusion first, scope it to a path and a target, and apply it only when the snippet is right."
	}
	srv := mcpx.NewServer(Name, Version, opts)
	s.addTools(srv)
	return srv
}

type none struct{}

// EventsIn is the input of waf_events.
type EventsIn struct {
	Path        string `json:"path,omitempty" jsonschema:"only requests whose path starts with this"`
	URIContains string `json:"uri_contains,omitempty" jsonschema:"only requests whose URI (query string included) contains this"`
	Client      string `json:"client_ip,omitempty" jsonschema:"only requests from this address"`
	RuleID      string `json:"rule_id,omitempty" jsonschema:"only transactions this rule matched in"`
	MinScore    int    `json:"min_anomaly_score,omitempty" jsonschema:"only transactions with at least this inbound anomaly score"`
	BlockedOnly bool   `json:"blocked_only,omitempty" jsonschema:"only transactions the WAF blocked"`
	Since       string `json:"since,omitempty" jsonschema:"only after this time: RFC 3339 or a duration back from now (24h)"`
	Until       string `json:"until,omitempty" jsonschema:"only before this time: RFC 3339 or a duration back from now"`
	Limit       int    `json:"limit,omitempty" jsonschema:"at most this many events, newest first (default 50, at most 500)"`
}

// Events is the result of waf_events.
type Events struct {
	Logs      []string `json:"logs" jsonschema:"where the events were read: audit log files or the MCPSoc store"`
	Matched   int      `json:"matched" jsonschema:"events matching the filter (before limit)"`
	Truncated bool     `json:"truncated" jsonschema:"true when only the end of a large log was read"`
	Events    []Event  `json:"events"`
}

// RangeIn is the input of top_attacked_uris and rule_stats.
type RangeIn struct {
	Since          string `json:"since,omitempty" jsonschema:"only after this time: RFC 3339 or a duration back from now (24h)"`
	Until          string `json:"until,omitempty" jsonschema:"only before this time: RFC 3339 or a duration back from now"`
	BlockedOnly    bool   `json:"blocked_only,omitempty" jsonschema:"count only transactions the WAF blocked"`
	IncludeVerdict bool   `json:"include_verdict_rules,omitempty" jsonschema:"rule_stats: also count the CRS anomaly verdict rules (949110, 980130...)"`
	Limit          int    `json:"limit,omitempty" jsonschema:"at most this many rows (default 10, at most 200)"`
}

// TopURIs is the result of top_attacked_uris.
type TopURIs struct {
	Logs      []string  `json:"logs"`
	Events    int       `json:"events" jsonschema:"transactions with rule matches counted"`
	Truncated bool      `json:"truncated"`
	URIs      []URIStat `json:"uris"`
}

// RuleStats is the result of rule_stats.
type RuleStats struct {
	Logs      []string   `json:"logs"`
	Events    int        `json:"events" jsonschema:"transactions with rule matches counted"`
	Truncated bool       `json:"truncated"`
	Rules     []RuleStat `json:"rules"`
}

// ExplainIn is the input of explain_rule.
type ExplainIn struct {
	ID string `json:"id" jsonschema:"a rule id, e.g. 942100"`
}

// Explained is the result of explain_rule.
type Explained struct {
	Rule      RuleInfo `json:"rule"`
	RuleFiles int      `json:"rule_files_read"`
	Excluded  []string `json:"managed_exclusions" jsonschema:"managed exclusion files that name this rule"`
}

// ExclusionIn is the input of propose_exclusion and apply_exclusion.
type ExclusionIn struct {
	Exclusion
	DryRun bool `json:"dry_run,omitempty" jsonschema:"apply_exclusion: check and return the snippet and file without writing"`
}

// ExclusionResult is the result of propose_exclusion, apply_exclusion and
// remove_exclusion.
type ExclusionResult struct {
	DryRun     bool        `json:"dry_run"`
	Applied    bool        `json:"applied" jsonschema:"the file was written, validated and the WAF reloaded"`
	File       string      `json:"file"`
	Snippet    string      `json:"snippet" jsonschema:"the exact file content written (empty for a removal)"`
	Replaced   string      `json:"replaced,omitempty" jsonschema:"what the file held before"`
	Rule       *RuleInfo   `json:"rule,omitempty" jsonschema:"the excluded rule, when found in the installed rule files"`
	Validate   *CommandRun `json:"validate,omitempty"`
	Reload     *CommandRun `json:"reload,omitempty"`
	RolledBack bool        `json:"rolled_back" jsonschema:"validation or reload failed and the previous file was put back"`
}

// RemoveIn is the input of remove_exclusion.
type RemoveIn struct {
	File   string `json:"file" jsonschema:"a managed exclusion file as list_exclusions names it (base name or full path)"`
	DryRun bool   `json:"dry_run,omitempty"`
}

// Exclusions is the result of list_exclusions.
type Exclusions struct {
	Dir   string          `json:"dir"`
	Files []ExclusionFile `json:"files"`
}

// Status is the result of status.
type Status struct {
	AuditLogs      []LogStatus `json:"audit_logs"`
	RuleFiles      int         `json:"rule_files" jsonschema:"installed rule files found"`
	Rules          int         `json:"rules" jsonschema:"SecRule and SecAction directives read (chains count once)"`
	RuleSetVersion string      `json:"rule_set_version,omitempty"`
	RuleFilesError string      `json:"rule_files_error,omitempty"`
	ExclusionsDir  string      `json:"exclusions_dir,omitempty"`
	ApplyEnabled   bool        `json:"apply_enabled" jsonschema:"false: apply_exclusion and remove_exclusion answer dry runs only"`
	ValidateCmd    []string    `json:"validate_command"`
	ReloadCmd      []string    `json:"reload_command"`
}

// LogStatus is one configured audit log.
type LogStatus struct {
	Path     string    `json:"path"`
	Readable bool      `json:"readable"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified,omitzero"`
	Error    string    `json:"error,omitempty"`
}

func (s *Server) addTools(srv *mcpx.Server) {
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "status", Title: "WAF server status", Hints: mcpx.ReadOnly,
		Description: "Which audit logs are configured and readable, how many installed rules explain_rule can read, and whether exclusions can be applied."},
		s.status)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "waf_events", Title: "WAF audit events", Hints: mcpx.ReadOnly,
		Description: "ModSecurity/Coraza audit records from the configured audit logs, newest first, with the matched rule ids, messages, matched data and inbound anomaly score; filtered by path, URI text, client address, rule id, minimum anomaly score, blocked or not, and time range."},
		s.queryEvents)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "top_attacked_uris", Title: "Top attacked URIs", Hints: mcpx.ReadOnly,
		Description: "Request paths ranked by transactions with WAF rule matches, with blocked counts, distinct clients, highest anomaly score and the most frequent rule ids."},
		s.topURIs)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "rule_stats", Title: "Rule hit statistics", Hints: mcpx.ReadOnly,
		Description: "WAF rules ranked by the transactions they matched in, with blocked counts, distinct clients and the paths they fire on most. A rule that fires often on one path for many clients is a false-positive candidate."},
		s.ruleStats)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "explain_rule", Title: "Explain a rule", Hints: mcpx.ReadOnly,
		Description: "Read a rule from the installed rule files (OWASP CRS): message, phase, severity, paranoia level, tags, what it inspects, its operator, transformations, anomaly points, and the file and line it is defined at."},
		s.explain)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "list_exclusions", Title: "List managed exclusions", Hints: mcpx.ReadOnly,
		Description: "The rule exclusion snippets this server manages in its exclusions directory, with their content."},
		s.listExclusions)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "propose_exclusion", Title: "Propose a rule exclusion", Hints: mcpx.ReadOnly,
		Description: "Build the ModSecurity snippet that stops a rule (or one target of it, e.g. ARGS:q) from firing, everywhere or only for request URIs under a path, and the file it would be written to. Changes nothing."},
		func(ctx context.Context, req *mcp.CallToolRequest, in Exclusion) (ExclusionResult, error) {
			return s.exclusion(ctx, req, ExclusionIn{Exclusion: in, DryRun: true})
		})
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "apply_exclusion", Title: "Apply a rule exclusion", Hints: mcpx.Destructive,
		Description: "Write a rule exclusion snippet (see propose_exclusion) atomically into the exclusions directory, run the validate command (a failure puts the previous file back) and reload the WAF. Disabled unless the server runs with --enable-apply; dry_run always works."},
		func(ctx context.Context, req *mcp.CallToolRequest, in ExclusionIn) (res ExclusionResult, err error) {
			if !in.DryRun {
				defer func() { err = s.record(req, "apply_exclusion", in, res, err) }()
			}
			return s.exclusion(ctx, req, in)
		})
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "remove_exclusion", Title: "Remove a rule exclusion", Hints: mcpx.Destructive,
		Description: "Delete a managed exclusion file, validate and reload the WAF (a failure puts the file back). Disabled unless the server runs with --enable-apply; dry_run always works."},
		func(ctx context.Context, req *mcp.CallToolRequest, in RemoveIn) (res ExclusionResult, err error) {
			if !in.DryRun {
				defer func() { err = s.record(req, "remove_exclusion", in, res, err) }()
			}
			return s.remove(ctx, in)
		})
}

func limitIn(v, def, most int) (int, error) {
	if v < 0 || v > most {
		return 0, fmt.Errorf("limit %d is out of range 0-%d", v, most)
	}
	if v == 0 {
		return def, nil
	}
	return v, nil
}

// parseTime reads an RFC 3339 time or a positive duration back from now.
func parseTime(name, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%s %q is neither an RFC 3339 time nor a positive duration such as 24h", name, v)
}

func (s *Server) timeRange(since, until string) (filter, error) {
	var f filter
	var err error
	now := s.now()
	if f.since, err = parseTime("since", since, now); err != nil {
		return f, err
	}
	if f.until, err = parseTime("until", until, now); err != nil {
		return f, err
	}
	if !f.since.IsZero() && !f.until.IsZero() && !f.since.Before(f.until) {
		return f, fmt.Errorf("since %s is not before until %s", f.since.Format(time.RFC3339), f.until.Format(time.RFC3339))
	}
	return f, nil
}

func (s *Server) collect(ctx context.Context, f filter) ([]Event, bool, error) {
	var evs []Event
	keep := func(e Event) {
		if f.match(e) {
			evs = append(evs, e)
		}
	}
	if s.events != nil {
		trunc, err := s.readStore(ctx, f, keep)
		return evs, trunc, err
	}
	trunc, err := readLogs(s.cfg.AuditLogs, keep)
	return evs, trunc, err
}

// maxStoreEvents bounds the events one call reads from the store.
const maxStoreEvents = 100000

// sources names where the events come from.
func (s *Server) sources() []string {
	if s.events != nil {
		return []string{"mcpsoc store (event.module:modsecurity)"}
	}
	return s.cfg.AuditLogs
}

// readStore pages through the store's ModSecurity events in the filter's
// time range (the last 24h when it has no start); it reports truncation
// past maxStoreEvents.
func (s *Server) readStore(ctx context.Context, f filter, fn func(Event)) (bool, error) {
	q := "event.module:modsecurity"
	if f.client != "" {
		q += " AND source.ip:" + f.client
	}
	parsed, err := query.Parse(q)
	if err != nil {
		return false, err
	}
	req := store.SearchRequest{Query: parsed, From: f.since, To: f.until, Limit: 1000}
	if req.From.IsZero() {
		req.From = s.now().Add(-24 * time.Hour)
	}
	return store.Each(ctx, s.events, req, maxStoreEvents, func(r store.Record) {
		if e, ok := fromEvent(r.Event, "store:"+r.ID); ok {
			fn(e)
		}
	})
}

func (s *Server) queryEvents(ctx context.Context, _ *mcp.CallToolRequest, in EventsIn) (Events, error) {
	limit, err := limitIn(in.Limit, 50, 500)
	if err != nil {
		return Events{}, err
	}
	f, err := s.timeRange(in.Since, in.Until)
	if err != nil {
		return Events{}, err
	}
	if in.MinScore < 0 || in.MinScore > 100000 {
		return Events{}, fmt.Errorf("min_anomaly_score %d is out of range 0-100000", in.MinScore)
	}
	if in.Path != "" && !strings.HasPrefix(in.Path, "/") {
		return Events{}, fmt.Errorf("path %q must start with /", in.Path)
	}
	if in.RuleID != "" && !ruleIDRe.MatchString(in.RuleID) {
		return Events{}, fmt.Errorf("rule_id %q is not a rule id (digits only)", in.RuleID)
	}
	if in.Client != "" {
		a, err := parseAddr(in.Client)
		if err != nil {
			return Events{}, err
		}
		f.client = a
	}
	f.pathPrefix, f.uriContains, f.ruleID, f.minScore, f.blockedOnly = in.Path, in.URIContains, in.RuleID, in.MinScore, in.BlockedOnly
	evs, trunc, err := s.collect(ctx, f)
	if err != nil {
		return Events{}, err
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.After(evs[j].Time) })
	out := Events{Logs: s.sources(), Matched: len(evs), Truncated: trunc, Events: evs}
	if len(out.Events) > limit {
		out.Events = out.Events[:limit]
	}
	if out.Events == nil {
		out.Events = []Event{}
	}
	return out, nil
}

func (s *Server) rangeFilter(in RangeIn) (filter, int, error) {
	limit, err := limitIn(in.Limit, 10, 200)
	if err != nil {
		return filter{}, 0, err
	}
	f, err := s.timeRange(in.Since, in.Until)
	if err != nil {
		return filter{}, 0, err
	}
	f.blockedOnly, f.matchedOnly = in.BlockedOnly, true
	return f, limit, nil
}

func (s *Server) topURIs(ctx context.Context, _ *mcp.CallToolRequest, in RangeIn) (TopURIs, error) {
	f, limit, err := s.rangeFilter(in)
	if err != nil {
		return TopURIs{}, err
	}
	evs, trunc, err := s.collect(ctx, f)
	if err != nil {
		return TopURIs{}, err
	}
	return TopURIs{Logs: s.sources(), Events: len(evs), Truncated: trunc, URIs: topURIs(evs, limit)}, nil
}

func (s *Server) ruleStats(ctx context.Context, _ *mcp.CallToolRequest, in RangeIn) (RuleStats, error) {
	f, limit, err := s.rangeFilter(in)
	if err != nil {
		return RuleStats{}, err
	}
	evs, trunc, err := s.collect(ctx, f)
	if err != nil {
		return RuleStats{}, err
	}
	return RuleStats{Logs: s.sources(), Events: len(evs), Truncated: trunc, Rules: ruleStats(evs, in.IncludeVerdict, limit)}, nil
}

// rules reads the installed rule files; none found is an error naming the
// globs.
func (s *Server) rules() (*ruleIndex, error) {
	idx, err := loadRules(s.cfg.RuleFiles)
	if err != nil {
		return nil, err
	}
	if len(idx.files) == 0 {
		return nil, fmt.Errorf("no rule files found at %s: install the Debian package modsecurity-crs or set --rule-files", strings.Join(s.cfg.RuleFiles, ", "))
	}
	return idx, nil
}

func (s *Server) explain(_ context.Context, _ *mcp.CallToolRequest, in ExplainIn) (Explained, error) {
	id := strings.TrimSpace(in.ID)
	if !ruleIDRe.MatchString(id) {
		return Explained{}, fmt.Errorf("id %q is not a rule id (digits only, e.g. 942100)", in.ID)
	}
	idx, err := s.rules()
	if err != nil {
		return Explained{}, err
	}
	r, ok := idx.byID[id]
	if !ok {
		return Explained{}, fmt.Errorf("rule %s is not defined in the %d installed rule files", id, len(idx.files))
	}
	out := Explained{Rule: r, RuleFiles: len(idx.files), Excluded: []string{}}
	if s.cfg.ExclusionsDir != "" {
		if fs, err := listExclusions(s.cfg.ExclusionsDir); err == nil {
			for _, f := range fs {
				if strings.Contains(f.Content, "# rule "+id+" ") {
					out.Excluded = append(out.Excluded, f.File)
				}
			}
		}
	}
	return out, nil
}

func (s *Server) status(_ context.Context, _ *mcp.CallToolRequest, _ none) (Status, error) {
	out := Status{AuditLogs: []LogStatus{}, ExclusionsDir: s.cfg.ExclusionsDir, ApplyEnabled: s.cfg.EnableApply,
		ValidateCmd: orEmpty(s.cfg.ValidateCommand), ReloadCmd: orEmpty(s.cfg.ReloadCommand)}
	for _, p := range s.cfg.AuditLogs {
		ls := LogStatus{Path: p}
		if f, err := os.Open(p); err != nil {
			ls.Error = err.Error()
		} else {
			if fi, err := f.Stat(); err == nil {
				ls.Readable, ls.Size, ls.Modified = true, fi.Size(), fi.ModTime().UTC()
			}
			f.Close()
		}
		out.AuditLogs = append(out.AuditLogs, ls)
	}
	idx, err := s.rules()
	if err != nil {
		out.RuleFilesError = err.Error()
		return out, nil
	}
	out.RuleFiles, out.Rules = len(idx.files), idx.rules
	for _, r := range idx.byID {
		if r.Version != "" {
			out.RuleSetVersion = r.Version
			break
		}
	}
	return out, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) listExclusions(_ context.Context, _ *mcp.CallToolRequest, _ none) (Exclusions, error) {
	if s.cfg.ExclusionsDir == "" {
		return Exclusions{}, errNoDir
	}
	fs, err := listExclusions(s.cfg.ExclusionsDir)
	if err != nil {
		return Exclusions{}, err
	}
	return Exclusions{Dir: s.cfg.ExclusionsDir, Files: fs}, nil
}

var (
	errNoDir    = errors.New("no exclusions directory is configured: start the server with --exclusions-dir (servers.waf.exclusions_dir)")
	errDisabled = errors.New("applying exclusions is disabled: start the server with --enable-apply (servers.waf.enable_apply), or call with dry_run")
)

func (s *Server) exclusion(ctx context.Context, req *mcp.CallToolRequest, in ExclusionIn) (ExclusionResult, error) {
	x := in.Exclusion
	if x.TransactionID != "" {
		if err := s.fromTransaction(ctx, &x); err != nil {
			return ExclusionResult{}, err
		}
	}
	if err := x.check(); err != nil {
		return ExclusionResult{}, err
	}
	if s.cfg.ExclusionsDir == "" {
		return ExclusionResult{}, errNoDir
	}
	if !in.DryRun && !s.cfg.EnableApply {
		return ExclusionResult{}, errDisabled
	}
	res := ExclusionResult{DryRun: in.DryRun, File: filepath.Join(s.cfg.ExclusionsDir, x.fileName())}
	// The rule should exist; an unknown id is most likely a typo.
	if idx, err := s.rules(); err == nil {
		r, ok := idx.byID[x.RuleID]
		if !ok {
			return res, fmt.Errorf("rule %s is not defined in the %d installed rule files: nothing to exclude", x.RuleID, len(idx.files))
		}
		res.Rule = &r
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if fi, err := os.Stat(s.cfg.ExclusionsDir); err != nil || !fi.IsDir() {
		return res, fmt.Errorf("exclusions directory %s is not a directory: %v", s.cfg.ExclusionsDir, err)
	}
	id, err := nextID(s.cfg.ExclusionsDir, res.File, s.cfg.RuleIDBase, ruleIDSpan)
	if err != nil {
		return res, err
	}
	who, _ := mcpx.Caller(req)
	res.Snippet = x.snippet(id, who, s.now())
	old, err := readOld(res.File)
	if err != nil {
		return res, err
	}
	res.Replaced = string(old)
	if in.DryRun {
		return res, nil
	}
	return s.change(ctx, res, old, []byte(res.Snippet))
}

// withinRe finds the variable in CRS logdata: "Matched Data: s&1c found
// within ARGS:id: 1' OR 1=1--".
var withinRe = regexp.MustCompile(`found within ([A-Z_]+(?::[A-Za-z0-9_.\-/\[\]]+)?): `)

// fromTransaction fills x from the audit record of x.TransactionID: the
// rule if not given (the record must have matched exactly one rule besides
// the CRS verdicts), the record's path and the variable the rule matched.
// Fields the caller gave win.
func (s *Server) fromTransaction(ctx context.Context, x *Exclusion) error {
	id := strings.TrimSpace(x.TransactionID)
	if len(id) > 128 || strings.ContainsAny(id, " \t\n") {
		return fmt.Errorf("transaction_id %q is not a transaction id", x.TransactionID)
	}
	evs, _, err := s.collect(ctx, filter{})
	if err != nil {
		return err
	}
	var ev *Event
	for i := range evs {
		if evs[i].ID == id {
			ev = &evs[i]
			break
		}
	}
	if ev == nil {
		return fmt.Errorf("transaction %s is not in %s", id, strings.Join(s.sources(), ", "))
	}
	var hits []RuleHit
	for _, h := range ev.Rules {
		if !verdictRules[h.ID] && (x.RuleID == "" || h.ID == x.RuleID) {
			hits = append(hits, h)
		}
	}
	switch {
	case len(hits) == 0 && x.RuleID != "":
		return fmt.Errorf("rule %s did not match in transaction %s", x.RuleID, id)
	case len(hits) == 0:
		return fmt.Errorf("transaction %s matched no rule besides the CRS verdicts", id)
	}
	if x.RuleID == "" {
		rules := map[string]bool{}
		for _, h := range hits {
			rules[h.ID] = true
		}
		if len(rules) > 1 {
			var list []string
			for r := range rules {
				list = append(list, r)
			}
			sort.Strings(list)
			return fmt.Errorf("transaction %s matched rules %s: give rule_id, one exclusion per rule", id, strings.Join(list, ", "))
		}
		x.RuleID = hits[0].ID
	}
	if x.Path == "" {
		x.Path = ev.Path
	}
	if x.Target == "" {
		// Only when every match of the rule was in the same variable.
		for i, h := range hits {
			m := withinRe.FindStringSubmatch(h.Data)
			if m == nil || (i > 0 && m[1] != x.Target) {
				x.Target = ""
				break
			}
			x.Target = m[1]
		}
	}
	return nil
}

// readOld returns a file's content, nil when it does not exist.
func readOld(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return b, nil
}

// change writes data to res.File (nil deletes it), validates and reloads,
// and puts old back when either fails.
func (s *Server) change(ctx context.Context, res ExclusionResult, old, data []byte) (ExclusionResult, error) {
	var err error
	if data == nil {
		err = os.Remove(res.File)
	} else {
		err = writeAtomic(res.File, data)
	}
	if err != nil {
		return res, fmt.Errorf("writing %s: %w", res.File, err)
	}
	rollback := func(why error) (ExclusionResult, error) {
		if rerr := restore(res.File, old); rerr != nil {
			return res, fmt.Errorf("%w; and putting the previous %s back failed: %v", why, res.File, rerr)
		}
		res.RolledBack = true
		return res, fmt.Errorf("%w; the previous %s was put back", why, res.File)
	}
	v, err := runCommand(ctx, s.cfg.ValidateCommand, s.cfg.Timeout)
	res.Validate = &v
	if err != nil {
		return rollback(fmt.Errorf("validation: %w", err))
	}
	if !v.OK {
		return rollback(fmt.Errorf("the WAF configuration does not validate with the change (exit %d): %s", v.ExitCode, lastLines(v.Output, 3)))
	}
	r, err := runCommand(ctx, s.cfg.ReloadCommand, s.cfg.Timeout)
	res.Reload = &r
	if err != nil {
		return rollback(fmt.Errorf("reload: %w", err))
	}
	if !r.OK {
		return rollback(fmt.Errorf("reloading the WAF failed (exit %d): %s", r.ExitCode, lastLines(r.Output, 3)))
	}
	res.Applied = true
	s.log.Info("waf configuration changed", "file", res.File, "removed", data == nil)
	return res, nil
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " | ")
}

func (s *Server) remove(ctx context.Context, in RemoveIn) (ExclusionResult, error) {
	if s.cfg.ExclusionsDir == "" {
		return ExclusionResult{}, errNoDir
	}
	name := filepath.Base(strings.TrimSpace(in.File))
	if in.File == "" || (filepath.IsAbs(in.File) && filepath.Dir(filepath.Clean(in.File)) != s.cfg.ExclusionsDir) {
		return ExclusionResult{}, fmt.Errorf("file %q is not in the exclusions directory %s", in.File, s.cfg.ExclusionsDir)
	}
	if ok, _ := filepath.Match("mcpsoc-exclusion-*.conf", name); !ok {
		return ExclusionResult{}, fmt.Errorf("file %q is not a managed exclusion (mcpsoc-exclusion-*.conf)", in.File)
	}
	if !in.DryRun && !s.cfg.EnableApply {
		return ExclusionResult{}, errDisabled
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res := ExclusionResult{DryRun: in.DryRun, File: filepath.Join(s.cfg.ExclusionsDir, name)}
	old, err := readOld(res.File)
	if err != nil {
		return res, err
	}
	if old == nil {
		return res, fmt.Errorf("%s does not exist", res.File)
	}
	res.Replaced = string(old)
	if in.DryRun {
		return res, nil
	}
	return s.change(ctx, res, old, nil)
}

// record writes a state-changing call to the audit log and returns the
// call's error.
func (s *Server) record(req *mcp.CallToolRequest, tool string, args any, res ExclusionResult, callErr error) error {
	if s.audit == nil {
		return callErr
	}
	ev := audit.Event{Kind: "waf." + tool, Method: "tools/call", Upstream: Name, Tool: tool, Decision: "allow"}
	ev.Subject, ev.Session = mcpx.Caller(req)
	if b, err := json.Marshal(args); err == nil {
		ev.Args = b
	}
	detail := map[string]any{"file": res.File, "applied": res.Applied, "rolled_back": res.RolledBack}
	if res.Snippet != "" {
		detail["snippet"] = res.Snippet
	}
	if res.Replaced != "" {
		detail["replaced"] = res.Replaced
	}
	if b, err := json.Marshal(detail); err == nil {
		ev.Detail = b
	}
	if errors.Is(callErr, errDisabled) {
		ev.Decision = "deny"
	}
	return audit.RecordOutcome(s.audit, ev, callErr)
}
