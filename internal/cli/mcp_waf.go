package cli

import (
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/servers/waf"
	"github.com/spf13/cobra"
)

func init() { registerMCP("waf", newMCPWAFCmd) }

func newMCPWAFCmd() *cobra.Command {
	var cfg waf.Config
	var addr, level, auditPath, cfgPath, dataDir string
	var stateless, fromStore bool
	cmd := &cobra.Command{
		Use:   "waf",
		Short: "Serve a ModSecurity/Coraza WAF with the OWASP CRS as MCP tools: audit events, rule stats, explain rules, exclusions",
		Long: `Serve a web application firewall (ModSecurity v3 or Coraza running the OWASP
CRS) as MCP tools: waf_events, top_attacked_uris and rule_stats over the audit
logs (--audit-log) or the events 'serve' stored (--store), explain_rule over the installed rule files, and
propose_exclusion / apply_exclusion / remove_exclusion / list_exclusions for
false positives. With no flags the server starts, lists its tools and each
tool says what it needs. --enable-apply lets apply_exclusion write into
--exclusions-dir, run --validate-cmd and --reload-cmd, and roll back on failure.
The WAF must include the exclusions directory's *.conf before the CRS rules.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath != "" {
				c, err := config.Load(cfgPath)
				if err != nil {
					return &ExitError{Code: 2, Err: err}
				}
				applyWAFConfig(cmd, &cfg, &auditPath, c.Servers.WAF)
			}
			log, record, closeAudit, err := openServerLog(level, auditPath)
			if err != nil {
				return err
			}
			defer closeAudit()
			opts := &waf.Options{Logger: log.With("component", "servers.waf"), Audit: record}
			if fromStore {
				// The query tools read the events 'serve' stored.
				st, err := openServerStore(cmd.Context(), cfgPath, dataDir, log)
				if err != nil {
					return err
				}
				defer st.Close()
				opts.Events = st
			}
			s, err := waf.New(cfg, opts)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			return serveKit(cmd, s.MCP(&mcpx.ServerOptions{Logger: log}), addr, stateless, 0)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfgPath, "config", "c", "", "YAML config `file`; its servers.waf section configures the server (flags win)")
	f.StringArrayVar(&cfg.AuditLogs, "audit-log", nil, "WAF audit log `file` (libmodsecurity JSON, native serial or Coraza JSON; repeatable)")
	f.StringArrayVar(&cfg.RuleFiles, "rule-files", nil, "`glob` of installed rule files for explain_rule (repeatable; default Debian's modsecurity-crs locations)")
	f.StringVar(&cfg.ExclusionsDir, "exclusions-dir", "", "`directory` exclusion snippets are written to (included by the WAF before the CRS)")
	f.BoolVar(&cfg.EnableApply, "enable-apply", false, "allow apply_exclusion and remove_exclusion to change files and reload the WAF (otherwise dry runs only)")
	f.StringArrayVar(&cfg.ValidateCommand, "validate-cmd", nil, "validate command, one `word` per flag (--validate-cmd nginx --validate-cmd -t)")
	f.StringArrayVar(&cfg.ReloadCommand, "reload-cmd", nil, "reload command, one `word` per flag (--reload-cmd nginx --reload-cmd -s --reload-cmd reload)")
	f.IntVar(&cfg.RuleIDBase, "rule-id-base", waf.DefaultRuleIDBase, "first `id` of the rules exclusions create")
	f.DurationVar(&cfg.Timeout, "timeout", waf.DefaultTimeout, "limit for each validate and reload command")
	f.BoolVar(&fromStore, "store", false, "read WAF events from the MCPSoc store (--config, --data) instead of --audit-log files")
	f.StringVar(&dataDir, "data", "", "data `directory` of the store (overrides data_dir)")
	f.StringVar(&auditPath, "audit", "", "append apply_exclusion and remove_exclusion calls to this audit log `file`")
	f.StringVar(&addr, "http", "", "serve Streamable HTTP on this loopback `address` instead of stdio")
	f.BoolVar(&stateless, "stateless", false, "serve HTTP without sessions for every protocol revision")
	f.StringVar(&level, "log-level", "warn", "log `level` on stderr")
	return cmd
}

// applyWAFConfig fills, from the servers.waf section, every setting the
// command line did not give.
func applyWAFConfig(cmd *cobra.Command, cfg *waf.Config, auditPath *string, c config.WAFServer) {
	fillList(cmd, "audit-log", &cfg.AuditLogs, c.AuditLogs)
	fillList(cmd, "rule-files", &cfg.RuleFiles, c.RuleFiles)
	fill(cmd, "exclusions-dir", &cfg.ExclusionsDir, c.ExclusionsDir)
	fill(cmd, "enable-apply", &cfg.EnableApply, c.EnableApply)
	fillList(cmd, "validate-cmd", &cfg.ValidateCommand, c.ValidateCommand)
	fillList(cmd, "reload-cmd", &cfg.ReloadCommand, c.ReloadCommand)
	fill(cmd, "rule-id-base", &cfg.RuleIDBase, c.RuleIDBase)
	fill(cmd, "timeout", &cfg.Timeout, c.Timeout)
	fill(cmd, "audit", auditPath, c.Audit)
}
