package cli

import (
	"context"
	"log/slog"

	"errors"
	"fmt"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"os"
	"sort"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/servers/conformance"
	"github.com/mcpsoc/mcpsoc/internal/telemetry"
	"github.com/spf13/cobra"
)

func init() {
	register("mcp", newMCPCmd)
	registerMCP("conformance", newMCPConformanceCmd)
	registerMCP("conformance-client", newMCPConformanceClientCmd)
}

var mcpServers = map[string]commandFactory{}

// registerMCP adds a subcommand of 'mcp' (a built-in server), from init.
func registerMCP(name string, f commandFactory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := mcpServers[name]; dup || name == "" {
		panic("cli: bad or duplicate mcp subcommand " + name)
	}
	mcpServers[name] = f
}

func newMCPCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Run MCPSoc's built-in MCP servers (stdio by default, or Streamable HTTP with --http)",
	}
	names := make([]string, 0, len(mcpServers))
	for n := range mcpServers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cmd.AddCommand(mcpServers[n]())
	}
	return cmd
}

// serveKit serves a kit server over stdio, or over Streamable HTTP at /mcp
// when addr is set (loopback only). maxBytes bounds one message (0: the
// defaults) for servers whose tools take large inputs.
func serveKit(cmd *cobra.Command, srv *mcpx.Server, addr string, stateless bool, maxBytes int64) error {
	if addr == "" {
		return srv.ServeStdioLimit(cmd.Context(), maxBytes)
	}
	ln, err := mcpx.Listen(addr)
	if err != nil {
		if errors.Is(err, mcpx.ErrNotLoopback) {
			return &ExitError{Code: 2, Err: err}
		}
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "serving MCP on http://%s/mcp\n", ln.Addr())
	return mcpx.ServeHTTP(cmd.Context(), ln, srv.HTTPHandler(&mcpx.HTTPOptions{StatelessOnly: stateless, MaxBodyBytes: maxBytes}))
}

// openServerStore opens the store 'serve' writes (the config file's store,
// data_dir overridden by --data) for a built-in server's read tools.
func openServerStore(ctx context.Context, cfgPath, dataDir string, log *slog.Logger) (store.Store, error) {
	c, err := config.Load(cfgPath)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	if dataDir != "" {
		c.DataDir = dataDir
	}
	return openStore(ctx, c, log)
}

func newMCPConformanceCmd() *cobra.Command {
	var addr, level string
	var stateless bool
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Serve the fixture server of the official MCP conformance suite",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := telemetry.NewLogger(os.Stderr, level, "text")
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			return serveKit(cmd, conformance.New(&mcpx.ServerOptions{Logger: log}), addr, stateless, 0)
		},
	}
	cmd.Flags().StringVar(&addr, "http", "", "serve Streamable HTTP on this loopback `address` instead of stdio")
	cmd.Flags().BoolVar(&stateless, "stateless", false, "serve HTTP without sessions for every protocol revision")
	cmd.Flags().StringVar(&level, "log-level", "warn", "log `level` on stderr")
	return cmd
}

// openServerLog opens what a built-in server with state-changing tools
// needs: its logger on stderr at level, and the hash-chained audit log at
// path (record is nil when path is empty). Errors are usage errors (exit 2).
func openServerLog(level, path string) (log *slog.Logger, record func(audit.Event) error, closeLog func(), err error) {
	log, err = telemetry.NewLogger(os.Stderr, level, "text")
	if err != nil {
		return nil, nil, nil, &ExitError{Code: 2, Err: err}
	}
	if path == "" {
		return log, nil, func() {}, nil
	}
	w, err := audit.Open(path, nil)
	if err != nil {
		return nil, nil, nil, &ExitError{Code: 2, Err: err}
	}
	return log, func(ev audit.Event) error { _, err := w.Append(ev); return err }, func() { w.Close() }, nil
}

// fill copies a config-file value into a setting the command line did not
// give (flag unchanged); zero values keep the flag's default.
func fill[T comparable](cmd *cobra.Command, flag string, dst *T, v T) {
	var zero T
	if !cmd.Flags().Changed(flag) && v != zero {
		*dst = v
	}
}

// fillList is fill for repeatable flags; an empty list keeps the default.
func fillList[T any](cmd *cobra.Command, flag string, dst *[]T, v []T) {
	if !cmd.Flags().Changed(flag) && len(v) > 0 {
		*dst = v
	}
}
