// Command mcpsoc is the MCPSoc binary: a security operations center over the
// Model Context Protocol, and security for the MCP ecosystem.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mcpsoc/mcpsoc/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
