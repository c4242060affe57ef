package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func testPolicy(t *testing.T, rules string) *Policy {
	t.Helper()
	cfg, err := ParseConfig("p.yaml", []byte("upstreams: [{name: fs, command: x}]\naudit: {file: '-'}\npolicy:\n"+rules), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return NewPolicy(cfg.Policy)
}

func TestPolicyDecisions(t *testing.T) {
	f, tr := false, true
	read := &mcp.Tool{Name: "read_file", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}}
	write := &mcp.Tool{Name: "write_file", Annotations: &mcp.ToolAnnotations{DestructiveHint: &tr}}
	add := &mcp.Tool{Name: "create_directory", Annotations: &mcp.ToolAnnotations{DestructiveHint: &f}}
	bare := &mcp.Tool{Name: "mystery"}
	pl := testPolicy(t, `
  rules:
    - name: no-secrets
      tools: [read_file]
      effect: deny
      when: 'args.path.contains(".ssh") || args.path.endsWith(".env")'
    - name: writers-in-tmp
      roles: [writer]
      tools: [write_file]
      effect: allow
      allow_destructive: true
      when: 'args.path.startsWith("/tmp/") && !args.path.contains("..")'
    - name: alice-only-reads-small
      subjects: [alice]
      tools: [read_file]
      effect: allow
      when: 'size(args.path) < 30 && "mcp:fs" in scopes'
    - name: everyone
      effect: allow
`)
	alice := &Principal{Subject: "alice", Roles: []string{"writer"}, Scopes: []string{"mcp:fs"}}
	bob := &Principal{Subject: "bob"}
	ctx := context.Background()
	cases := []struct {
		name   string
		p      *Principal
		tool   *mcp.Tool
		args   map[string]any
		allow  bool
		reason string
	}{
		{"conditional deny applies", alice, read, map[string]any{"path": "/home/a/.ssh/id_rsa"}, false, "denied by no-secrets"},
		{"conditional deny does not apply", alice, read, map[string]any{"path": "/tmp/a"}, true, "allowed by alice-only-reads-small"},
		{"allow condition fails", alice, read, map[string]any{"path": "/tmp/" + strings.Repeat("a", 40)}, false, "alice-only-reads-small: condition not met"},
		{"missing argument fails closed", alice, read, map[string]any{}, false, "no-secrets: condition could not be evaluated"},
		{"destructive inside tmp", alice, write, map[string]any{"path": "/tmp/x"}, true, "allowed by writers-in-tmp"},
		{"destructive traversal", alice, write, map[string]any{"path": "/tmp/../etc/passwd"}, false, "writers-in-tmp: condition not met"},
		{"destructive without role", bob, write, map[string]any{"path": "/tmp/x"}, false, "destructive tool: everyone does not set allow_destructive"},
		{"non-destructive by annotation", bob, add, nil, true, "allowed by everyone"},
		{"unannotated is destructive", bob, bare, nil, false, "destructive tool"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := pl.CanCall(ctx, tc.p, "fs", tc.tool, tc.args)
			if d.Allow != tc.allow || !strings.HasPrefix(d.Reason, tc.reason) {
				t.Errorf("got %v %q, want %v %q", d.Allow, d.Reason, tc.allow, tc.reason)
			}
		})
	}
	// Listing ignores conditions: a tool callable with some arguments is
	// listed; destructive tools only for those who may call them.
	if !pl.CanList(bob, "fs", read).Allow || pl.CanList(bob, "fs", write).Allow || !pl.CanList(alice, "fs", write).Allow {
		t.Error("listing decisions")
	}
}

func TestPolicyDefaultDeny(t *testing.T) {
	pl := testPolicy(t, "  rules: []\n")
	d := pl.CanList(&Principal{Subject: "x"}, "fs", &mcp.Tool{Name: "t", Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true}})
	if d.Allow || d.Reason != "no policy rule allows this tool" {
		t.Errorf("%+v", d)
	}
}
