package cli

import (
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/servers/av"
	"github.com/spf13/cobra"
)

func init() { registerMCP("av", newMCPAVCmd) }

func newMCPAVCmd() *cobra.Command {
	var cfg av.Config
	var addr, level, auditPath, cfgPath string
	var stateless bool
	cmd := &cobra.Command{
		Use:   "av",
		Short: "Serve ClamAV (clamd) as MCP tools: scans, quarantine, recent detections",
		Long: `Serve ClamAV's clamd as MCP tools: ping, version, stats, scan_file,
scan_directory, scan_bytes, quarantine_file, restore_file, list_quarantine and
recent_detections. With no flags the server starts and lists its tools; each
tool says which flag its backend needs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath != "" {
				// The config file gives the defaults; flags given on the
				// command line win.
				c, err := config.Load(cfgPath)
				if err != nil {
					return &ExitError{Code: 2, Err: err}
				}
				applyAVConfig(cmd, &cfg, &auditPath, c.Servers.AV)
			}
			log, record, closeAudit, err := openServerLog(level, auditPath)
			if err != nil {
				return err
			}
			defer closeAudit()
			opts := &av.Options{Logger: log.With("component", "servers.av"), Audit: record}
			s, err := av.New(cfg, opts)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			defer s.Close()
			// scan_bytes carries uploads up to the stream limit, base64-encoded:
			// below the SDK's 16 MiB stdio frame the SDK would drop the whole
			// connection instead of answering with an error.
			return serveKit(cmd, s.MCP(&mcpx.ServerOptions{Logger: log}), addr, stateless, s.MaxRequestBytes())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfgPath, "config", "c", "", "YAML config `file`; its servers.av section configures the server")
	f.StringVar(&cfg.Clamd, "clamd", "", "clamd `address`: unix:/path/to/clamd.sock or tcp:host:port")
	f.StringVar(&cfg.ClamdConfig, "clamd-config", "", "clamd.conf `file` to read StreamMaxLength from")
	f.StringArrayVar(&cfg.AllowedRoots, "allow-root", nil, "`directory` files may be scanned and quarantined in (repeatable)")
	f.StringVar(&cfg.QuarantineDir, "quarantine", "", "quarantine `directory` (created 0700, outside the allowed roots)")
	f.BoolVar(&cfg.EnableQuarantine, "enable-quarantine", false, "allow quarantine_file and restore_file to move files (otherwise dry runs only)")
	f.Int64Var(&cfg.MaxStreamBytes, "max-stream-bytes", 0, "largest upload or file to scan in `bytes` (default: clamd's StreamMaxLength with --clamd-config, else 25 MiB)")
	f.StringVar(&cfg.LogFile, "log", "", "clamd log `file` for recent_detections")
	f.DurationVar(&cfg.Timeout, "timeout", 0, "limit for one clamd command, scan included (default 2m)")
	f.IntVar(&cfg.ScanConcurrency, "scan-concurrency", 0, "files streamed to clamd at once by scan_directory (default 4)")
	f.StringVar(&auditPath, "audit", "", "append quarantine and restore calls to this audit log `file`")
	f.StringVar(&addr, "http", "", "serve Streamable HTTP on this loopback `address` instead of stdio")
	f.BoolVar(&stateless, "stateless", false, "serve HTTP without sessions for every protocol revision")
	f.StringVar(&level, "log-level", "warn", "log `level` on stderr")
	return cmd
}

// applyAVConfig fills every setting the command line did not give from the
// servers.av section of the config file.
func applyAVConfig(cmd *cobra.Command, cfg *av.Config, auditPath *string, c config.AVServer) {
	fill(cmd, "clamd", &cfg.Clamd, c.Clamd)
	fill(cmd, "clamd-config", &cfg.ClamdConfig, c.ClamdConfig)
	fillList(cmd, "allow-root", &cfg.AllowedRoots, c.AllowedRoots)
	fill(cmd, "quarantine", &cfg.QuarantineDir, c.QuarantineDir)
	fill(cmd, "enable-quarantine", &cfg.EnableQuarantine, c.EnableQuarantine)
	fill(cmd, "max-stream-bytes", &cfg.MaxStreamBytes, c.MaxStreamBytes)
	fill(cmd, "log", &cfg.LogFile, c.LogFile)
	fill(cmd, "timeout", &cfg.Timeout, c.Timeout)
	fill(cmd, "scan-concurrency", &cfg.ScanConcurrency, c.ScanConcurrency)
	fill(cmd, "audit", auditPath, c.Audit)
}
