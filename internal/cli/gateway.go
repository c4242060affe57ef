package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/gateway"
	"github.com/mcpsoc/mcpsoc/internal/telemetry"
	"github.com/spf13/cobra"
)

func init() { register("gateway", newGatewayCmd) }

func newGatewayCmd() *cobra.Command {
	var cfgPath, listen, level string
	var stdio, check bool
	cmd := &cobra.Command{
		Use:   "gateway --config FILE [--stdio] [--check]",
		Short: "Run the MCP security gateway in front of the configured MCP servers",
		Long: `gateway fronts the upstream MCP servers of FILE (stdio processes and remote
Streamable HTTP servers) and serves their tools, named upstream.tool, on one
Streamable HTTP endpoint (/mcp, plus /mcp/UPSTREAM per upstream) or, with
--stdio, on standard input and output for a local client. Every request is
authenticated, checked against the policy, validated, rate-limited and
written to the hash-chained audit log (check it with 'mcpsoc audit verify').`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return &ExitError{Code: 2, Err: errors.New("--config is required")}
			}
			cfg, err := gateway.LoadConfig(cfgPath)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if listen != "" {
				if err := cfg.SetListen(listen); err != nil {
					return &ExitError{Code: 2, Err: err}
				}
			}
			if check {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d upstream(s), %d policy rule(s), auth %s)\n", cfgPath, len(cfg.Upstreams), len(cfg.Policy.Rules), authSummary(cfg))
				return nil
			}
			log, err := telemetry.NewLogger(cmd.ErrOrStderr(), level, "text")
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			version, _ := buildVersion()
			gw, err := gateway.New(cfg, &gateway.Options{Logger: log, Version: version})
			if err != nil {
				return err
			}
			defer func() {
				gw.Close()
				// The head lets an operator anchor the chain elsewhere and
				// later detect a cut-off tail (audit verify --head).
				if h := gw.AuditHead(); h.Seq > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "audit log %s head %d:%s\n", cfg.Audit.File, h.Seq, h.Hash)
				}
			}()
			ctx := cmd.Context()
			gw.Start(ctx)
			// Serve once every upstream has had its first connection
			// attempt, so the first tools/list is complete; an upstream that
			// is down keeps retrying in the background.
			if err := gw.WaitReady(ctx); err != nil {
				return nil
			}
			if stdio {
				return gw.ServeStdio(ctx)
			}
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: gw.Handler(), ReadHeaderTimeout: 10 * time.Second}
			scheme := "http"
			errc := make(chan error, 1)
			if cfg.TLS.CertFile != "" {
				scheme = "https"
				go func() { errc <- srv.ServeTLS(ln, cfg.TLS.CertFile, cfg.TLS.KeyFile) }()
			} else {
				go func() { errc <- srv.Serve(ln) }()
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "gateway listening on %s://%s/mcp\n", scheme, ln.Addr())
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
				return nil
			}
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "gateway config `file` (see examples/gateway.yaml)")
	cmd.Flags().BoolVar(&stdio, "stdio", false, "serve one local client on stdin/stdout instead of HTTP")
	cmd.Flags().BoolVar(&check, "check", false, "validate the config and exit (2 on errors)")
	cmd.Flags().StringVar(&listen, "listen", "", "override the config's listen `address`")
	cmd.Flags().StringVar(&level, "log-level", "info", "log `level` on stderr")
	cmd.AddCommand(newGatewayHashKeyCmd(), newGatewayApprovalsCmd(), newGatewayQuarantineCmd(), newGatewayPinCmd())
	return cmd
}

func authSummary(cfg *gateway.Config) string {
	var m []string
	if n := len(cfg.Auth.APIKeys); n > 0 {
		m = append(m, fmt.Sprintf("%d API key(s)", n))
	}
	if cfg.Auth.JWT != nil {
		m = append(m, "JWT from "+cfg.Auth.JWT.Issuer)
	}
	if len(m) == 0 {
		return "none (loopback only, subject " + cfg.Auth.Anonymous + ")"
	}
	return strings.Join(m, ", ")
}

func newGatewayHashKeyCmd() *cobra.Command {
	var generate bool
	cmd := &cobra.Command{
		Use:   "hash-key [--generate]",
		Short: "Print the SHA-256 to store for an API key read from stdin (or a new random key)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var key string
			if generate {
				var b [32]byte
				rand.Read(b[:])
				key = "mcpsoc_" + base64.RawURLEncoding.EncodeToString(b[:])
				fmt.Fprintf(cmd.OutOrStdout(), "key:    %s\n", key)
			} else {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				key = strings.TrimRight(line, "\r\n")
				if key == "" {
					return &ExitError{Code: 2, Err: fmt.Errorf("no key on stdin (%v); use --generate for a new one", err)}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sha256: %s\n", gateway.HashKey(key))
			return nil
		},
	}
	cmd.Flags().BoolVar(&generate, "generate", false, "generate a random key and print it with its hash")
	return cmd
}

func newGatewayApprovalsCmd() *cobra.Command {
	var base, key string
	cmd := &cobra.Command{
		Use:   "approvals list | approve ID | deny ID",
		Short: "List calls held for approval, or approve or deny one (as an approver other than the requester)",
		Long: `approvals talks to a running gateway's approvals API with an approver's API key
(--key, or the MCPSOC_GATEWAY_KEY environment variable). The approver must
differ from the subject that made the call.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				key = os.Getenv("MCPSOC_GATEWAY_KEY")
			}
			method, path := http.MethodGet, "/approvals"
			switch {
			case args[0] == "list" && len(args) == 1:
			case (args[0] == "approve" || args[0] == "deny") && len(args) == 2:
				method, path = http.MethodPost, "/approvals/"+url.PathEscape(args[1])+"/"+args[0]
			default:
				return &ExitError{Code: 2, Err: errors.New("want: approvals list | approvals approve ID | approvals deny ID")}
			}
			body, err := gatewayAPI(cmd, method, base, path, key)
			if err != nil {
				return err
			}
			if args[0] != "list" {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %sd\n", args[1], args[0])
				return nil
			}
			var got struct {
				Approvals []gateway.Approval `json:"approvals"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				return fmt.Errorf("decoding approvals: %w", err)
			}
			w := cmd.OutOrStdout()
			if len(got.Approvals) == 0 {
				fmt.Fprintln(w, "no calls waiting for approval")
			}
			for _, a := range got.Approvals {
				fmt.Fprintf(w, "%s  %s wants %s.%s %s  (%s; expires %s)\n", a.ID, a.Requester, a.Upstream, a.Tool, a.Args, a.Reason, a.Expires.Format(time.RFC3339))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&base, "url", "http://127.0.0.1:8787", "gateway base `URL`")
	cmd.Flags().StringVar(&key, "key", "", "approver API `key` (default $MCPSOC_GATEWAY_KEY)")
	return cmd
}

// gatewayAPI makes one request to a running gateway's approver API and
// returns the body of a 200 answer.
func gatewayAPI(cmd *cobra.Command, method, base, path, key string) ([]byte, error) {
	if key == "" {
		key = os.Getenv("MCPSOC_GATEWAY_KEY")
	}
	req, err := http.NewRequestWithContext(cmd.Context(), method, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("gateway answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

func newGatewayQuarantineCmd() *cobra.Command {
	var base, key string
	cmd := &cobra.Command{
		Use:   "quarantine list | approve UPSTREAM.TOOL",
		Short: "List tools held back because they differ from their pin or signature, or approve one",
		Long: `quarantine talks to a running gateway's quarantine API with an approver's API key
(--key, or the MCPSOC_GATEWAY_KEY environment variable). list shows each held
tool with why and, for a changed definition, a field-by-field diff; approve
accepts the definition as the gateway now sees it and writes its canonical
hashes to the lockfile (content.lockfile) or pin file. Tools refused by a
signature check cannot be approved here.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			method, path := http.MethodGet, "/quarantine"
			switch {
			case args[0] == "list" && len(args) == 1:
			case args[0] == "approve" && len(args) == 2:
				method, path = http.MethodPost, "/quarantine/"+url.PathEscape(args[1])+"/approve"
			default:
				return &ExitError{Code: 2, Err: errors.New("want: quarantine list | quarantine approve UPSTREAM.TOOL")}
			}
			body, err := gatewayAPI(cmd, method, base, path, key)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if args[0] == "approve" {
				fmt.Fprintf(w, "%s: approved\n", args[1])
				return nil
			}
			var got struct {
				Quarantined []gateway.Quarantined `json:"quarantined"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				return fmt.Errorf("decoding quarantine: %w", err)
			}
			if len(got.Quarantined) == 0 {
				fmt.Fprintln(w, "no tools in quarantine")
			}
			for _, q := range got.Quarantined {
				fmt.Fprintf(w, "%s  %s since %s: %s\n", q.Name, q.Kind, q.Since.Format(time.RFC3339), q.Reason)
				if q.Diff != "" {
					fmt.Fprintf(w, "    %s\n", q.Diff)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&base, "url", "http://127.0.0.1:8787", "gateway base `URL`")
	cmd.Flags().StringVar(&key, "key", "", "approver API `key` (default $MCPSOC_GATEWAY_KEY)")
	return cmd
}

func newGatewayPinCmd() *cobra.Command {
	var cfgPath, lock string
	cmd := &cobra.Command{
		Use:   "pin --config FILE [--lock mcp.lock.json]",
		Short: "Write a lockfile of the gateway's upstreams, for content.lockfile",
		Long: `pin connects to every upstream of the gateway config (starting stdio servers as
the gateway would), and writes their tools' canonical hashes in the lockfile
format of 'mcpsoc pin', keyed by the same package identities. Point
content.lockfile at the file to have the gateway quarantine any tool that is
not in it or differs from it.

Exit status: 0 when every upstream was pinned, 2 when some could not be
reached (the others are still written).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath == "" {
				return &ExitError{Code: 2, Err: errors.New("--config is required")}
			}
			cfg, err := gateway.LoadConfig(cfgPath)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			version, _ := buildVersion()
			lf, perr := gateway.PinUpstreams(cmd.Context(), cfg, version)
			if lf == nil {
				return &ExitError{Code: 2, Err: perr}
			}
			if err := lf.WriteFile(lock); err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("writing lockfile: %w", err)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pinned %d upstream(s) to %s\n", len(lf.Servers), lock)
			if perr != nil {
				return &ExitError{Code: 2, Err: perr}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "gateway config `file`")
	cmd.Flags().StringVar(&lock, "lock", "mcp.lock.json", "lockfile to write")
	return cmd
}
