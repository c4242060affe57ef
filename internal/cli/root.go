// Package cli builds the mcpsoc command tree. It owns flag parsing and wiring
// only: each subcommand lives in its own file and calls into the packages that
// do the work. A subcommand registers itself from init with register, so adding
// a command never means editing a shared list.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/spf13/cobra"
)

// ExitError carries a process exit code through cobra. Commands return it when
// the code matters to callers (a scanner's "findings" exit 1, say); its message
// is printed unless empty.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// commandFactory builds one top-level subcommand.
type commandFactory func() *cobra.Command

var (
	registryMu sync.Mutex
	registry   = map[string]commandFactory{}
)

// register adds a top-level subcommand. It panics on an empty or duplicate
// name: both are programmer errors caught at start-up.
func register(name string, f commandFactory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if name == "" {
		panic("cli: register with empty name")
	}
	if _, dup := registry[name]; dup {
		panic("cli: duplicate command " + name)
	}
	registry[name] = f
}

// NewRoot builds the whole command tree.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "mcpsoc",
		Short: "MCPSoc: a security operations center over the Model Context Protocol",
		Long: `MCPSoc ingests security logs, detects threats and runs response playbooks, reaching
firewalls, WAFs, antivirus, IDS and threat intelligence as MCP servers. It also
scans and guards the MCP ecosystem itself.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	registryMu.Lock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		root.AddCommand(registry[n]())
	}
	registryMu.Unlock()
	usageExitCodes(root)
	return root
}

// usageExitCodes makes argument-count errors exit 2, like flag errors, in
// every command of the tree.
func usageExitCodes(c *cobra.Command) {
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("%w\nrun '%s --help' for usage", err, cmd.CommandPath())}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		usageExitCodes(sub)
	}
}

// Execute runs the command line and returns the process exit code: 0 on
// success, the code of an ExitError, or 1 (2 for usage errors).
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := NewRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &ExitError{Code: 2, Err: fmt.Errorf("%w\nrun '%s --help' for usage", err, c.CommandPath())}
	})
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil && ee.Err.Error() != "" {
			fmt.Fprintln(stderr, "mcpsoc:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "mcpsoc:", err)
	return 1
}
