package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// linuxHome is the fixture home: real-looking configs of every supported
// client, with the expected findings in testdata/linux-home.golden.
func linuxHome(t *testing.T) Env {
	t.Helper()
	home, err := filepath.Abs("testdata/linux-home")
	if err != nil {
		t.Fatal(err)
	}
	return Env{OS: "linux", Home: home, Workdir: filepath.Join(home, "project"), Root: t.TempDir()}
}

func goldenLines(r *Report, base string) string {
	var b strings.Builder
	for _, f := range r.Findings {
		rel, _ := filepath.Rel(base, f.File)
		fmt.Fprintf(&b, "%s %s %s server=%s rule=%s at=%s | %s\n", f.Client, f.Scope, filepath.ToSlash(rel), f.Location.Server, f.RuleID, f.Location.Path, f.Evidence)
	}
	return b.String()
}

func TestScanFixtureHome(t *testing.T) {
	env := linuxHome(t)
	rep, err := Run(context.Background(), &Options{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	got := goldenLines(rep, env.Home)
	golden := "testdata/linux-home.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("findings differ from %s (-want +got):\n%s", golden, d)
	}
	// Every client in the fixture was found.
	clients := map[string]bool{}
	for _, f := range rep.Files {
		clients[f.Client] = true
	}
	for _, c := range []string{"claude-desktop", "claude-code", "cursor", "vscode", "cline", "windsurf", "zed", "continue", "gemini-cli", "codex", "kiro", "opencode", "amazon-q", "copilot-cli"} {
		if !clients[c] {
			t.Errorf("client %s not discovered", c)
		}
	}
	// No secret value appears in any output.
	var js, tbl bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(&tbl, rep, false); err != nil {
		t.Fatal(err)
	}
	sb, _ := json.Marshal(SARIF(rep, SARIFOptions{}))
	for _, secret := range []string{"R8x2Lq9ZtV4mN7pK3sW6yB1cF5hJ0dG2aE8u", "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "4fG7hJ2kL9mN3pQ6rS8tV1wX5yZ0aB2c", "S3cretPassw0rd", "Zq8Wm3Rt6Yp1Ks4Nv7Bx0Hc2", "AIzaSyD4kq8Vn3Lx7Pz1Rw5Ty9Ub2Mc6Jh0Fg3E", "Ab1Cd2Ef3Gh4Ij5Kl6Mn", "Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc4Vb6Nm8", "Wq7Lm2Zx9Pv4Rt8K"} {
		for name, out := range map[string][]byte{"json": js.Bytes(), "table": tbl.Bytes(), "sarif": sb} {
			if bytes.Contains(out, []byte(secret)) {
				t.Errorf("%s output leaks secret %s", name, secret)
			}
		}
	}
}

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }
