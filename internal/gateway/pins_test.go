package gateway

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
	"github.com/mcpsoc/mcpsoc/internal/pin"
	mcpsign "github.com/mcpsoc/mcpsoc/internal/sign"
	"github.com/mcpsoc/mcpsoc/internal/testenv"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// fixtureListing lists the in-process fixture's tools as the scanner
// models them, with edit applied to each tool (return false to drop it).
func fixtureListing(t *testing.T, edit func(*mcpsec.Tool) bool) *mcpsec.Server {
	t.Helper()
	cs := inMemorySession(t, upstreamServer())
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &mcpsec.Server{Name: "fix"}
	for _, tl := range lt.Tools {
		b, _ := json.Marshal(tl)
		var mt mcpsec.Tool
		if err := json.Unmarshal(b, &mt); err != nil {
			t.Fatal(err)
		}
		if edit == nil || edit(&mt) {
			s.Tools = append(s.Tools, mt)
		}
	}
	return s
}

// inProcessID is the identity the scanner gives the test upstream entry
// (url: http://127.0.0.1:9/in-process).
var inProcessID = pin.Identity{Kind: "url", Name: "http://127.0.0.1:9/in-process"}

func writeLock(t *testing.T, path string, servers ...*pin.Server) {
	t.Helper()
	lf := pin.New()
	for _, s := range servers {
		lf.Add(s)
	}
	if err := lf.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

func callText(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return resultText(res), res.IsError
}

func listedNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tl := range lt.Tools {
		out = append(out, tl.Name)
	}
	return out
}

// TestLockfileQuarantineAndApprove pins the fixture in a lockfile with
// echo's description different from the live one and delete_file missing:
// both are quarantined (not listed, calls refused with the reason), the
// quarantine API shows a readable diff, and an approval writes the new
// hashes to the lockfile and releases the tool.
func TestLockfileQuarantineAndApprove(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "mcp.lock.json")
	locked, err := pin.Snapshot(inProcessID, []string{"fix"}, fixtureListing(t, func(mt *mcpsec.Tool) bool {
		if mt.Name == "echo" {
			mt.Description = "Echo a message back, unchanged."
		}
		return mt.Name != "delete_file"
	}))
	if err != nil {
		t.Fatal(err)
	}
	writeLock(t, lock, locked)
	yaml := strings.Replace(openLoopback, "audit:", "content: {lockfile: "+lock+"}\napprovals: {subjects: [local]}\naudit:", 1)
	_, srv, auditPath := newTestGateway(t, yaml, nil)
	cs, err := connect(t, srv.URL+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	names := listedNames(t, cs)
	if slices.Contains(names, "fix.echo") || slices.Contains(names, "fix.delete_file") || !slices.Contains(names, "fix.slow") {
		t.Fatalf("listed %v", names)
	}
	if text, isErr := callText(t, cs, "fix.echo", map[string]any{"message": "x"}); !isErr ||
		!strings.HasPrefix(text, "tool fix.echo is blocked by the gateway: definition changed from the lockfile (description; pinned ") {
		t.Fatalf("changed tool call: %q", text)
	}
	if text, isErr := callText(t, cs, "fix.delete_file", map[string]any{"path": "/tmp/x"}); !isErr || !strings.Contains(text, "tool is not in the lockfile (added since it was pinned)") {
		t.Fatalf("added tool call: %q", text)
	}
	if text, isErr := callText(t, cs, "fix.slow", map[string]any{"steps": 1, "ms": 1}); isErr {
		t.Fatalf("pinned tool: %q", text)
	}

	var q struct{ Quarantined []Quarantined }
	getJSON(t, http.MethodGet, srv.URL+"/quarantine", http.StatusOK, &q)
	if len(q.Quarantined) != 2 || q.Quarantined[0].Name != "fix.delete_file" || q.Quarantined[0].Kind != "added" || q.Quarantined[1].Kind != "changed" {
		t.Fatalf("quarantine %+v", q)
	}
	if d := q.Quarantined[1].Diff; d != "description: Echo a message[- back, unchanged-]." {
		t.Fatalf("diff %q", d)
	}
	getJSON(t, http.MethodPost, srv.URL+"/quarantine/fix.nope/approve", http.StatusNotFound, nil)
	getJSON(t, http.MethodPost, srv.URL+"/quarantine/fix.echo/approve", http.StatusOK, nil)
	if text, isErr := callText(t, cs, "fix.echo", map[string]any{"message": "x"}); isErr {
		t.Fatalf("approved tool: %q", text)
	}
	if !slices.Contains(listedNames(t, cs), "fix.echo") {
		t.Fatal("approved tool not listed")
	}
	// The approval is in the lockfile with the scanner's canonical hash.
	lf, err := pin.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	live, _ := pin.Snapshot(inProcessID, nil, fixtureListing(t, nil))
	if got := lf.Servers[inProcessID.Key()].Tools["echo"].SHA256; got != live.Tools["echo"].SHA256 {
		t.Fatalf("lockfile echo %s, live %s", got, live.Tools["echo"].SHA256)
	}
	var held, approved bool
	for _, r := range auditRecords(t, auditPath) {
		held = held || (r.Kind == "gateway.quarantine" && r.Tool == "echo" && r.Decision == "deny")
		approved = approved || (r.Kind == "gateway.quarantine" && r.Tool == "echo" && r.Decision == "allow" && r.Subject == "local")
	}
	if !held || !approved {
		t.Errorf("audit: held %v approved %v", held, approved)
	}
}

// TestLockfileUnpinnedUpstream: an upstream the lockfile does not know is
// served with none of its tools.
func TestLockfileUnpinnedUpstream(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "mcp.lock.json")
	writeLock(t, lock)
	yaml := strings.Replace(openLoopback, "audit:", "content: {lockfile: "+lock+"}\naudit:", 1)
	_, srv, _ := newTestGateway(t, yaml, nil)
	cs, err := connect(t, srv.URL+"/mcp", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if names := listedNames(t, cs); len(names) != 0 {
		t.Fatalf("listed %v", names)
	}
	if text, isErr := callText(t, cs, "fix.echo", map[string]any{"message": "x"}); !isErr ||
		!strings.HasPrefix(text, "tool fix.echo is blocked by the gateway: upstream fix (url:http://127.0.0.1:") || !strings.Contains(text, ") is not in the lockfile") {
		t.Fatalf("call: %q", text)
	}
}

// TestLockfileFromPinCommand writes the lockfile with the real `mcpsoc pin`
// over a client config, fronts the same stdio server with the gateway (no
// tool is quarantined: one hashing code path), then rewrites one pin as a
// rug pull would look: the gateway re-reads the file and quarantines the
// tool mid-session.
func TestLockfileFromPinCommand(t *testing.T) {
	bin := testenv.GoBinary(t, "github.com/mcpsoc/mcpsoc/cmd/mcpsoc")
	dir := t.TempDir()
	clientCfg := filepath.Join(dir, "mcp.json")
	b, _ := json.Marshal(map[string]any{"mcpServers": map[string]any{"conf": map[string]any{"command": bin, "args": []string{"mcp", "conformance"}}}})
	if err := os.WriteFile(clientCfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "mcp.lock.json")
	if out, err := exec.Command(bin, "pin", "--config", clientCfg, "--client", "claude-desktop", "--lock", lock).CombinedOutput(); err != nil {
		t.Fatalf("mcpsoc pin: %v\n%s", err, out)
	}
	// `mcpsoc gateway pin` on a gateway config with the same server writes
	// the same identity and tool hashes.
	gwCfg := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(gwCfg, []byte("upstreams:\n  - {name: conf, command: "+bin+", args: [mcp, conformance]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lock2 := filepath.Join(dir, "gw.lock.json")
	if out, err := exec.Command(bin, "gateway", "pin", "--config", gwCfg, "--lock", lock2).CombinedOutput(); err != nil {
		t.Fatalf("mcpsoc gateway pin: %v\n%s", err, out)
	}
	l1, err := pin.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := pin.ReadFile(lock2)
	if err != nil {
		t.Fatal(err)
	}
	for key, s1 := range l1.Servers {
		s2 := l2.Servers[key]
		if s2 == nil || len(s2.Tools) != len(s1.Tools) || len(s1.Tools) == 0 {
			t.Fatalf("gateway pin has %v for %s", s2, key)
		}
		for name, o := range s1.Tools {
			if s2.Tools[name].SHA256 != o.SHA256 {
				t.Errorf("tool %s: mcpsoc pin %s, gateway pin %s", name, o.SHA256, s2.Tools[name].SHA256)
			}
		}
	}
	gw, srv, _ := newTestGateway(t, `
upstreams:
  - {name: conf, command: `+bin+`, args: [mcp, conformance]}
content: {lockfile: `+lock+`, tool_scan: "off"}
policy: {rules: [{effect: allow, allow_destructive: true}]}
audit: {file: AUDIT, sync: never}
`, nil)
	cs, err := connect(t, srv.URL+"/mcp/conf", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	names := listedNames(t, cs)
	if q := gw.guard.quarantined(); len(names) == 0 || len(q) != 0 {
		t.Fatalf("listed %d tools, quarantined %+v", len(names), q)
	}
	if !slices.Contains(names, "test_simple_text") {
		t.Fatalf("listed %v", names)
	}
	if text, isErr := callText(t, cs, "test_simple_text", nil); isErr {
		t.Fatalf("pinned tool: %q", text)
	}
	// Rewrite the pin of test_simple_text as if the server had changed.
	lf, err := pin.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	var srvPin *pin.Server
	for _, s := range lf.Servers {
		srvPin = s
	}
	old := srvPin.Tools["test_simple_text"]
	var def mcpsec.Tool
	if err := json.Unmarshal(old.Definition, &def); err != nil {
		t.Fatal(err)
	}
	def.Description = "An earlier, different description."
	if srvPin.Tools["test_simple_text"], err = pin.HashTool(def); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a distinct modification time
	if err := lf.WriteFile(lock); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		text, isErr := callText(t, cs, "test_simple_text", nil)
		if isErr && strings.Contains(text, "definition changed from the lockfile (description;") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lockfile change not enforced: %q", text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSignatures checks the fixture's signed manifest against a trust
// store: a valid signature serves the tools, a signature by an untrusted
// key is refused (require) or only audited (flag), and a tool whose
// definition differs from the signed hash is refused on its own.
func TestSignatures(t *testing.T) {
	pub, priv, err := mcpsign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherPriv, _ := mcpsign.GenerateKey()
	dir := t.TempDir()
	trust := filepath.Join(dir, "trust.txt")
	if err := os.WriteFile(trust, []byte("io.github.mcpsoc/* "+mcpsign.FormatPublicKey(pub)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	manifest := func(name string, key ed25519.PrivateKey, edit func(*mcpsec.Tool) bool) string {
		ps, err := pin.Snapshot(inProcessID, nil, fixtureListing(t, edit))
		if err != nil {
			t.Fatal(err)
		}
		m, err := mcpsign.FromPinned("io.github.mcpsoc/fixture", "1.0.0", ps)
		if err != nil {
			t.Fatal(err)
		}
		s := &mcpsign.Signed{Manifest: m}
		if err := mcpsign.Sign(s, key); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		b, _ := json.Marshal(s)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := manifest("good.json", priv, nil)
	untrusted := manifest("untrusted.json", otherPriv, nil)
	echoDiffers := manifest("echo.json", priv, func(mt *mcpsec.Tool) bool {
		if mt.Name == "echo" {
			mt.Description = "Signed description."
		}
		return true
	})
	run := func(mode, file string) (*mcp.ClientSession, string) {
		yaml := strings.Replace(openLoopback, "audit:", "content:\n  signatures: {mode: "+mode+", trust_store: "+trust+", manifests: {fix: "+file+"}}\naudit:", 1)
		_, srv, auditPath := newTestGateway(t, yaml, nil)
		cs, err := connect(t, srv.URL+"/mcp", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		return cs, auditPath
	}
	t.Run("valid", func(t *testing.T) {
		cs, _ := run("require", good)
		if names := listedNames(t, cs); !slices.Contains(names, "fix.echo") {
			t.Fatalf("listed %v", names)
		}
	})
	t.Run("untrusted-require", func(t *testing.T) {
		cs, _ := run("require", untrusted)
		if names := listedNames(t, cs); len(names) != 0 {
			t.Fatalf("listed %v", names)
		}
		if text, isErr := callText(t, cs, "fix.echo", map[string]any{"message": "x"}); !isErr ||
			!strings.Contains(text, "upstream refused: manifest signature does not verify: no valid signature by a trusted key") {
			t.Fatalf("call: %q", text)
		}
	})
	t.Run("untrusted-flag", func(t *testing.T) {
		cs, auditPath := run("flag", untrusted)
		if text, isErr := callText(t, cs, "fix.echo", map[string]any{"message": "x"}); isErr {
			t.Fatalf("call: %q", text)
		}
		flagged := false
		for _, r := range auditRecords(t, auditPath) {
			flagged = flagged || (r.Kind == "gateway.signature" && r.Decision == "flag" && strings.Contains(r.Reason, "does not verify"))
		}
		if !flagged {
			t.Error("bad signature not audited")
		}
	})
	t.Run("tool-differs", func(t *testing.T) {
		cs, _ := run("require", echoDiffers)
		names := listedNames(t, cs)
		if slices.Contains(names, "fix.echo") || !slices.Contains(names, "fix.slow") {
			t.Fatalf("listed %v", names)
		}
		if text, _ := callText(t, cs, "fix.echo", map[string]any{"message": "x"}); !strings.Contains(text, "definition differs from the signed manifest") {
			t.Fatalf("call: %q", text)
		}
	})
}

// getJSON makes an approver API request as the loopback anonymous subject
// and checks the status.
func getJSON(t *testing.T, method, url string, want int, out any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s, want %d", method, url, resp.Status, want)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}
