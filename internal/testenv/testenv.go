// Package testenv locates the real peers tests run against (Node, the npm
// packages under test/peers, the conformance suite, binaries built from the
// Go SDK) and decides what a missing peer means: a skip with a message on a
// developer's machine, a failure under CI=true. It is imported by tests only.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Missing reports a peer that is not installed: t.Fatal under CI=true,
// t.Skip otherwise, naming what to run to install it.
func Missing(t testing.TB, what string) {
	t.Helper()
	msg := what + " is not installed; run 'make test' (scripts/test.sh installs the test peers)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RepoRoot returns the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Node returns the path of a Node.js binary (the system's, Node 20+).
func Node(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		Missing(t, "node")
	}
	return p
}

// PeerFile returns a file inside test/peers/node_modules, e.g.
// "@modelcontextprotocol/server-everything/dist/index.js".
func PeerFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(), "test", "peers", "node_modules", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		Missing(t, "npm package file "+rel)
	}
	return p
}

var (
	buildMu    sync.Mutex
	buildCache = map[string]string{}
)

// GoBinary builds a main package (ours or a dependency's, such as the Go
// SDK's conformance programs) once per test process and returns its path.
func GoBinary(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := buildCache[pkg]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "mcpsoc-testbin-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
	buildCache[pkg] = out
	return out
}
