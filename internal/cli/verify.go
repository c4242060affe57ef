package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcpsoc/mcpsoc/internal/pin"
	"github.com/mcpsoc/mcpsoc/internal/scan"
	"github.com/mcpsoc/mcpsoc/internal/sign"
)

func init() { register("verify", newVerifyCmd) }

func newVerifyCmd() *cobra.Command {
	var trust, lock, server string
	var configs []string
	var connect bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "verify MANIFEST",
		Short: "Verify a signed MCP server manifest against a trust store of publisher keys",
		Long: `Verify that a key trusted for the manifest's server name signed it.

The trust store (--trust) has one entry a line:

  io.github.alice/*        v=MCPv1; k=ed25519; p=<base64>
  com.example/weather      v=MCPv1; k=ed25519; p=<base64>
  revoke                   v=MCPv1; k=ed25519; p=<base64>

Keys are in the MCP registry's published-key form (DNS TXT or
/.well-known/mcp-registry-auth). With --lock, the manifest is also compared
with the pinned server (its package and every tool, prompt, resource and
instructions hash). With --config F --connect, the configured server is
started (or contacted), listed and compared the same way.

Exit status: 0 verified (and matching), 1 signature or content mismatch,
2 error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ts, err := sign.ReadTrustStore(trust)
			if err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("trust store: %w", err)}
			}
			s, err := sign.ReadSigned(args[0])
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			v, err := ts.Verify(s)
			if err != nil {
				code := 2
				if errors.Is(err, sign.ErrBadSignature) || errors.Is(err, sign.ErrNoTrustedKey) || errors.Is(err, sign.ErrRevoked) {
					code = 1
				}
				return &ExitError{Code: code, Err: fmt.Errorf("%s %s: %w", s.Manifest.Name, s.Manifest.Version, err)}
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s %s: signature OK (key %s, trusted for %s)\n", s.Manifest.Name, s.Manifest.Version, v.KeyID, v.Pattern)
			var ps *pin.Server
			switch {
			case lock != "" && len(configs) > 0:
				return &ExitError{Code: 2, Err: errors.New("give --lock or --config, not both")}
			case lock != "":
				lf, err := pin.ReadFile(lock)
				if err != nil {
					return &ExitError{Code: 2, Err: err}
				}
				if ps, err = pickServer(lf, server); err != nil {
					return &ExitError{Code: 2, Err: err}
				}
			case len(configs) > 0:
				if !connect {
					return &ExitError{Code: 2, Err: errors.New("--config compares the live server: add --connect to start or contact it")}
				}
				if ps, err = liveServer(cmd, configs, server, timeout); err != nil {
					return &ExitError{Code: 2, Err: err}
				}
			default:
				return nil
			}
			mm := sign.Match(s.Manifest, ps)
			for _, m := range mm {
				fmt.Fprintf(out, "  MISMATCH %s\n", m)
			}
			if len(mm) > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("%d differences between the signed manifest and %s", len(mm), ps.Identity.Key())}
			}
			fmt.Fprintf(out, "%s matches the signed manifest (%d tools)\n", ps.Identity.Key(), len(ps.Tools))
			return nil
		},
	}
	cmd.Flags().StringVar(&trust, "trust", "", "trust store file (required)")
	cmd.Flags().StringVar(&lock, "lock", "", "also compare with this lockfile's server")
	cmd.Flags().StringVar(&server, "server", "", "with --lock: lockfile entry (identity key or client name)")
	cmd.Flags().StringArrayVar(&configs, "config", nil, "with --connect: compare with this client config's server (repeatable)")
	cmd.Flags().BoolVar(&connect, "connect", false, "start or contact the --config server to list it")
	cmd.Flags().DurationVar(&timeout, "timeout", scan.DefaultConnectTimeout, "with --connect: time allowed to start and list the server")
	_ = cmd.MarkFlagRequired("trust")
	return cmd
}

// liveServer connects to the configured server named which (or the only
// one) and pins what it lists.
func liveServer(cmd *cobra.Command, configs []string, which string, timeout time.Duration) (*pin.Server, error) {
	sources, err := scanSources(scanFlags{configs: configs})
	if err != nil {
		return nil, err
	}
	v, _ := buildVersion()
	rep, err := scan.Run(cmd.Context(), &scan.Options{Sources: sources, Connect: true,
		ConnectOptions: scan.ConnectOptions{Timeout: timeout, ClientName: "mcpsoc-verify", ClientVersion: v},
		OnStart: func(src scan.Source, s scan.ServerResult) {
			fmt.Fprintf(cmd.ErrOrStderr(), "mcpsoc: starting %s (%s): %s%s\n", s.Name, src.Path, s.CommandLine, s.RedactedURL)
		}})
	if err != nil {
		return nil, err
	}
	var found []scan.ServerResult
	var names []string
	for _, fr := range rep.Files {
		if fr.Error != "" {
			return nil, fmt.Errorf("%s: %s", fr.Path, fr.Error)
		}
		for _, s := range fr.Servers {
			names = append(names, s.Name)
			if which == "" || s.Name == which {
				found = append(found, s)
			}
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("choose one server with --server (configured: %v)", names)
	}
	s := found[0]
	if s.Listing == nil {
		return nil, fmt.Errorf("%s could not be listed: %s", s.Name, s.ConnectError)
	}
	return pin.Snapshot(scan.PinIdentity(s.Entry), []string{s.Name}, s.Listing)
}
