package cli

import (
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/servers/firewall"
	"github.com/spf13/cobra"
)

func init() { registerMCP("firewall", newMCPFirewallCmd) }

// newMCPFirewallCmd takes its settings from flags and the servers.firewall
// section of --config; the REST backends' API key and secret come from the
// config file only, never from the command line.
func newMCPFirewallCmd() *cobra.Command {
	var cfg firewall.Config
	var addr, level, auditPath, cfgPath, dataDir string
	var stateless, fromStore bool
	cmd := &cobra.Command{
		Use:   "firewall",
		Short: "Serve a firewall (nftables, iptables+ipset, OPNsense, pfSense) as MCP tools: block_ip, unblock_ip, list_blocks, status, log queries",
		Long: `Serve a firewall as MCP tools: status, list_blocks, block_ip and unblock_ip,
plus firewall_events, top_talkers and blocked_connections over firewall logs
(--log) or the events 'serve' stored (--store). Backends (--backend): nftables (default; one managed table, default
inet mcpsoc, with a set per address family whose element timeouts are the
blocks' TTLs), iptables (an ipset per family with element timeouts and a
managed chain jumped to from INPUT and FORWARD), opnsense and pfsense (an alias
updated over the appliance's REST API; TTLs tracked under --data-dir; the API
key and secret come from servers.firewall.api_key/api_secret in --config).
With no flags the server starts, lists its tools and answers dry runs;
--enable-actions lets it change the firewall. nft and iptables act in the
network namespace the server runs in.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath != "" {
				c, err := config.Load(cfgPath)
				if err != nil {
					return &ExitError{Code: 2, Err: err}
				}
				applyFirewallConfig(cmd, &cfg, &auditPath, c.Servers.Firewall)
				if cfg.DataDir == "" {
					cfg.DataDir = c.DataDir // the REST backends' TTL book
				}
			}
			log, record, closeAudit, err := openServerLog(level, auditPath)
			if err != nil {
				return err
			}
			defer closeAudit()
			opts := &firewall.Options{Logger: log.With("component", "servers.firewall"), Audit: record}
			if fromStore {
				// The log tools read the events 'serve' stored.
				st, err := openServerStore(cmd.Context(), cfgPath, dataDir, log)
				if err != nil {
					return err
				}
				defer st.Close()
				opts.Events = st
			}
			s, err := firewall.New(cfg, opts)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			defer s.Close()
			return serveKit(cmd, s.MCP(&mcpx.ServerOptions{Logger: log}), addr, stateless, 0)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfgPath, "config", "c", "", "YAML config `file`; its servers.firewall section configures the server (flags win)")
	f.StringVar(&cfg.NFT, "nft", "nft", "nft `binary` (name in PATH or path)")
	f.StringVar(&cfg.Table, "table", firewall.DefaultTable, "`name` of the managed inet table; no other table is touched")
	f.BoolVar(&cfg.EnableActions, "enable-actions", false, "allow block_ip and unblock_ip to change the ruleset (otherwise dry runs only)")
	f.BoolVar(&cfg.AllowPrivate, "allow-private", false, "permit blocking private (RFC 1918, 100.64/10) and ULA addresses")
	f.StringArrayVar(&cfg.AllowList, "allow", nil, "`CIDR` that is never blocked (repeatable)")
	f.DurationVar(&cfg.DefaultTTL, "default-ttl", firewall.DefaultTTL, "TTL of a block when the call gives none")
	f.DurationVar(&cfg.MinTTL, "min-ttl", firewall.DefaultMinTTL, "shortest TTL a block may have")
	f.DurationVar(&cfg.MaxTTL, "max-ttl", firewall.DefaultMaxTTL, "longest TTL a block may have")
	f.IntVar(&cfg.MaxElements, "max-elements", firewall.DefaultMaxElements, "most addresses per set (IPv4 and IPv6 each)")
	f.DurationVar(&cfg.Timeout, "timeout", firewall.DefaultTimeout, "limit for one nft run")
	f.StringArrayVar(&cfg.Logs, "log", nil, "firewall log `file` for firewall_events, top_talkers and blocked_connections (repeatable)")
	f.StringVar(&cfg.LogFormat, "log-format", "auto", "parser `format` of the firewall logs (netfilter, filterlog, ... or auto)")
	f.StringVar(&cfg.Backend, "backend", firewall.BackendNFT, "where blocks go: nftables, iptables, opnsense or pfsense")
	f.StringVar(&cfg.IPSet, "ipset", "ipset", "ipset `binary` (iptables backend)")
	f.StringVar(&cfg.IPTables, "iptables", "iptables", "iptables `binary` (iptables backend)")
	f.StringVar(&cfg.IP6Tables, "ip6tables", "ip6tables", "ip6tables `binary` (iptables backend)")
	f.StringVar(&cfg.URL, "url", "", "appliance base `URL` (opnsense and pfsense backends)")
	f.StringVar(&cfg.Alias, "alias", firewall.DefaultAlias, "appliance alias `name` blocks are added to")
	f.StringVar(&cfg.CAFile, "ca-file", "", "PEM `file` of the CA that signed the appliance's certificate")
	f.BoolVar(&cfg.AllowHTTP, "allow-http", false, "permit a plain-http appliance URL (lab only: the API key travels in clear)")
	f.StringVar(&cfg.DataDir, "data-dir", "", "`directory` of the REST backends' TTL book (default: the config's data_dir)")
	f.DurationVar(&cfg.SweepInterval, "sweep-interval", firewall.DefaultSweep, "how often expired REST blocks are removed")
	f.BoolVar(&fromStore, "store", false, "read firewall events from the MCPSoc store (--config, --data) instead of --log files")
	f.StringVar(&dataDir, "data", "", "data `directory` of the store (overrides data_dir)")
	f.StringVar(&auditPath, "audit", "", "append block_ip and unblock_ip calls to this audit log `file`")
	f.StringVar(&addr, "http", "", "serve Streamable HTTP on this loopback `address` instead of stdio")
	f.BoolVar(&stateless, "stateless", false, "serve HTTP without sessions for every protocol revision")
	f.StringVar(&level, "log-level", "warn", "log `level` on stderr")
	return cmd
}

// applyFirewallConfig fills, from the servers.firewall section, every
// setting the command line did not give; zero values keep the defaults.
func applyFirewallConfig(cmd *cobra.Command, cfg *firewall.Config, auditPath *string, c config.FirewallServer) {
	fill(cmd, "nft", &cfg.NFT, c.NFT)
	fill(cmd, "table", &cfg.Table, c.Table)
	fill(cmd, "log-format", &cfg.LogFormat, c.LogFormat)
	fill(cmd, "audit", auditPath, c.Audit)
	fill(cmd, "default-ttl", &cfg.DefaultTTL, c.DefaultTTL)
	fill(cmd, "min-ttl", &cfg.MinTTL, c.MinTTL)
	fill(cmd, "max-ttl", &cfg.MaxTTL, c.MaxTTL)
	fill(cmd, "timeout", &cfg.Timeout, c.Timeout)
	fill(cmd, "enable-actions", &cfg.EnableActions, c.EnableActions)
	fill(cmd, "allow-private", &cfg.AllowPrivate, c.AllowPrivate)
	fillList(cmd, "allow", &cfg.AllowList, c.AllowList)
	fillList(cmd, "log", &cfg.Logs, c.Logs)
	fill(cmd, "max-elements", &cfg.MaxElements, c.MaxElements)
	fill(cmd, "backend", &cfg.Backend, c.Backend)
	fill(cmd, "ipset", &cfg.IPSet, c.IPSet)
	fill(cmd, "iptables", &cfg.IPTables, c.IPTables)
	fill(cmd, "ip6tables", &cfg.IP6Tables, c.IP6Tables)
	fill(cmd, "url", &cfg.URL, c.URL)
	fill(cmd, "alias", &cfg.Alias, c.Alias)
	fill(cmd, "ca-file", &cfg.CAFile, c.CAFile)
	fill(cmd, "allow-http", &cfg.AllowHTTP, c.AllowHTTP)
	fill(cmd, "data-dir", &cfg.DataDir, c.DataDir)
	fill(cmd, "sweep-interval", &cfg.SweepInterval, c.SweepInterval)
	cfg.APIKey, cfg.APISecret = c.APIKey, c.APISecret
}
