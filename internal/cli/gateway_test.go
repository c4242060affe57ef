package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/gateway"
	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// exampleWithLocalPeer is examples/gateway.yaml with the npx upstream
// replaced by the installed server-everything, so the test runs offline;
// everything else is the example as shipped.
func exampleWithLocalPeer(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "examples", "gateway.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	node := testenv.Node(t)
	script := testenv.PeerFile(t, "@modelcontextprotocol/server-everything/dist/index.js")
	text := strings.Replace(string(data), "    command: npx\n    args: [\"-y\", \"@modelcontextprotocol/server-everything@2026.8.31\", \"stdio\"]",
		"    command: "+node+"\n    args: ["+script+", stdio]", 1)
	if text == string(data) {
		t.Fatal("example upstream not found")
	}
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	os.WriteFile(path, []byte(text), 0o600)
	return path
}

func TestGatewayExampleValidates(t *testing.T) {
	example := filepath.Join(testenv.RepoRoot(), "examples", "gateway.yaml")
	code, out, errs := run(t, context.Background(), "gateway", "--config", example, "--check")
	if code != 0 || out != example+": ok (1 upstream(s), 3 policy rule(s), auth none (loopback only, subject local))\n" {
		t.Fatalf("check: %d %q %q", code, out, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("upstreams: [{name: a, command: x}]\npolicy: {defualt: allow}\n"), 0o600)
	code, _, errs = run(t, context.Background(), "gateway", "--config", bad, "--check")
	if code != 2 || !strings.Contains(errs, bad+`:2: policy.defualt: unknown field "defualt"`) {
		t.Fatalf("bad config: %d %q", code, errs)
	}
}

func TestGatewayHTTPAndAuditVerify(t *testing.T) {
	cfg := exampleWithLocalPeer(t)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var code int
	var stderr bytes.Buffer
	wg.Add(1)
	go func() {
		defer wg.Done()
		code = Execute(ctx, []string{"gateway", "--config", cfg, "--listen", addr, "--log-level", "warn"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	stop := func() {
		cancel()
		wg.Wait()
	}
	defer stop()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, body := tryGet(base + "/healthz"); c == 200 && strings.Contains(body, `"state":"up"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway never became ready: %s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The official TypeScript SDK client through the gateway.
	node := testenv.Node(t)
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	cmd := exec.CommandContext(cctx, node, filepath.Join(testenv.RepoRoot(), "test", "peers", "client.mjs"), "http", base+"/mcp")
	cmd.Env = append(cmd.Environ(), "TOOL=everything.echo", `TOOL_ARGS={"message":"via cli"}`)
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "via cli") || strings.Contains(string(out), "everything.get-env") {
		t.Fatalf("ts client: %v %s", err, out)
	}
	var got struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	json.Unmarshal(out, &got)
	if len(got.Tools) < 5 {
		t.Errorf("only %d tools listed", len(got.Tools))
	}
	stop()
	if code != 0 {
		t.Fatalf("gateway exited %d: %s", code, stderr.String())
	}
	auditFile := filepath.Join(filepath.Dir(cfg), "gateway-audit.jsonl")
	_, head, ok := strings.Cut(stderr.String(), "audit log "+auditFile+" head ")
	head = strings.TrimSpace(head)
	if !ok || head == "" {
		t.Fatalf("no audit head on shutdown: %s", stderr.String())
	}
	code, outs, errs := run(t, context.Background(), "audit", "verify", "--head", head, auditFile)
	if code != 0 || !strings.Contains(outs, "ok, ") {
		t.Fatalf("audit verify: %d %q %q", code, outs, errs)
	}
}

func tryGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGatewayStdio(t *testing.T) {
	cfg := exampleWithLocalPeer(t)
	bin := testenv.GoBinary(t, "github.com/mcpsoc/mcpsoc/cmd/mcpsoc")
	node := testenv.Node(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(testenv.RepoRoot(), "test", "peers", "client.mjs"), "stdio", bin, "gateway", "--stdio", "--config", cfg, "--log-level", "error")
	cmd.Env = append(cmd.Environ(), "TOOL=everything.get-sum", `TOOL_ARGS={"a":2,"b":3}`)
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "5") {
		t.Fatalf("stdio: %v %s", err, out)
	}
}

func TestGatewayRefusesPublicListenWithoutAuth(t *testing.T) {
	cfg := exampleWithLocalPeer(t)
	code, _, errs := run(t, context.Background(), "gateway", "--config", cfg, "--listen", "0.0.0.0:0")
	if code != 2 || !strings.Contains(errs, "not a loopback address and no authentication is configured") {
		t.Fatalf("code %d stderr %q", code, errs)
	}
	if code, _, _ := run(t, context.Background(), "gateway"); code != 2 {
		t.Fatalf("missing --config: code %d", code)
	}
}

func TestGatewayHashKey(t *testing.T) {
	var out bytes.Buffer
	code := Execute(context.Background(), []string{"gateway", "hash-key"}, strings.NewReader("secret-key\n"), &out, io.Discard)
	if code != 0 || strings.TrimSpace(out.String()) != "sha256: "+gateway.HashKey("secret-key") {
		t.Fatalf("%d %q", code, out.String())
	}
}

func TestGatewayApprovalsCommand(t *testing.T) {
	node := testenv.Node(t)
	script := testenv.PeerFile(t, "@modelcontextprotocol/server-everything/dist/index.js")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gw.yaml")
	os.WriteFile(cfg, []byte(`
upstreams:
  - {name: everything, command: `+node+`, args: [`+script+`, stdio]}
auth:
  api_keys:
    - {subject: alice, sha256: `+gateway.HashKey("alice-key")+`}
    - {subject: bob, roles: [approver], sha256: `+gateway.HashKey("bob-key")+`}
policy:
  rules:
    - {name: echo-needs-approval, tools: [echo], effect: allow, require_approval: true}
approvals: {timeout: 20s, roles: [approver]}
`), 0o600)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		Execute(ctx, []string{"gateway", "--config", cfg, "--listen", addr, "--log-level", "error"}, strings.NewReader(""), io.Discard, io.Discard)
	}()
	defer func() { cancel(); wg.Wait() }()
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, body := tryGet(base + "/healthz"); c == 200 && strings.Contains(body, `"state":"up"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("gateway not ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Alice's call (a stateless 2026-07-28 request) waits for approval.
	done := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"everything.echo","arguments":{"message":"approved hello"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"x","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", "everything.echo")
		req.Header.Set("Authorization", "Bearer alice-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	var id string
	for deadline := time.Now().Add(10 * time.Second); id == ""; {
		var o bytes.Buffer
		Execute(context.Background(), []string{"gateway", "approvals", "list", "--url", base, "--key", "bob-key"}, strings.NewReader(""), &o, io.Discard)
		if f := strings.Fields(o.String()); len(f) > 3 && f[1] == "alice" {
			if !strings.Contains(o.String(), "everything.echo") {
				t.Fatalf("list: %s", o.String())
			}
			id = f[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pending approval listed: %s", o.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var o, e bytes.Buffer
	if c := Execute(context.Background(), []string{"gateway", "approvals", "approve", id, "--url", base, "--key", "alice-key"}, strings.NewReader(""), &o, &e); c != 1 || !strings.Contains(e.String(), "403") {
		t.Errorf("self-approval via CLI: %d %q", c, e.String())
	}
	o.Reset()
	if c := Execute(context.Background(), []string{"gateway", "approvals", "approve", id, "--url", base, "--key", "bob-key"}, strings.NewReader(""), &o, io.Discard); c != 0 || o.String() != id+": approved\n" {
		t.Errorf("approve via CLI: %d %q", c, o.String())
	}
	select {
	case body := <-done:
		if !strings.Contains(body, "approved hello") {
			t.Fatalf("call result: %s", body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("approved call never completed")
	}
}

func TestGatewayTLS(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "gw.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "gw.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cfg := exampleWithLocalPeer(t)
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(data), "# tls: {cert_file: gw.crt, key_file: gw.key}", "tls: {cert_file: "+filepath.Join(dir, "gw.crt")+", key_file: "+filepath.Join(dir, "gw.key")+"}", 1)), 0o600)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var stderr bytes.Buffer
	wg.Add(1)
	go func() {
		defer wg.Done()
		Execute(ctx, []string{"gateway", "--config", cfg, "--listen", addr, "--log-level", "error"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	defer func() { cancel(); wg.Wait() }()
	pool := x509.NewCertPool()
	pool.AddCert(func() *x509.Certificate { c, _ := x509.ParseCertificate(der); return c }())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := client.Get("https://" + addr + "/.well-known/oauth-protected-resource/mcp")
		if err == nil {
			var md struct{ Resource string }
			json.NewDecoder(resp.Body).Decode(&md)
			resp.Body.Close()
			if md.Resource != "https://"+addr+"/mcp" {
				t.Fatalf("resource %q", md.Resource)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS: %v %s", err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Plain HTTP to the TLS listener gets net/http's 400, never data.
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP served")
		}
	}
}
