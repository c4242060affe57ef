package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mcpsoc/mcpsoc/internal/sign"
)

func init() { register("keygen", newKeygenCmd) }

func newKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Create an Ed25519 key pair for signing MCP server manifests",
		Long: `Create an Ed25519 key pair. The private key is written as PKCS #8 PEM
to --out (mode 0600, never overwritten); the public key is written to
--out.pub and printed in the MCP registry's published-key form

  v=MCPv1; k=ed25519; p=<base64>

which can be published as a DNS TXT record or at
https://<domain>/.well-known/mcp-registry-auth, and added to a trust store
as "io.github.you/* v=MCPv1; k=ed25519; p=…".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, priv, err := sign.GenerateKey()
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			pemBytes, err := sign.MarshalPrivateKey(priv)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			fh, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("writing private key: %w", err)}
			}
			if _, err := fh.Write(pemBytes); err != nil {
				fh.Close()
				return &ExitError{Code: 2, Err: err}
			}
			if err := fh.Close(); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			line := sign.FormatPublicKey(pub)
			if err := os.WriteFile(out+".pub", []byte(line+"\n"), 0o644); err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("writing public key: %w", err)}
			}
			fmt.Fprintln(cmd.OutOrStdout(), line)
			fmt.Fprintf(cmd.ErrOrStderr(), "key id %s; private key %s, public key %s.pub\n", sign.KeyID(pub), out, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "mcpsoc-signing.key", "private key file to create")
	return cmd
}
