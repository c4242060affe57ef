package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mcpsoc/mcpsoc/internal/parse"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/builtin" // every built-in log format
)

func init() { register("parse", newParseCmd) }

func newParseCmd() *cobra.Command {
	var (
		format   string
		timezone string
	)
	cmd := &cobra.Command{
		Use:   "parse [--format auto|NAME] FILE...",
		Short: "Normalize log files into ECS events, printed as NDJSON",
		Long: `Parse reads log files ("-" is standard input), normalizes every record into an
Elastic Common Schema event and prints one JSON event per line on standard
output. A summary (lines, events, pipeline errors) goes to standard error.

Records no parser understands are printed as events of kind "pipeline_error"
with the original text and the reason; they never stop the run.

Formats: ` + strings.Join(parse.Names(), ", "),
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := &parse.Config{Timezone: timezone}
			if _, err := parse.New(format, cfg); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
			var total parse.Stats
			for _, name := range args {
				st, err := parseFile(cmd, out, name, format, cfg)
				total.Lines += st.Lines
				total.Events += st.Events
				total.PipelineErrors += st.PipelineErrors
				total.Truncated += st.Truncated
				if err != nil {
					out.Flush()
					return err
				}
			}
			if err := out.Flush(); err != nil {
				return fmt.Errorf("writing events: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "parsed %d files: %d lines, %d events, %d pipeline errors, %d truncated\n",
				len(args), total.Lines, total.Events, total.PipelineErrors, total.Truncated)
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", parse.FormatAuto, "log format: auto or one of "+strings.Join(parse.Names(), ", "))
	cmd.Flags().StringVar(&timezone, "timezone", "", "time zone of timestamps that carry none (default UTC), e.g. Europe/Paris")
	return cmd
}

// parseFile streams one file through a fresh Normalizer (each file is its
// own stream: multi-line state and the source id do not carry over).
func parseFile(cmd *cobra.Command, out *bufio.Writer, name, format string, base *parse.Config) (parse.Stats, error) {
	var r io.Reader
	cfg := *base
	if name == "-" {
		r = cmd.InOrStdin()
		cfg.SourceID = "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return parse.Stats{}, fmt.Errorf("opening %s: %w", name, err)
		}
		defer f.Close()
		r = f
		cfg.SourceID = "file:" + name
	}
	n, err := parse.New(format, &cfg)
	if err != nil {
		return parse.Stats{}, err
	}
	sc := parse.NewScanner(r, n)
	buf := make([]byte, 0, 4096)
	for sc.Scan() {
		buf = sc.Event().AppendJSON(buf[:0])
		buf = append(buf, '\n')
		if _, err := out.Write(buf); err != nil {
			return sc.Stats(), fmt.Errorf("writing events: %w", err)
		}
	}
	if err := sc.Err(); err != nil {
		return sc.Stats(), fmt.Errorf("reading %s: %w", name, err)
	}
	return sc.Stats(), nil
}
