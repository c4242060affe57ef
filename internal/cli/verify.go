package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mcpsoc/mcpsoc/internal/pin"
	"github.com/mcpsoc/mcpsoc/internal/sign"
)

func init() { register("verify", newVerifyCmd) }

func newVerifyCmd() *cobra.Command {
	var trust, lock, server string
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
instructions hash).

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
			if lock == "" {
				return nil
			}
			lf, err := pin.ReadFile(lock)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			ps, err := pickServer(lf, server)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
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
	_ = cmd.MarkFlagRequired("trust")
	return cmd
}
