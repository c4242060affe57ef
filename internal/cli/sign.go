package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mcpsoc/mcpsoc/internal/pin"
	"github.com/mcpsoc/mcpsoc/internal/sign"
)

func init() { register("sign", newSignCmd) }

type signFlags struct {
	key, lock, server, name, version, out string
}

func newSignCmd() *cobra.Command {
	var f signFlags
	cmd := &cobra.Command{
		Use:   "sign",
		Short: "Sign a manifest of one pinned MCP server (name, version, package, tool hashes)",
		Long: `Build a manifest from one server of a lockfile written by 'mcpsoc pin' and
sign it with Ed25519 over its RFC 8785 canonical JSON. The manifest holds the
server's reverse-DNS registry name (--name io.github.org/server), --version,
its package (registry type, identifier, version, digest) or remote URL, and
the SHA-256 of every tool, prompt, resource and the instructions.

--server picks the lockfile entry by identity key (npm:@org/pkg) or by a
client's name for it; it may be omitted when the lockfile has one server.
Signing an existing signed manifest (--out pointing at it) adds a signature.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSign(cmd, f) },
	}
	cmd.Flags().StringVar(&f.key, "key", "mcpsoc-signing.key", "private key file (from 'mcpsoc keygen')")
	cmd.Flags().StringVar(&f.lock, "lock", "mcp.lock.json", "lockfile with the pinned server")
	cmd.Flags().StringVar(&f.server, "server", "", "lockfile entry: identity key or client name")
	cmd.Flags().StringVar(&f.name, "name", "", "registry name, reverse-DNS (io.github.org/server) (required)")
	cmd.Flags().StringVar(&f.version, "version", "", "server version (default: the pinned package version)")
	cmd.Flags().StringVar(&f.out, "out", "", "signed manifest file to write (default: standard output)")
	return cmd
}

// pickServer finds a lockfile entry by key or client name.
func pickServer(lf *pin.Lockfile, which string) (*pin.Server, error) {
	if which == "" {
		if len(lf.Servers) == 1 {
			for _, s := range lf.Servers {
				return s, nil
			}
		}
		return nil, fmt.Errorf("the lockfile has %d servers: choose one with --server (%s)", len(lf.Servers), strings.Join(lockKeys(lf), ", "))
	}
	if s, ok := lf.Servers[which]; ok {
		return s, nil
	}
	var found *pin.Server
	for _, s := range lf.Servers {
		for _, n := range s.Names {
			if n == which {
				if found != nil && found != s {
					return nil, fmt.Errorf("--server %q names several lockfile entries; use the identity key", which)
				}
				found = s
			}
		}
	}
	if found == nil {
		return nil, fmt.Errorf("--server %q is not in the lockfile (%s)", which, strings.Join(lockKeys(lf), ", "))
	}
	return found, nil
}

func lockKeys(lf *pin.Lockfile) []string {
	var keys []string
	for k := range lf.Servers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func runSign(cmd *cobra.Command, f signFlags) error {
	if f.name == "" {
		return &ExitError{Code: 2, Err: fmt.Errorf("--name is required (reverse-DNS registry name such as io.github.org/server)")}
	}
	priv, err := sign.ReadPrivateKey(f.key)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("reading key: %w", err)}
	}
	lf, err := pin.ReadFile(f.lock)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	ps, err := pickServer(lf, f.server)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	version := f.version
	if version == "" {
		version = ps.Identity.Version
	}
	if version == "" && ps.ServerInfo != nil {
		version = ps.ServerInfo.Version
	}
	m, err := sign.FromPinned(f.name, version, ps)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	signed := &sign.Signed{Manifest: m}
	if f.out != "" {
		if prev, err := sign.ReadSigned(f.out); err == nil {
			a, _ := pin.Canonical(prev.Manifest)
			b, _ := pin.Canonical(m)
			if string(a) != string(b) {
				return &ExitError{Code: 2, Err: fmt.Errorf("%s holds a different manifest; remove it or choose another --out", f.out)}
			}
			signed = prev
		}
	}
	if err := sign.Sign(signed, priv); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	data, err := json.MarshalIndent(signed, "", "  ")
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	data = append(data, '\n')
	var w io.Writer = cmd.OutOrStdout()
	if f.out != "" {
		if err := os.WriteFile(f.out, data, 0o644); err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "signed %s %s (%d tools) into %s\n", m.Name, m.Version, len(m.Tools), f.out)
		return nil
	}
	_, err = w.Write(data)
	return err
}
