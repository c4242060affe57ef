package firewall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Name and Version identify the server.
const (
	Name    = "mcpsoc-firewall"
	Version = "1.0.0"
)

// Defaults for the zero Config.
const (
	DefaultTable       = "mcpsoc"
	DefaultTTL         = time.Hour
	DefaultMinTTL      = time.Minute
	DefaultMaxTTL      = 30 * 24 * time.Hour
	DefaultMaxElements = 65536
	DefaultTimeout     = 10 * time.Second
	DefaultAlias       = "mcpsoc_block"
	DefaultSweep       = 10 * time.Second
)

// Config is the firewall server's configuration, meant as the
// servers.firewall section of the YAML tree. The zero value is valid: the
// tools are listed, block_ip and unblock_ip answer dry runs only, and a
// missing nft is reported by each tool.
type Config struct {
	// NFT is the nft binary, a name looked up in PATH or a path; "nft" by
	// default.
	NFT string `yaml:"nft,omitempty"`
	// Table is the name of the managed inet table ("mcpsoc"). The server
	// creates it on first use and never touches any other table.
	Table string `yaml:"table,omitempty"`
	// EnableActions lets block_ip and unblock_ip change the ruleset;
	// without it they only answer dry runs.
	EnableActions bool `yaml:"enable_actions,omitempty"`
	// AllowPrivate permits blocking private (RFC 1918, RFC 6598) and ULA
	// addresses. Loopback, link-local, multicast and unspecified addresses
	// are always refused.
	AllowPrivate bool `yaml:"allow_private,omitempty"`
	// AllowList are CIDRs that are never blocked: the SOC's own hosts,
	// jump boxes, upstream resolvers.
	AllowList []string `yaml:"allow_list,omitempty"`
	// DefaultTTL applies when block_ip gives none (1h).
	DefaultTTL time.Duration `yaml:"default_ttl,omitempty"`
	// MinTTL and MaxTTL bound the TTL of a block (1m and 30d).
	MinTTL time.Duration `yaml:"min_ttl,omitempty"`
	MaxTTL time.Duration `yaml:"max_ttl,omitempty"`
	// MaxElements caps each set (IPv4 and IPv6) and is the set's kernel
	// size too (65536).
	MaxElements int `yaml:"max_elements,omitempty"`
	// Timeout bounds one nft run (10s).
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// Logs are firewall log files read by firewall_events, top_talkers and
	// blocked_connections: kernel LOG lines (iptables, nftables "log
	// prefix", ufw) or any other firewall format the parsers know.
	Logs []string `yaml:"logs,omitempty"`
	// LogFormat is the parser for Logs ("auto" detects per line).
	LogFormat string `yaml:"log_format,omitempty"`

	// Backend is where blocks go: "nftables" (default), "iptables"
	// (iptables+ipset), "opnsense" or "pfsense" (an alias over the
	// appliance's REST API).
	Backend string `yaml:"backend,omitempty" json:"backend,omitempty"`
	// IPSet, IPTables and IP6Tables are the iptables backend's binaries
	// ("ipset", "iptables", "ip6tables"). Its sets are Table+"4" and
	// Table+"6", its chain the upper-cased Table.
	IPSet     string `yaml:"ipset,omitempty" json:"ipset,omitempty"`
	IPTables  string `yaml:"iptables,omitempty" json:"iptables,omitempty"`
	IP6Tables string `yaml:"ip6tables,omitempty" json:"ip6tables,omitempty"`
	// URL is the REST backends' base address (https://fw.example.net).
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// Alias is the appliance alias blocks are added to ("mcpsoc_block");
	// a firewall rule on the appliance must drop traffic from it.
	Alias string `yaml:"alias,omitempty" json:"alias,omitempty"`
	// APIKey (and APISecret for OPNsense) authenticate to the appliance.
	APIKey    config.Secret `yaml:"api_key,omitempty" json:"-"`
	APISecret config.Secret `yaml:"api_secret,omitempty" json:"-"`
	// CAFile verifies the appliance's certificate (system roots when empty).
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// AllowHTTP permits a plain-http URL (a lab appliance).
	AllowHTTP bool `yaml:"allow_http,omitempty" json:"allow_http,omitempty"`
	// DataDir holds the REST backends' TTL book
	// (firewall-BACKEND-ALIAS.json); required for them.
	DataDir string `yaml:"data_dir,omitempty" json:"data_dir,omitempty"`
	// SweepInterval is how often expired REST blocks are removed (10s).
	SweepInterval time.Duration `yaml:"sweep_interval,omitempty" json:"sweep_interval,omitempty"`
}

// Options are the server's collaborators. Nil means defaults.
type Options struct {
	Logger *slog.Logger
	// Audit records block_ip and unblock_ip calls that are not dry runs
	// (who, what, outcome). Nil records nothing.
	Audit func(audit.Event) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Events is the MCPSoc event store. When set, the log tools read
	// network events from it (the last 24h unless since says otherwise)
	// instead of the log files.
	Events EventStore
}

// EventStore is what the server reads of the MCPSoc store.
type EventStore = store.Searcher

// Server is the firewall server's state behind its tools. Its methods are
// safe for concurrent use.
type Server struct {
	cfg    Config
	be     backend
	events EventStore
	guard  guard
	ttl    ttlBounds
	log    *slog.Logger
	audit  func(audit.Event) error
	now    func() time.Time
	mu     sync.Mutex // serializes read-modify-write of the sets
}

// New validates cfg and builds the server. Errors are configuration
// mistakes; a missing nft is not one, it is reported by the tools.
func New(cfg Config, opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	if cfg.NFT == "" {
		cfg.NFT = "nft"
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if err := checkTable(cfg.Table); err != nil {
		return nil, err
	}
	if cfg.DefaultTTL == 0 {
		cfg.DefaultTTL = DefaultTTL
	}
	if cfg.MinTTL == 0 {
		cfg.MinTTL = DefaultMinTTL
	}
	if cfg.MaxTTL == 0 {
		cfg.MaxTTL = DefaultMaxTTL
	}
	if cfg.MinTTL < time.Second || cfg.MinTTL > cfg.MaxTTL {
		return nil, fmt.Errorf("min_ttl %s must be at least 1s and at most max_ttl %s", cfg.MinTTL, cfg.MaxTTL)
	}
	if cfg.DefaultTTL < cfg.MinTTL || cfg.DefaultTTL > cfg.MaxTTL {
		return nil, fmt.Errorf("default_ttl %s is outside min_ttl %s to max_ttl %s", cfg.DefaultTTL, cfg.MinTTL, cfg.MaxTTL)
	}
	if cfg.MaxElements == 0 {
		cfg.MaxElements = DefaultMaxElements
	}
	if cfg.MaxElements < 1 || cfg.MaxElements > 1<<24 {
		return nil, fmt.Errorf("max_elements %d is out of range 1-16777216", cfg.MaxElements)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.LogFormat == "" {
		cfg.LogFormat = "auto"
	}
	if _, err := parse.New(cfg.LogFormat, &parse.Config{}); err != nil {
		return nil, fmt.Errorf("log_format %q: %w", cfg.LogFormat, err)
	}
	allow, err := parseAllowList(cfg.AllowList)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:   cfg,
		guard: guard{allowPrivate: cfg.AllowPrivate, allowList: allow},
		ttl:   ttlBounds{def: cfg.DefaultTTL, min: cfg.MinTTL, max: cfg.MaxTTL},
		log:   opts.Logger, audit: opts.Audit, now: opts.Now, events: opts.Events,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	switch cfg.Backend {
	case "", BackendNFT:
		s.cfg.Backend = BackendNFT
		s.be = nftBackend{&nft{bin: cfg.NFT, table: cfg.Table, size: cfg.MaxElements, timeout: cfg.Timeout}}
	case BackendIPTables:
		if len(cfg.Table) > 28 {
			return nil, fmt.Errorf("table name %q: the iptables backend needs at most 28 characters (ipset and chain names)", cfg.Table)
		}
		if s.cfg.IPSet == "" {
			s.cfg.IPSet = "ipset"
		}
		if s.cfg.IPTables == "" {
			s.cfg.IPTables = "iptables"
		}
		if s.cfg.IP6Tables == "" {
			s.cfg.IP6Tables = "ip6tables"
		}
		s.be = newIPT(s.cfg)
	case BackendOPNsense, BackendPFSense:
		if s.cfg.Alias == "" {
			s.cfg.Alias = DefaultAlias
		}
		if s.cfg.SweepInterval == 0 {
			s.cfg.SweepInterval = DefaultSweep
		}
		if s.cfg.SweepInterval < 100*time.Millisecond {
			return nil, fmt.Errorf("sweep_interval %s is below 100ms", s.cfg.SweepInterval)
		}
		rb, err := newREST(s.cfg, s.now)
		if err != nil {
			return nil, err
		}
		rb.startSweeper(s.cfg.SweepInterval)
		s.be = rb
	default:
		return nil, fmt.Errorf("backend %q is not one of nftables, iptables, opnsense, pfsense", cfg.Backend)
	}
	return s, nil
}

// Close stops the server's background work (the REST backends' expiry
// sweep). Blocks stay in place.
func (s *Server) Close() { s.be.close() }

// MCP builds the MCP server exposing s's tools.
func (s *Server) MCP(opts *mcpx.ServerOptions) *mcpx.Server {
	if opts == nil {
		opts = &mcpx.ServerOptions{Logger: s.log}
	}
	if opts.Instructions == "" {
		opts.Instructions = "Firewall response actions (backend: " + s.cfg.Backend + ", " + s.be.where() + "). Call status first. " +
			"block_ip drops all traffic from an address for a TTL; call it with dry_run first, give a reason, " +
			"and prefer short TTLs. Loopback, link-local, multicast, private (unless permitted) and allow-listed addresses are refused."
	}
	srv := mcpx.NewServer(Name, Version, opts)
	s.addTools(srv)
	return srv
}

type none struct{}

// Block is one blocked address.
type Block struct {
	IP         string    `json:"ip"`
	Family     string    `json:"family" jsonschema:"ipv4 or ipv6"`
	TTLSeconds int64     `json:"ttl_seconds" jsonschema:"the TTL the block was created with (0: none)"`
	Remaining  int64     `json:"remaining_seconds" jsonschema:"seconds until the kernel lifts the block"`
	Expires    time.Time `json:"expires,omitzero" jsonschema:"when the block ends"`
	Reason     string    `json:"reason,omitempty"`
}

// BlockIn is the input of block_ip.
type BlockIn struct {
	IP     string `json:"ip" jsonschema:"the IPv4 or IPv6 address to block (one address, no prefix)"`
	TTL    string `json:"ttl,omitempty" jsonschema:"how long: a duration such as 30m, 12h or 7d (default from the server config)"`
	Reason string `json:"reason,omitempty" jsonschema:"why (kept with the block as its nft comment and in the audit log); printable ASCII without quotes, at most 120 bytes"`
	DryRun bool   `json:"dry_run,omitempty" jsonschema:"check and return the nft commands and the resulting state without running them"`
}

// UnblockIn is the input of unblock_ip.
type UnblockIn struct {
	IP     string `json:"ip" jsonschema:"the blocked address to release"`
	DryRun bool   `json:"dry_run,omitempty" jsonschema:"check and return the nft commands and the resulting state without running them"`
}

// ChangeResult is the result of block_ip and unblock_ip.
type ChangeResult struct {
	DryRun     bool     `json:"dry_run"`
	IP         string   `json:"ip"`
	Table      string   `json:"table"`
	Set        string   `json:"set"`
	Commands   []string `json:"commands" jsonschema:"exactly what the backend runs: nft commands (one transaction with nft -f -), ipset/iptables commands in order, or REST requests"`
	Replaced   *Block   `json:"replaced,omitempty" jsonschema:"the block this call replaced or removed"`
	Block      *Block   `json:"block,omitempty" jsonschema:"the block after this call (block_ip)"`
	Blocks     []Block  `json:"blocks" jsonschema:"every block after this call (predicted in a dry run)"`
	DurationMS float64  `json:"duration_ms" jsonschema:"time the backend took to apply the change"`
}

// ListBlocks is the result of list_blocks.
type ListBlocks struct {
	Table        string  `json:"table"`
	TablePresent bool    `json:"table_present" jsonschema:"false until the first block creates the table"`
	Count        int     `json:"count"`
	Blocks       []Block `json:"blocks"`
}

// Status is the result of status.
type Status struct {
	Backend        string   `json:"backend" jsonschema:"nftables, iptables, opnsense or pfsense"`
	BackendVersion string   `json:"backend_version"`
	NFT            string   `json:"nft,omitempty" jsonschema:"the nft binary (nftables backend)"`
	NFTVersion     string   `json:"nft_version,omitempty"`
	Reachable      bool     `json:"reachable" jsonschema:"the backend answered and its block list could be read"`
	Table          string   `json:"table"`
	TablePresent   bool     `json:"table_present"`
	TableComplete  bool     `json:"table_complete" jsonschema:"every managed object exists (sets, chains and jumps; the alias)"`
	IPv4Blocks     int      `json:"ipv4_blocks"`
	IPv6Blocks     int      `json:"ipv6_blocks"`
	MaxElements    int      `json:"max_elements" jsonschema:"cap per set"`
	ActionsEnabled bool     `json:"actions_enabled" jsonschema:"false: block_ip and unblock_ip answer dry runs only"`
	AllowPrivate   bool     `json:"allow_private"`
	AllowList      []string `json:"allow_list"`
	MinTTL         string   `json:"min_ttl"`
	MaxTTL         string   `json:"max_ttl"`
	DefaultTTL     string   `json:"default_ttl"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (s *Server) addTools(srv *mcpx.Server) {
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "status", Title: "Firewall status", Hints: mcpx.ReadOnly,
		Description: "Which backend is used (nftables, iptables+ipset, OPNsense or pfSense alias), whether it answers and its block list can be read, whether the managed objects exist, how many addresses are blocked, and the server's guards (actions enabled, allow-list, TTL bounds)."},
		s.status)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "list_blocks", Title: "List blocked addresses", Hints: mcpx.ReadOnly,
		Description: "Addresses blocked by the managed block list (nftables set, ipset or appliance alias) with their TTL, remaining time and reason."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ none) (ListBlocks, error) {
			st, err := s.be.list(ctx)
			if err != nil {
				return ListBlocks{}, err
			}
			bs := s.toBlocks(st.blocks())
			return ListBlocks{Table: s.be.where(), TablePresent: st.Present, Count: len(bs), Blocks: bs}, nil
		})
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "block_ip", Title: "Block an IP address", Hints: mcpx.Destructive,
		Description: "Drop all inbound and forwarded traffic from one address for a TTL (nftables and ipset: an element timeout, the kernel lifts the block on time; OPNsense/pfSense: an alias entry the server removes when its TTL, kept under data_dir, ends). Blocking an address again replaces its TTL and reason. Refuses loopback, link-local, multicast, unspecified, allow-listed and (unless permitted) private addresses. Disabled unless the server runs with --enable-actions; dry_run always works and returns the exact commands or API requests."},
		s.blockIP)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "unblock_ip", Title: "Unblock an IP address", Hints: mcpx.Destructive,
		Description: "Lift a block before its TTL ends. Disabled unless the server runs with --enable-actions; dry_run always works and returns the exact commands or API requests."},
		s.unblockIP)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "firewall_events", Title: "Firewall events", Hints: mcpx.ReadOnly,
		Description: "Firewall log events (kernel LOG lines from iptables/nftables/ufw and other firewall formats) from the configured log files, newest first, filtered by address, verdict, destination port and time."},
		s.firewallEvents)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "top_talkers", Title: "Top talkers", Hints: mcpx.ReadOnly,
		Description: "Source addresses with the most firewall log events (or denied events only), with their most targeted ports, first and last seen, and whether they are blocked now."},
		s.topTalkers)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "blocked_connections", Title: "Blocked connections for an address", Hints: mcpx.ReadOnly,
		Description: "Connections the firewall blocked or rejected to or from one address, newest first, and whether the address is in the managed block list now."},
		s.blockedConnections)
}

// EventsIn is the input of firewall_events.
type EventsIn struct {
	IP         string `json:"ip,omitempty" jsonschema:"only events with this source or destination address"`
	DeniedOnly bool   `json:"denied_only,omitempty" jsonschema:"only blocked or rejected packets"`
	DstPort    int    `json:"destination_port,omitempty" jsonschema:"only this destination port"`
	Since      string `json:"since,omitempty" jsonschema:"only events after this time: RFC 3339 or a duration back from now (24h)"`
	Limit      int    `json:"limit,omitempty" jsonschema:"at most this many events, newest first (default 100, at most 1000)"`
}

// Events is the result of firewall_events and blocked_connections.
type Events struct {
	Logs      []string        `json:"logs"`
	Matched   int             `json:"matched" jsonschema:"events matching the filter (before limit)"`
	Truncated bool            `json:"truncated" jsonschema:"true when only the end of a large log was read"`
	Blocked   *bool           `json:"blocked,omitempty" jsonschema:"blocked_connections: the address is in the managed block list now (absent when nft cannot be asked)"`
	Events    []FirewallEvent `json:"events"`
}

// TalkersIn is the input of top_talkers.
type TalkersIn struct {
	DeniedOnly bool   `json:"denied_only,omitempty" jsonschema:"count only blocked or rejected packets"`
	Since      string `json:"since,omitempty" jsonschema:"only events after this time: RFC 3339 or a duration back from now (24h)"`
	Limit      int    `json:"limit,omitempty" jsonschema:"at most this many sources (default 10, at most 100)"`
}

// Talkers is the result of top_talkers.
type Talkers struct {
	Logs       []string `json:"logs"`
	Events     int      `json:"events" jsonschema:"events counted"`
	Truncated  bool     `json:"truncated"`
	BlockState string   `json:"block_state,omitempty" jsonschema:"why blocked is unknown, when nft cannot be asked"`
	Talkers    []Talker `json:"talkers"`
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

func (s *Server) query(ctx context.Context, f eventFilter, limit int) (Events, error) {
	var evs []FirewallEvent
	trunc, err := s.readEvents(ctx, f, func(e FirewallEvent) {
		if f.match(e) {
			evs = append(evs, e)
		}
	})
	if err != nil {
		return Events{}, err
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].Time.After(evs[j].Time) })
	out := Events{Logs: s.sources(), Matched: len(evs), Truncated: trunc, Events: evs}
	if len(out.Events) > limit {
		out.Events = out.Events[:limit]
	}
	if out.Events == nil {
		out.Events = []FirewallEvent{}
	}
	return out, nil
}

func (s *Server) firewallEvents(ctx context.Context, _ *mcp.CallToolRequest, in EventsIn) (Events, error) {
	limit, err := limitIn(in.Limit, 100, 1000)
	if err != nil {
		return Events{}, err
	}
	f := eventFilter{deniedOnly: in.DeniedOnly, dport: in.DstPort}
	if in.DstPort < 0 || in.DstPort > 65535 {
		return Events{}, fmt.Errorf("destination_port %d is out of range 1-65535", in.DstPort)
	}
	if in.IP != "" {
		if f.ip, err = parseIP(in.IP); err != nil {
			return Events{}, err
		}
	}
	if f.since, err = parseSince(in.Since, s.now()); err != nil {
		return Events{}, err
	}
	return s.query(ctx, f, limit)
}

// BlockedIn is the input of blocked_connections.
type BlockedIn struct {
	IP    string `json:"ip" jsonschema:"the address"`
	Since string `json:"since,omitempty" jsonschema:"only events after this time: RFC 3339 or a duration back from now (24h)"`
	Limit int    `json:"limit,omitempty" jsonschema:"at most this many events, newest first (default 100, at most 1000)"`
}

func (s *Server) blockedConnections(ctx context.Context, _ *mcp.CallToolRequest, in BlockedIn) (Events, error) {
	limit, err := limitIn(in.Limit, 100, 1000)
	if err != nil {
		return Events{}, err
	}
	a, err := parseIP(in.IP)
	if err != nil {
		return Events{}, err
	}
	f := eventFilter{ip: a, deniedOnly: true}
	if f.since, err = parseSince(in.Since, s.now()); err != nil {
		return Events{}, err
	}
	out, err := s.query(ctx, f, limit)
	if err != nil {
		return Events{}, err
	}
	if st, err := s.be.list(ctx); err == nil {
		_, blocked := st.find(a)
		out.Blocked = &blocked
	}
	return out, nil
}

func (s *Server) topTalkers(ctx context.Context, _ *mcp.CallToolRequest, in TalkersIn) (Talkers, error) {
	limit, err := limitIn(in.Limit, 10, 100)
	if err != nil {
		return Talkers{}, err
	}
	f := eventFilter{deniedOnly: in.DeniedOnly}
	if f.since, err = parseSince(in.Since, s.now()); err != nil {
		return Talkers{}, err
	}
	var evs []FirewallEvent
	trunc, err := s.readEvents(ctx, f, func(e FirewallEvent) {
		if f.match(e) {
			evs = append(evs, e)
		}
	})
	if err != nil {
		return Talkers{}, err
	}
	out := Talkers{Logs: s.sources(), Events: len(evs), Truncated: trunc, Talkers: topTalkers(evs, limit)}
	st, err := s.be.list(ctx)
	if err != nil {
		out.BlockState = err.Error()
		return out, nil
	}
	for i := range out.Talkers {
		if a, err := netip.ParseAddr(out.Talkers[i].IP); err == nil {
			_, out.Talkers[i].Blocked = st.find(a)
		}
	}
	return out, nil
}

func (s *Server) status(ctx context.Context, _ *mcp.CallToolRequest, _ none) (Status, error) {
	out := Status{Backend: s.cfg.Backend, Table: s.be.where(), MaxElements: s.cfg.MaxElements,
		ActionsEnabled: s.cfg.EnableActions, AllowPrivate: s.cfg.AllowPrivate, AllowList: []string{},
		MinTTL: s.cfg.MinTTL.String(), MaxTTL: s.cfg.MaxTTL.String(), DefaultTTL: s.cfg.DefaultTTL.String()}
	for _, p := range s.guard.allowList {
		out.AllowList = append(out.AllowList, p.String())
	}
	if s.cfg.Backend == BackendNFT {
		out.NFT = s.cfg.NFT
	}
	v, err := s.be.version(ctx)
	if err != nil {
		return out, err
	}
	out.BackendVersion = v
	if s.cfg.Backend == BackendNFT {
		out.NFTVersion = v
	}
	st, err := s.be.list(ctx)
	if err != nil {
		return out, err
	}
	out.Reachable, out.TablePresent, out.TableComplete = true, st.Present, s.be.complete(st)
	out.IPv4Blocks, out.IPv6Blocks = len(st.Sets[set4].Elems), len(st.Sets[set6].Elems)
	return out, nil
}

func (s *Server) toBlocks(es []element) []Block {
	out := make([]Block, 0, len(es))
	now := s.now()
	for _, e := range es {
		out = append(out, s.toBlock(e, now))
	}
	return out
}

func (s *Server) toBlock(e element, now time.Time) Block {
	b := Block{IP: e.Addr.String(), Family: "ipv6", TTLSeconds: int64(e.Timeout / time.Second),
		Remaining: int64(e.Expires / time.Second), Reason: e.Comment}
	if e.Addr.Is4() {
		b.Family = "ipv4"
	}
	if e.Timeout > 0 {
		b.Expires = now.Add(e.Expires).UTC().Truncate(time.Second)
	}
	return b
}

var errDisabled = errors.New("firewall actions are disabled: start the server with --enable-actions (servers.firewall.enable_actions), or call with dry_run")

func (s *Server) blockIP(ctx context.Context, req *mcp.CallToolRequest, in BlockIn) (res ChangeResult, err error) {
	if !in.DryRun {
		defer func() { err = s.record(req, "block_ip", in, res, err) }()
	}
	a, err := parseIP(in.IP)
	if err != nil {
		return ChangeResult{}, err
	}
	if err := s.guard.check(a); err != nil {
		return ChangeResult{}, err
	}
	ttl, err := s.ttl.parse(in.TTL)
	if err != nil {
		return ChangeResult{}, err
	}
	reason := strings.TrimSpace(in.Reason)
	if err := checkReason(reason); err != nil {
		return ChangeResult{}, err
	}
	if !in.DryRun && !s.cfg.EnableActions {
		return ChangeResult{}, errDisabled
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.be.list(ctx)
	if err != nil {
		return ChangeResult{}, err
	}
	res = ChangeResult{DryRun: in.DryRun, IP: a.String(), Table: s.be.where(), Set: s.be.setName(a),
		Commands: s.be.blockCommands(st, a, ttl, reason)}
	now := s.now()
	old, had := st.find(a)
	if had {
		b := s.toBlock(old, now)
		res.Replaced = &b
	} else if n := len(st.Sets[setFor(a)].Elems); n >= s.cfg.MaxElements {
		return res, fmt.Errorf("the %s set is full (%d of %d elements): unblock addresses or raise --max-elements", setFor(a), n, s.cfg.MaxElements)
	}
	if in.DryRun {
		st.put(element{Addr: a, Timeout: ttl, Expires: ttl, Comment: reason})
		res.Blocks = s.toBlocks(st.blocks())
		b := s.toBlock(element{Addr: a, Timeout: ttl, Expires: ttl, Comment: reason}, now)
		res.Block = &b
		return res, nil
	}
	start := time.Now()
	if err := s.be.block(ctx, st, a, ttl, reason); err != nil {
		return res, fmt.Errorf("blocking %s: %w", a, err)
	}
	res.DurationMS = ms(time.Since(start))
	s.log.Info("address blocked", "ip", a.String(), "ttl", ttl.String(), "reason", reason)
	if st, err = s.be.list(ctx); err != nil {
		return res, fmt.Errorf("the block of %s is applied but reading it back failed: %w", a, err)
	}
	res.Blocks = s.toBlocks(st.blocks())
	if e, ok := st.find(a); ok {
		b := s.toBlock(e, s.now())
		res.Block = &b
	}
	return res, nil
}

func (s *Server) unblockIP(ctx context.Context, req *mcp.CallToolRequest, in UnblockIn) (res ChangeResult, err error) {
	if !in.DryRun {
		defer func() { err = s.record(req, "unblock_ip", in, res, err) }()
	}
	a, err := parseIP(in.IP)
	if err != nil {
		return ChangeResult{}, err
	}
	if !in.DryRun && !s.cfg.EnableActions {
		return ChangeResult{}, errDisabled
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.be.list(ctx)
	if err != nil {
		return ChangeResult{}, err
	}
	res = ChangeResult{DryRun: in.DryRun, IP: a.String(), Table: s.be.where(), Set: s.be.setName(a),
		Commands: s.be.unblockCommands(st, a)}
	old, had := st.find(a)
	if !had {
		return res, fmt.Errorf("%s is not blocked in %s", a, s.be.where())
	}
	b := s.toBlock(old, s.now())
	res.Replaced = &b
	if in.DryRun {
		st.remove(a)
		res.Blocks = s.toBlocks(st.blocks())
		return res, nil
	}
	start := time.Now()
	if err := s.be.unblock(ctx, st, a); err != nil {
		return res, fmt.Errorf("unblocking %s: %w", a, err)
	}
	res.DurationMS = ms(time.Since(start))
	s.log.Info("address unblocked", "ip", a.String())
	if st, err = s.be.list(ctx); err != nil {
		return res, fmt.Errorf("%s is unblocked but reading the block list back failed: %w", a, err)
	}
	res.Blocks = s.toBlocks(st.blocks())
	return res, nil
}

// put adds or replaces e in the state (dry-run prediction).
func (st *state) put(e element) {
	st.remove(e.Addr)
	name := setFor(e.Addr)
	ss := st.Sets[name]
	ss.Elems = append(ss.Elems, e)
	st.Sets[name] = ss
}

// remove drops a from the state (dry-run prediction).
func (st *state) remove(a netip.Addr) {
	name := setFor(a)
	ss := st.Sets[name]
	// Clone first: the slice may share its array with the parsed state.
	ss.Elems = slices.DeleteFunc(slices.Clone(ss.Elems), func(e element) bool { return e.Addr == a })
	st.Sets[name] = ss
}

// record writes a state-changing call to the audit log and returns the
// call's error. A failed audit write is reported to the caller, since the
// action may have happened without its record.
func (s *Server) record(req *mcp.CallToolRequest, tool string, args any, res ChangeResult, callErr error) error {
	if s.audit == nil {
		return callErr
	}
	ev := audit.Event{Kind: "firewall." + strings.TrimSuffix(tool, "_ip"), Method: "tools/call", Upstream: Name, Tool: tool, Decision: "allow"}
	ev.Subject, ev.Session = mcpx.Caller(req)
	if b, err := json.Marshal(args); err == nil {
		ev.Args = b
	}
	detail := map[string]any{"backend": s.cfg.Backend, "table": s.be.where()}
	if len(res.Commands) > 0 {
		detail["commands"] = res.Commands
	}
	if res.Block != nil {
		detail["block"] = res.Block
	}
	if res.Replaced != nil {
		detail["replaced"] = res.Replaced
	}
	if b, err := json.Marshal(detail); err == nil {
		ev.Detail = b
	}
	var re *RefusedError
	if callErr != nil && (errors.Is(callErr, errDisabled) || errors.As(callErr, &re)) {
		ev.Decision = "deny"
	}
	return audit.RecordOutcome(s.audit, ev, callErr)
}
