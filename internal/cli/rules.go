package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect"
	"github.com/mcpsoc/mcpsoc/internal/detect/anomaly"
	"github.com/mcpsoc/mcpsoc/internal/detect/correlate"
	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func init() { register("rules", newRulesCmd) }

func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Work with Sigma detection rules"}
	cmd.AddCommand(newRulesLintCmd(), newRulesTestCmd(), newRulesEvalCmd())
	return cmd
}

func newRulesLintCmd() *cobra.Command {
	var placeholders []string
	cmd := &cobra.Command{
		Use:   "lint DIR...",
		Short: "Load every Sigma rule under the directories and report the ones that fail to compile",
		Long: `lint loads every .yml and .yaml file under each DIR (recursively, multi-document
files included, directories named tests or testdata skipped: they hold test
cases) exactly as the detection engine would, prints one line per
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
			files, err := detect.RuleFiles(args...)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			rs := sigma.NewRuleset(opts)
			var corrs []*correlate.Rule
			var cerrs []*sigma.RuleError
			if len(files) > 0 {
				if err := rs.LoadDir(files...); err != nil {
					return &ExitError{Code: 1, Err: err}
				}
				if corrs, cerrs, err = correlate.Load(files...); err != nil {
					return &ExitError{Code: 1, Err: err}
				}
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

func newRulesTestCmd() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test DIR...",
		Short: "Run rule test cases (rules + input events + expected alerts, one folder per case)",
		Long: `test finds every folder under each DIR that holds a case.yml, runs its input
events (raw log lines in a parser format, or NDJSON ECS events) through a
fresh detection engine loaded with the case's rules, and compares the alerts
with the expected ones (rule ids or names, counts, optionally field values).
A failing case prints a diff: "-" lines are expected, "+" lines are what the
rules produced. The exit status is 1 when any case fails. docs/rules.md
describes the case format.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			var cases []*detect.Case
			for _, dir := range args {
				cs, err := detect.LoadCases(dir)
				if err != nil {
					return &ExitError{Code: 1, Err: err}
				}
				cases = append(cases, cs...)
			}
			if len(cases) == 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("no test cases (folders with %s) under %s", detect.CaseFile, strings.Join(args, ", "))}
			}
			failed := 0
			for _, c := range cases {
				res, err := c.Run()
				if err != nil {
					failed++
					fmt.Fprintf(out, "FAIL %s\n  %v\n", c.Name, err)
					continue
				}
				if res.OK() {
					if verbose {
						fmt.Fprintf(out, "ok   %s (%d events, %d alerts)\n", c.Name, res.Events, len(res.Alerts))
					}
					continue
				}
				failed++
				fmt.Fprintf(out, "FAIL %s (%s)\n", c.Name, c.Dir)
				for _, e := range res.RuleErrors {
					fmt.Fprintf(out, "  rule error: %s\n", e)
				}
				for _, f := range res.Failures {
					for _, l := range strings.Split(f, "\n") {
						fmt.Fprintf(out, "  %s\n", l)
					}
				}
				fmt.Fprintf(out, "  alerts raised (%d events in):\n%s", res.Events, indent(res.Summary(), "  "))
			}
			fmt.Fprintf(out, "%d cases, %d passed, %d failed\n", len(cases), len(cases)-failed, failed)
			if failed > 0 {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list passing cases too")
	return cmd
}

func indent(s, pre string) string {
	if s == "" {
		return pre + "  (none)\n"
	}
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(pre + l)
		}
	}
	return b.String()
}

func newRulesEvalCmd() *cobra.Command {
	var (
		ruleDirs []string
		intel    []string
		format   string
		timezone string
		shadow   []string
		disable  []string
		dedup    time.Duration
		anomalyF string
	)
	cmd := &cobra.Command{
		Use:   "eval --rules DIR [--intel FILE] [--format auto|NAME|ndjson] FILE...",
		Short: "Run detection offline over log files and print alerts as NDJSON",
		Long: `eval loads the Sigma rules and correlations under each --rules DIR and the
indicators of each --intel FILE (.json: STIX 2.1, otherwise CSV
type,value[,confidence,expires,source]), reads the log FILEs ("-" is standard
input) in the given format (a parser name, auto, or ndjson for ECS events as
'mcpsoc parse' prints them), and prints every alert as one JSON object per
line (docs/detection.md). Files are read in order through one engine, so
correlations span files. A summary goes to standard error.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(ruleDirs) == 0 {
				return &ExitError{Code: 2, Err: fmt.Errorf("--rules DIR is required")}
			}
			if dedup == 0 {
				dedup = -1 // 0 means the default in Options; here it means off
			}
			opts := &detect.Options{DedupWindow: dedup, Modes: map[string]detect.Mode{}}
			for _, id := range shadow {
				opts.Modes[id] = detect.ModeShadow
			}
			for _, id := range disable {
				opts.Modes[id] = detect.ModeDisabled
			}
			if len(intel) > 0 {
				set := ioc.NewSet()
				for _, f := range intel {
					inds, err := detect.ReadIntelFile(f)
					if err != nil {
						return &ExitError{Code: 1, Err: err}
					}
					if err := set.Add(inds...); err != nil {
						return &ExitError{Code: 1, Err: err}
					}
				}
				opts.Intel = set
			}
			if anomalyF != "" {
				det, err := loadAnomalyConfig(anomalyF)
				if err != nil {
					return &ExitError{Code: 1, Err: err}
				}
				opts.Anomaly = det
			}
			eng, bad, err := detect.Load(ruleDirs, nil, opts)
			for _, b := range bad {
				fmt.Fprintln(cmd.ErrOrStderr(), "rule not loaded:", b.Error())
			}
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			if format != detect.FormatNDJSON {
				if _, err := parse.New(format, nil); err != nil {
					return &ExitError{Code: 2, Err: err}
				}
			}
			w := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			var encErr error
			for _, name := range args {
				var r io.Reader
				cfg := &parse.Config{Timezone: timezone}
				if name == "-" {
					r = cmd.InOrStdin()
					cfg.SourceID = "stdin"
				} else {
					f, err := os.Open(name)
					if err != nil {
						return &ExitError{Code: 1, Err: fmt.Errorf("opening %s: %w", name, err)}
					}
					defer f.Close()
					r = f
					cfg.SourceID = "file:" + name
				}
				err := detect.ReadEvents(r, format, cfg, func(ev *event.Event) {
					for _, a := range eng.Process(ev) {
						if err := enc.Encode(a); err != nil && encErr == nil {
							encErr = err
						}
					}
				})
				if err != nil {
					w.Flush()
					return &ExitError{Code: 1, Err: fmt.Errorf("reading %s: %w", name, err)}
				}
			}
			if err := w.Flush(); err != nil || encErr != nil {
				return &ExitError{Code: 1, Err: fmt.Errorf("writing alerts: %w", errors.Join(err, encErr))}
			}
			st := eng.Stats()
			fmt.Fprintf(cmd.ErrOrStderr(), "%d rules, %d correlations, %d indicators: %d events, %d alerts (%d shadow), %d deduplicated, %d suppressed\n",
				st.Rules, st.Correlations, st.Indicators, st.Events, st.Alerts, st.Shadow, st.Deduplicated, st.Suppressed)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&ruleDirs, "rules", nil, "directory or file of Sigma rules (repeatable)")
	cmd.Flags().StringArrayVar(&intel, "intel", nil, "indicator file: STIX 2.1 .json or CSV (repeatable)")
	cmd.Flags().StringVarP(&format, "format", "f", parse.FormatAuto, "input format: auto, ndjson, or one of "+strings.Join(parse.Names(), ", "))
	cmd.Flags().StringVar(&timezone, "timezone", "", "time zone of timestamps that carry none (default UTC)")
	cmd.Flags().StringArrayVar(&shadow, "shadow", nil, "run this rule id or name in shadow mode (repeatable)")
	cmd.Flags().StringArrayVar(&disable, "disable", nil, "disable this rule id or name (repeatable)")
	cmd.Flags().DurationVar(&dedup, "dedup", 5*time.Minute, "deduplication window in event time (0 or negative: off)")
	cmd.Flags().StringVar(&anomalyF, "anomaly", "", "YAML file of anomaly detectors (rate, first_seen, beacon; docs/detection.md)")
	return cmd
}

// loadAnomalyConfig reads an anomaly.Config from YAML, strictly.
func loadAnomalyConfig(name string) (*anomaly.Detector, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading anomaly config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var cfg anomaly.Config
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	det, err := anomaly.New(&cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return det, nil
}
