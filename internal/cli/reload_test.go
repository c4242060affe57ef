package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe to read while serve writes its log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const reloadBase = `title: SSH failure (reload test)
id: 5b0e8f9c-1d7a-4c52-b2e6-0f3a9d18c7e4
name: rt_ssh_failure
logsource:
  product: linux
detection:
  sel:
    process.name: sshd
    message|contains: 'Failed password for'
  condition: sel
level: informational
---
title: SSH failures on one host (reload test)
id: 9e2c4a71-6f3b-4d08-a1c5-7b8e2f0d3a96
name: rt_ssh_many
correlation:
  type: event_count
  rules: [rt_ssh_failure]
  group-by: [host.name]
  timespan: 10m
  condition: {gte: %d}
level: high
`

// TestServeHotReload drives serve's reload path end to end: rule files
// changing under a running serve (and SIGHUP) swap the rules; a
// correlation whose definition is unchanged keeps its window across the
// reload, a changed one starts fresh, and an invalid rule set is rejected
// while the old rules keep detecting.
func TestServeHotReload(t *testing.T) {
	dir := t.TempDir()
	ruleDir := filepath.Join(dir, "rules")
	os.MkdirAll(ruleDir, 0o700)
	write := func(name, body string) {
		t.Helper()
		// A distinct modification time even on coarse clocks.
		p := filepath.Join(ruleDir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Duration(len(body)) * time.Millisecond)
		os.Chtimes(p, later, later)
	}
	write("ssh.yml", fmt.Sprintf(reloadBase, 10))
	cfgPath, dataDir := filepath.Join(dir, "mcpsoc.yaml"), filepath.Join(dir, "data")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("ingest:\n  api_keys: [%q]\ndetect:\n  no_builtin_rules: true\n  rules: [%q]\n  reload_interval: 100ms\n", testKey, ruleDir)), 0o600)
	addr := freeAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	logs := &lockedBuffer{}
	go func() {
		done <- Execute(ctx, []string{"serve", "--config", cfgPath, "--listen", addr, "--data", dataDir}, strings.NewReader(""), io.Discard, logs)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, logs.String())
		}
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; log:\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("ready", func() bool { s, _ := tryGet(base + "/readyz"); return s == 200 })
	waitFor("the rule watcher", func() bool { return strings.Contains(logs.String(), "watching detection rules") })

	metric := func(name string) int { return metricValue(base, name) }
	sent := 0
	clock := time.Now().UTC().Add(-5 * time.Minute)
	failures := func(host string, n int) {
		t.Helper()
		var b strings.Builder
		for range n {
			clock = clock.Add(time.Second)
			sent++
			fmt.Fprintf(&b, "<38>1 %s %s sshd %d - - Failed password for root from 198.51.100.9 port %d ssh2\n",
				clock.Format(time.RFC3339), host, 3000+sent, 40000+sent)
		}
		f := filepath.Join(dir, fmt.Sprintf("auth-%d.log", sent))
		os.WriteFile(f, []byte(b.String()), 0o600)
		if code, out, errs := run(t, context.Background(), "ingest", "--server", base, "--api-key", testKey, "--format", "syslog", f); code != 0 {
			t.Fatalf("ingest: %d %s %s", code, out, errs)
		}
		waitFor(fmt.Sprintf("detection to see %d events", sent), func() bool { return metric("mcpsoc_detect_events_total") >= sent })
	}
	alertHosts := func() map[string]int {
		_, body := get(t, base+"/api/v1/alerts?limit=100")
		var page struct{ Alerts []json.RawMessage }
		json.Unmarshal(body, &page)
		out := map[string]int{}
		for _, a := range page.Alerts {
			for _, h := range []string{"host-a", "host-b", "host-c", "host-d"} {
				if bytes.Contains(a, []byte(`"`+h+`"`)) {
					out[h]++
				}
			}
		}
		return out
	}
	reloaded := func(n int) {
		t.Helper()
		waitFor(fmt.Sprintf("reload %d", n), func() bool { return strings.Count(logs.String(), "detection reloaded") >= n })
	}

	// 1. Six failures, then an unrelated rule file appears: the reload
	// keeps the window, four more failures complete it.
	failures("host-a", 6)
	write("other.yml", "title: Unrelated\nid: 1c1d7e52-8a4f-4b3e-9d6c-2e5f7a8b9c0d\nname: rt_other\nlogsource: {product: linux}\ndetection:\n  sel: {process.name: nothing-runs-this}\n  condition: sel\n")
	reloaded(1)
	if !strings.Contains(logs.String(), "groups_kept=1") {
		t.Fatalf("the unchanged correlation's window was not kept:\n%s", logs.String())
	}
	failures("host-a", 4)
	waitFor("the alert completed across the reload", func() bool { return alertHosts()["host-a"] == 1 })

	// 2. Three failures, then the correlation's threshold changes: its
	// window starts fresh, so three more are not enough, two after are.
	failures("host-b", 3)
	write("ssh.yml", fmt.Sprintf(reloadBase, 5))
	reloaded(2)
	if !strings.Contains(logs.String(), "correlation changed; its windows start fresh") {
		t.Fatalf("the changed correlation was not reported:\n%s", logs.String())
	}
	failures("host-b", 3)
	if n := alertHosts()["host-b"]; n != 0 {
		t.Fatalf("a changed correlation kept its old window: %d alerts", n)
	}
	failures("host-b", 2)
	waitFor("the new threshold", func() bool { return alertHosts()["host-b"] == 1 })

	// 3. A rule that does not compile: the whole new set is rejected, the
	// running rules keep detecting.
	write("broken.yml", "title: Broken\nid: 0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f\nlogsource: {product: linux}\ndetection:\n  sel: {message|nosuchmodifier: x}\n  condition: sel\n")
	waitFor("the rejection", func() bool { return strings.Contains(logs.String(), "rule reload rejected") })
	if metric(`mcpsoc_detect_reloads_total{result="rejected"}`) != 1 {
		t.Errorf("rejected reloads metric: %d", metric(`mcpsoc_detect_reloads_total{result="rejected"}`))
	}
	failures("host-c", 5)
	waitFor("detection by the old rules after a rejected reload", func() bool { return alertHosts()["host-c"] == 1 })
	// The API reload says why the set is rejected; a form post (no JSON
	// content type) cannot trigger it.
	reloadAPI := func(ct string) (int, string) {
		t.Helper()
		resp, err := http.Post(base+"/api/v1/detect/reload", ct, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := reloadAPI("application/json"); code != http.StatusUnprocessableEntity || !strings.Contains(body, "do not compile") {
		t.Errorf("API reload of a broken set: %d %s", code, body)
	}
	if code, _ := reloadAPI("application/x-www-form-urlencoded"); code != http.StatusUnsupportedMediaType {
		t.Errorf("API reload as a form post: %d, want 415", code)
	}

	// 4. SIGHUP reloads too, once the set is valid again.
	os.Remove(filepath.Join(ruleDir, "broken.yml"))
	reloaded(3)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor("the SIGHUP reload", func() bool { return strings.Contains(logs.String(), "trigger=SIGHUP") })
	if metric(`mcpsoc_detect_reloads_total{result="ok"}`) != 4 {
		t.Errorf("ok reloads metric: %d", metric(`mcpsoc_detect_reloads_total{result="ok"}`))
	}
	if code, body := reloadAPI("application/json"); code != http.StatusOK || !strings.Contains(body, "reloaded") {
		t.Errorf("API reload: %d %s", code, body)
	}
	if metric(`mcpsoc_detect_reloads_total{result="ok"}`) != 5 {
		t.Errorf("ok reloads metric after the API reload: %d", metric(`mcpsoc_detect_reloads_total{result="ok"}`))
	}

	// 5. The config file's detect section reloads too: disabling the
	// correlation stops its alerts.
	cfg := fmt.Sprintf("ingest:\n  api_keys: [%q]\ndetect:\n  no_builtin_rules: true\n  rules: [%q]\n  reload_interval: 100ms\n  modes: {rt_ssh_many: disabled}\n", testKey, ruleDir)
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	later := time.Now().Add(time.Second)
	os.Chtimes(cfgPath, later, later)
	reloaded(6)
	failures("host-d", 5)
	if n := len(alertHosts()); n != 3 {
		t.Errorf("a disabled correlation still alerted: %d hosts with alerts", n)
	}
}

// metricValue reads one sample of serve's /metrics (0 when absent).
func metricValue(base, name string) int {
	_, body := tryGet(base + "/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	return int(n)
}
