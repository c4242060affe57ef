package waf

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// Debian's locations of the peers (interop.md §8).
const (
	modsecConf   = "/etc/nginx/modsecurity.conf"
	unicodeMap   = "/etc/nginx/unicode.mapping"
	crsSetup     = "/etc/modsecurity/crs/crs-setup.conf"
	crsBefore    = "/etc/modsecurity/crs/REQUEST-900-EXCLUSION-RULES-BEFORE-CRS.conf"
	crsAfter     = "/etc/modsecurity/crs/RESPONSE-999-EXCLUSION-RULES-AFTER-CRS.conf"
	crsRules     = "/usr/share/modsecurity-crs/rules"
	nginxModules = "/usr/lib/nginx/modules"
)

// wafEnv is a running nginx with ModSecurity v3 and the CRS under a
// temporary prefix, listening on a loopback port.
type wafEnv struct {
	dir, conf, audit, excl string
	base                   string // http://127.0.0.1:PORT
	stop                   func() // stops nginx and waits for it
}

func (w *wafEnv) nginx(args ...string) []string {
	return append([]string{"nginx", "-c", w.conf, "-p", w.dir}, args...)
}

func requireNginx(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root (the nginx + ModSecurity test runs nginx as root in a temporary prefix)")
	}
	if _, err := exec.LookPath("nginx"); err != nil {
		testenv.Missing(t, "nginx (Debian packages nginx libnginx-mod-http-modsecurity modsecurity-crs)")
	}
	for _, f := range []string{modsecConf, unicodeMap, crsSetup, crsRules, filepath.Join(nginxModules, "ngx_http_modsecurity_module.so")} {
		if _, err := os.Stat(f); err != nil {
			testenv.Missing(t, f+" (Debian packages libnginx-mod-http-modsecurity modsecurity-crs)")
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNginx writes the configuration described in interop.md §8 (the
// packaged modsecurity.conf with the engine on and JSON audit logging of
// every transaction, the CRS listed explicitly since libmodsecurity
// rejects IncludeOptional, and the exclusions directory included before
// the CRS) and starts nginx in the foreground.
func startNginx(t *testing.T) *wafEnv { return startNginxFormat(t, "JSON") }

// startNginxFormat is startNginx with the audit log in format (JSON or
// Native, the serial multi-part format).
func startNginxFormat(t *testing.T, format string) *wafEnv {
	t.Helper()
	requireNginx(t)
	dir := t.TempDir()
	w := &wafEnv{dir: dir, conf: filepath.Join(dir, "nginx.conf"), audit: filepath.Join(dir, "logs", "audit.json"), excl: filepath.Join(dir, "exclusions")}
	for _, d := range []string{"logs", "tmp", "html/notes", "exclusions"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, "html", "index.html"), "hello\n")
	write(t, filepath.Join(dir, "html", "notes", "index.html"), "notes\n")
	ms, err := os.ReadFile(modsecConf)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(ms), "\n") {
		switch f := strings.Fields(l); {
		case len(f) == 0:
		case f[0] == "SecRuleEngine":
			l = "SecRuleEngine On"
		case f[0] == "SecAuditEngine":
			l = "SecAuditEngine On"
		case f[0] == "SecAuditLog":
			l = "SecAuditLog " + w.audit
		case f[0] == "SecAuditLogType":
			l = "SecAuditLogType Serial\nSecAuditLogFormat " + format
		case f[0] == "SecTmpDir", f[0] == "SecDataDir":
			l = f[0] + " " + filepath.Join(dir, "tmp")
		case f[0] == "SecStatusEngine":
			l = "SecStatusEngine Off"
		}
		out = append(out, l)
	}
	write(t, filepath.Join(dir, "modsecurity.conf"), strings.Join(out, "\n"))
	um, err := os.ReadFile(unicodeMap)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "unicode.mapping"), string(um))
	inc := []string{"Include " + filepath.Join(dir, "modsecurity.conf"), "Include " + crsSetup, "Include " + crsBefore,
		"Include " + filepath.Join(w.excl, "*.conf")}
	rules, _ := filepath.Glob(filepath.Join(crsRules, "*.conf"))
	for _, r := range rules {
		inc = append(inc, "Include "+r)
	}
	inc = append(inc, "Include "+crsAfter)
	write(t, filepath.Join(dir, "main.conf"), strings.Join(inc, "\n")+"\n")
	// An Include glob that matches nothing is an error in libmodsecurity.
	write(t, filepath.Join(w.excl, "000-placeholder.conf"), "# keeps the Include glob non-empty\n")
	port := freePort(t)
	w.base = fmt.Sprintf("http://127.0.0.1:%d", port)
	write(t, w.conf, fmt.Sprintf(`load_module %[1]s/ndk_http_module.so;
load_module %[1]s/ngx_http_modsecurity_module.so;
user root;
daemon off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/logs/error.log notice;
events { worker_connections 64; }
http {
  access_log %[2]s/logs/access.log;
  client_body_temp_path %[2]s/tmp/body; proxy_temp_path %[2]s/tmp/proxy;
  fastcgi_temp_path %[2]s/tmp/fcgi; uwsgi_temp_path %[2]s/tmp/uwsgi; scgi_temp_path %[2]s/tmp/scgi;
  server {
    listen 127.0.0.1:%[3]d;
    server_name localhost;
    modsecurity on;
    modsecurity_rules_file %[2]s/main.conf;
    location / { root %[2]s/html; }
  }
}
`, nginxModules, dir, port))
	cmd := exec.Command("nginx", "-c", w.conf, "-p", dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			// SIGINT is nginx's fast shutdown: the master stops its
			// workers and exits. Only the master we started is signalled.
			cmd.Process.Signal(os.Interrupt)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			b, _ := os.ReadFile(filepath.Join(dir, "logs", "error.log"))
			t.Fatalf("nginx exited: %v\n%s", err, b)
		default:
		}
		if code, err := get(w.base + "/"); err == nil && code == 200 {
			w.stop = stop
			return w
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx did not answer within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get sends a GET with Host: localhost (a numeric Host triggers CRS 920350
// on every request) and returns the status. rawQuery is sent as written.
func get(url string) (int, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0, err
	}
	req.Host = "localhost"
	req.Header.Set("User-Agent", "mcpsoc-waf-test/1.0")
	req.Header.Set("Accept", "text/html")
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

func mustGet(t *testing.T, url string, want int) {
	t.Helper()
	code, err := get(url)
	if err != nil || code != want {
		t.Fatalf("GET %s: %d %v, want %d", url, code, err, want)
	}
}

// waitStatus polls until url answers want (nginx reloads asynchronously:
// new workers take over after the reload command returns).
func waitStatus(t *testing.T, url string, want int) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		code, err := get(url)
		if err == nil && code == want {
			return time.Since(start)
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("GET %s: still %d %v after 15s, want %d", url, code, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitAudit waits until the audit log holds n records (libmodsecurity
// writes them after the response).
func waitAudit(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Count(string(b), "\n") >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit log has %d records, want %d", strings.Count(string(b), "\n"), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
