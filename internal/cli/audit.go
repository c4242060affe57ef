package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/spf13/cobra"
)

func init() { register("audit", newAuditCmd) }

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Work with MCPSoc's hash-chained audit logs",
	}
	cmd.AddCommand(newAuditVerifyCmd())
	return cmd
}

func newAuditVerifyCmd() *cobra.Command {
	var head string
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check an audit log's hash chain; exit 1 naming the first bad record",
		Long: `verify reads every record of FILE and checks its canonical form, its hash, its
sequence number and its link to the record before it. An intact log prints its
head (last seq and hash) and exits 0; an edited, deleted, inserted or reordered
record makes it print the first bad line and exit 1. A log cut short at the end
still chains: pass the head you anchored earlier with --head SEQ:HASH to catch
that too. Exit 2 means the file could not be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts audit.VerifyOptions
			if head != "" {
				h, err := parseHead(head)
				if err != nil {
					return &ExitError{Code: 2, Err: err}
				}
				opts.ExpectHead = &h
			}
			f, err := os.Open(args[0])
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			defer f.Close()
			got, err := audit.Verify(f, &opts)
			var ce *audit.ChainError
			if errors.As(err, &ce) {
				return &ExitError{Code: 1, Err: fmt.Errorf("%s: tampered: %w", args[0], ce)}
			}
			if err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("reading %s: %w", args[0], err)}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok, %d records, head %d:%s\n", args[0], got.Seq, got.Seq, got.Hash)
			return nil
		},
	}
	cmd.Flags().StringVar(&head, "head", "", "expected head as `SEQ:HASH` (detects records cut off the end)")
	return cmd
}

func parseHead(s string) (audit.Head, error) {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || len(hash) != 64 {
		return audit.Head{}, fmt.Errorf("--head %q: want SEQ:HASH with a 64-digit hex hash", s)
	}
	return audit.Head{Seq: n, Hash: strings.ToLower(hash)}, nil
}
