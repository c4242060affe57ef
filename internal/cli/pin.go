package cli

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcpsoc/mcpsoc/internal/scan"
)

func init() { register("pin", newPinCmd) }

type pinFlags struct {
	configs []string
	client  string
	project string
	lock    string
	timeout time.Duration
}

func newPinCmd() *cobra.Command {
	var f pinFlags
	cmd := &cobra.Command{
		Use:   "pin",
		Short: "Write a lockfile pinning each MCP server's package identity and canonical tool hashes",
		Long: `Connect to every configured MCP server (discovered, or the files given with
--config), and write a lockfile: per server its identity (package, version,
image digest or URL; never the raw command line, which may hold secrets), and
per tool, prompt, resource and the server instructions the SHA-256 of the
RFC 8785 canonical JSON plus a hash per field.

Running pin is consent to start the configured stdio servers (each with a
minimal environment and --timeout). Compare later with
'mcpsoc scan --connect --lock FILE'.

Exit status: 0 when every server was pinned, 2 when some could not be
reached (the others are still written).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runPin(cmd, f) },
	}
	cmd.Flags().StringArrayVar(&f.configs, "config", nil, "client config file (repeatable); default: discover")
	cmd.Flags().StringVar(&f.client, "client", "", "client id for --config files when the path does not tell")
	cmd.Flags().StringVar(&f.project, "project", "", "project folder for project-scope configs (default: current folder)")
	cmd.Flags().StringVar(&f.lock, "lock", "mcp.lock.json", "lockfile to write")
	cmd.Flags().DurationVar(&f.timeout, "timeout", scan.DefaultConnectTimeout, "time allowed to start and list one server")
	return cmd
}

func runPin(cmd *cobra.Command, f pinFlags) error {
	sources, err := scanSources(scanFlags{configs: f.configs, client: f.client})
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	env := scan.HostEnv(runtime.GOOS)
	if f.project != "" {
		env.Workdir = f.project
	}
	v, _ := buildVersion()
	rep, err := scan.Run(cmd.Context(), &scan.Options{
		Sources: sources, Env: env, Connect: true,
		ConnectOptions: scan.ConnectOptions{Timeout: f.timeout, ClientName: "mcpsoc-pin", ClientVersion: v},
	})
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	lf, err := scan.BuildLock(rep)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if err := lf.WriteFile(f.lock); err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("writing lockfile: %w", err)}
	}
	var failed []string
	for _, fr := range rep.Files {
		for _, s := range fr.Servers {
			if !s.Disabled && !s.Connected {
				failed = append(failed, fmt.Sprintf("%s (%s): %s", s.Name, fr.Path, s.ConnectError))
			}
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "pinned %d servers to %s\n", len(lf.Servers), f.lock)
	if len(failed) > 0 {
		return &ExitError{Code: 2, Err: errors.New("not pinned: " + strings.Join(failed, "; "))}
	}
	return nil
}
