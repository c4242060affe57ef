package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve the conformance fixture over stdio,
// so serve can be tested with a real MCP server process.
func TestMain(m *testing.M) {
	if os.Getenv("MCPSOC_CLI_TEST_FIXTURE") == "1" {
		os.Exit(Execute(context.Background(), []string{"mcp", "conformance"}, os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// run executes the command line and returns exit code, stdout and stderr.
func run(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(ctx, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, context.Background(), "version")
	if code != 0 || !strings.HasPrefix(out, "mcpsoc ") {
		t.Errorf("version: code %d, out %q", code, out)
	}
}

func TestConfigValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("log:\n  level: debug\nmcp:\n  servers:\n    - name: fs\n      command: server-filesystem\n"), 0o600)
	os.WriteFile(bad, []byte("log:\n  level: debug\n  colour: blue\n"), 0o600)
	if code, out, errs := run(t, context.Background(), "config", "validate", good); code != 0 || !strings.Contains(out, "ok (1 MCP server(s)") {
		t.Errorf("good file: code %d, out %q, err %q", code, out, errs)
	}
	code, _, errs := run(t, context.Background(), "config", "validate", bad)
	if want := bad + `:3: log.colour: unknown field "colour"`; code != 1 || !strings.Contains(errs, want) {
		t.Errorf("bad file: code %d, stderr %q, want %q", code, errs, want)
	}
	if code, _, _ := run(t, context.Background(), "config", "validate"); code != 2 {
		t.Errorf("missing argument: code %d, want 2", code)
	}
}

func TestServeRefusesUnauthenticatedPublicListener(t *testing.T) {
	code, _, errs := run(t, context.Background(), "serve", "--listen", "0.0.0.0:0", "--data", t.TempDir())
	if code != 2 || !strings.Contains(errs, "not a loopback address") {
		t.Errorf("code %d, stderr %q", code, errs)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs 'mcpsoc serve' in-process with cfg and waits for
// readiness. It returns the API's base URL and the data directory.
func startServe(t *testing.T, cfg string, args ...string) (base, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "mcpsoc.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir = filepath.Join(dir, "data")
	// freeAddr's port can be taken by another test between its close and
	// serve's bind: a start that fails on that is retried on a new port.
	for attempt := 0; ; attempt++ {
		addr := freeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		var code int
		var stderr bytes.Buffer
		go func() {
			defer close(done)
			code = Execute(ctx, append([]string{"serve", "--config", path, "--listen", addr, "--data", dataDir}, args...),
				strings.NewReader(""), io.Discard, &stderr)
		}()
		base = "http://" + addr
		ready, exited := waitReady(base, done)
		if exited && attempt < 3 && strings.Contains(stderr.String(), "address already in use") {
			cancel()
			continue
		}
		t.Cleanup(func() {
			cancel()
			<-done
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, stderr.String())
			}
		})
		if !ready {
			cancel()
			<-done
			t.Fatalf("serve never became ready: %s", stderr.String())
		}
		return base, dataDir
	}
}

// waitReady polls base's /readyz for up to 30 s; it reports whether it
// answered 200 and whether the server ended first (done closed).
func waitReady(base string, done <-chan struct{}) (ready, exited bool) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false, true
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true, false
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false, false
}

func get(t *testing.T, url string, header ...string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func fixtureConfig(t *testing.T, extra string) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`%s
mcp:
  servers:
    - name: fixture
      command: %q
      env:
        MCPSOC_CLI_TEST_FIXTURE: "1"
`, extra, exe)
}

func TestServeMCPCatalog(t *testing.T) {
	base, _ := startServe(t, fixtureConfig(t, ""))

	code, body := get(t, base+"/api/v1/mcp/servers")
	var servers struct {
		Servers []struct {
			Name, State, ProtocolVersion string
			Tools                        int
		} `json:"servers"`
	}
	if err := json.Unmarshal(body, &servers); code != 200 || err != nil || len(servers.Servers) != 1 {
		t.Fatalf("servers: %d %s", code, body)
	}
	if s := servers.Servers[0]; s.Name != "fixture" || s.State != "up" || s.Tools < 15 {
		t.Errorf("fixture status: %s", body)
	}
	code, body = get(t, base+"/api/v1/mcp/tools?server=fixture")
	if code != 200 || !strings.Contains(string(body), `"name": "fixture.test_simple_text"`) {
		t.Errorf("tools: %d %.300s", code, body)
	}
	if code, body = get(t, base+"/api/v1/mcp/servers/fixture"); code != 200 || !strings.Contains(string(body), `"protocol_version": "2026-07-28"`) {
		t.Errorf("one server: %d %s", code, body)
	}
	if code, _ = get(t, base+"/api/v1/mcp/servers/nope"); code != 404 {
		t.Errorf("unknown server: %d", code)
	}
	if code, body = get(t, base+"/metrics"); code != 200 || !strings.Contains(string(body), `mcpsoc_mcp_server_up{server="fixture"} 1`) {
		t.Errorf("metrics: %d", code)
	}
	if code, body = get(t, base+"/api/v1/openapi.json"); code != 200 || !json.Valid(body) {
		t.Errorf("openapi: %d", code)
	}
	if code, _ = get(t, base+"/api/v1/mcp/servers", "Host", "evil.example.com"); code != 403 {
		t.Errorf("rebinding Host: %d, want 403", code)
	}
}

func TestServeAPIKeys(t *testing.T) {
	const key = "test-key-0123456789abcdef"
	base, _ := startServe(t, "api:\n  api_keys: [\""+key+"\"]\n")
	if code, _ := get(t, base+"/api/v1/mcp/servers"); code != 401 {
		t.Errorf("no key: %d, want 401", code)
	}
	if code, _ := get(t, base+"/api/v1/mcp/servers", "Authorization", "Bearer wrong-key-0123456789"); code != 401 {
		t.Errorf("wrong key: %d, want 401", code)
	}
	if code, _ := get(t, base+"/api/v1/mcp/servers", "Authorization", "Bearer "+key); code != 200 {
		t.Errorf("bearer key: %d", code)
	}
	if code, _ := get(t, base+"/metrics", "X-API-Key", key); code != 200 {
		t.Errorf("X-API-Key: %d", code)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("healthz needs no key: %d", code)
	}
}

func TestServeRejectsMalformedConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("api:\n  listen: 127.0.0.1:0\nmcp:\n  servers:\n    - name: x\n      comand: typo\n"), 0o600)
	code, _, errs := run(t, context.Background(), "serve", "--config", path)
	if want := path + `:6: mcp.servers[0].comand: unknown field "comand" (did you mean "command"?)`; code != 2 || !strings.Contains(errs, want) {
		t.Errorf("code %d, stderr %q, want %q", code, errs, want)
	}
}
