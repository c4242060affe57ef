package cli

import (
	"fmt"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/detect/correlate"
	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
	"github.com/spf13/cobra"
)

func init() { register("rules", newRulesCmd) }

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Work with Sigma detection rules"}
	cmd.AddCommand(newRulesLintCmd())
	return cmd
}

func newRulesLintCmd() *cobra.Command {
	var placeholders []string
	cmd := &cobra.Command{
		Use:   "lint DIR...",
		Short: "Load every Sigma rule under the directories and report the ones that fail to compile",
		Long: `lint loads every .yml and .yaml file under each DIR (recursively, multi-document
files included) exactly as the detection engine would, prints one line per
rule that fails as file:line: reason, and a summary. Correlation documents
are parsed and their references (to rules or other correlations, by id or
name) and chains checked too. It exits 1 when anything fails, 0 otherwise.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := &sigma.Options{}
			if len(placeholders) > 0 {
				opts.Placeholders = map[string][]string{}
				for _, p := range placeholders {
					name, vals, ok := strings.Cut(p, "=")
					if !ok || name == "" {
						return &ExitError{Code: 2, Err: fmt.Errorf("--placeholder %q: want NAME=VALUE[,VALUE...]", p)}
					}
					opts.Placeholders[strings.Trim(name, "%")] = append(opts.Placeholders[strings.Trim(name, "%")], strings.Split(vals, ",")...)
				}
			}
			rs := sigma.NewRuleset(opts)
			if err := rs.LoadDir(args...); err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			corrs, cerrs, err := correlate.Load(args...)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			failed := len(rs.Errors) + len(cerrs)
			out := cmd.OutOrStdout()
			for _, e := range rs.Errors {
				fmt.Fprintln(out, e.Error())
			}
			for _, e := range cerrs {
				fmt.Fprintln(out, e.Error())
			}
			if len(corrs) > 0 {
				if _, err := correlate.New(corrs, rs.Rules, nil); err != nil {
					fmt.Fprintln(out, err)
					failed++
				}
			}
			total, ok := rs.Documents, len(rs.Rules)
			pct := 100.0
			if total > 0 {
				pct = 100 * float64(ok) / float64(total)
			}
			fmt.Fprintf(out, "%d rules, %d compiled (%.2f%%)", total, ok, pct)
			if n := len(rs.Errors); n > 0 {
				fmt.Fprintf(out, ", %d failed", n)
			}
			if n := len(rs.Skipped); n > 0 {
				fmt.Fprintf(out, "; %d correlations, %d loaded", n, len(corrs))
			}
			fmt.Fprintln(out)
			if failed > 0 {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&placeholders, "placeholder", nil, "value(s) for an expand placeholder, NAME=VALUE[,VALUE...] (repeatable)")
	return cmd
}
