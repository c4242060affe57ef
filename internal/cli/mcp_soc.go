package cli

import (
	"os"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	intelsrv "github.com/mcpsoc/mcpsoc/internal/servers/intel"
	"github.com/mcpsoc/mcpsoc/internal/servers/soc"
	"github.com/mcpsoc/mcpsoc/internal/telemetry"
	"github.com/spf13/cobra"
)

func init() { registerMCP("soc", newMCPSOCCmd) }

func newMCPSOCCmd() *cobra.Command {
	var cfgPath, dataDir, addr, level string
	var stateless bool
	cmd := &cobra.Command{
		Use:   "soc",
		Short: "Serve MCPSoc's events and alerts as MCP tools (search_events, get_event, list_alerts)",
		Long: `Serve the SOC's store as read-only MCP tools, for Claude Desktop, an IDE or
another agent. It opens the same store 'serve' writes (--config, --data), so it
works beside a running serve or alone. 'serve' also offers these tools at /mcp,
behind a key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if dataDir != "" {
				cfg.DataDir = dataDir
			}
			log, err := telemetry.NewLogger(os.Stderr, level, "text")
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			st, err := openStore(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer st.Close()
			ind, err := openIntelLookup(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if ind != nil {
				defer ind.Close()
			}
			return serveKit(cmd, soc.NewWithIndicators(st, intelsrv.FromStore(ind), nil, &mcpx.ServerOptions{Logger: log}), addr, stateless, 0)
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "YAML config `file` (the store it names)")
	cmd.Flags().StringVar(&dataDir, "data", "", "data `directory` (overrides data_dir)")
	cmd.Flags().StringVar(&addr, "http", "", "serve Streamable HTTP on this loopback `address` instead of stdio")
	cmd.Flags().BoolVar(&stateless, "stateless", false, "serve HTTP without sessions for every protocol revision")
	cmd.Flags().StringVar(&level, "log-level", "warn", "log `level` on stderr")
	return cmd
}
