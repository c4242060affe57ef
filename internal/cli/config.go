package cli

import (
	"fmt"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/spf13/cobra"
)

func init() { register("config", newConfigCmd) }

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with configuration files"}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate FILE",
		Short: "Check a config file: unknown keys, wrong types and invalid values, with file:line",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0])
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d MCP server(s), API on %s)\n", args[0], len(cfg.MCP.Servers), cfg.API.Listen)
			return nil
		},
	})
	return cmd
}
