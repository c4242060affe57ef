package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/api"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/telemetry"
	"github.com/spf13/cobra"
)

func init() { register("serve", newServeCmd) }

func newServeCmd() *cobra.Command {
	var cfgPath, dataDir, listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the SOC: API, metrics and health, connected MCP servers",
		Long: `Run the SOC. With no --config, embedded defaults run the product: state under
./data and the API on 127.0.0.1:8080. Flags override the config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if dataDir != "" {
				cfg.DataDir = dataDir
			}
			if listen != "" {
				cfg.API.Listen = listen
			}
			if err := cfg.Validate(); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			return serve(cmd.Context(), cmd, cfg)
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "YAML config `file` (default: embedded defaults)")
	cmd.Flags().StringVar(&dataDir, "data", "", "data `directory` (overrides data_dir)")
	cmd.Flags().StringVar(&listen, "listen", "", "API listen `address` host:port (overrides api.listen)")
	return cmd
}

func serve(ctx context.Context, cmd *cobra.Command, cfg *config.Config) error {
	log, err := telemetry.NewLogger(cmd.ErrOrStderr(), cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	reg := telemetry.NewRegistry()
	version, _ := buildVersion()
	mgr := mcpx.NewManager(cfg.MCP.Servers, &mcpx.ManagerOptions{
		Logger: log, Registerer: reg, ClientName: "mcpsoc", ClientVersion: version,
	})
	apiSrv := api.New(api.Options{
		Logger: log, Registry: reg, MCP: mgr,
		APIKeys: cfg.API.APIKeys, AllowedHosts: cfg.API.AllowedHosts, MaxBodyBytes: cfg.API.MaxBodyBytes,
	})
	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("api listener: %w", err)
	}
	scheme := "http"
	if cfg.API.TLS.Enabled() {
		scheme = "https"
	}
	log.Info("mcpsoc serving", "version", version, "api", scheme+"://"+ln.Addr().String(),
		"data_dir", cfg.DataDir, "mcp_servers", len(cfg.MCP.Servers), "auth", len(cfg.API.APIKeys) > 0)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mgr.Start(ctx)
	go func() {
		if mgr.WaitReady(ctx) == nil {
			apiSrv.SetReady(true)
			log.Info("ready")
		}
	}()

	srv := &http.Server{Handler: apiSrv, ReadHeaderTimeout: api.ReadHeaderTimeout, ErrorLog: nil}
	errc := make(chan error, 1)
	go func() {
		if cfg.API.TLS.Enabled() {
			errc <- srv.ServeTLS(ln, cfg.API.TLS.CertFile, cfg.API.TLS.KeyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer scancel()
	_ = srv.Shutdown(sctx)
	cancel()
	_ = mgr.Close()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}
