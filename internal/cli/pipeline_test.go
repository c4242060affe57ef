package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
)

const fwLine = "<134>Nov 21 13:00:%02d fw filterlog[1234]: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,%s,192.0.2.10,51234,%d,0,S,1234567890,,64240,,mss\n"

// TestPipelineEndToEnd drives the event pipeline through its real entry
// points: syslog over TCP and a tailed file into 'serve', a file shipped
// with 'mcpsoc ingest', and searches with 'mcpsoc events search'.
func TestPipelineEndToEnd(t *testing.T) {
	dir := t.TempDir()
	syslogAddr := freeAddr(t)
	tailed := filepath.Join(dir, "clamd.log")
	os.WriteFile(tailed, []byte("Nov 21 13:05:00 clamd[77]: /srv/upload/invoice.exe: Win.Test.EICAR_HDB-1 FOUND\n"), 0o600)
	base, _ := startServe(t, fmt.Sprintf(`
ingest:
  api_keys: ["%s"]
  syslog:
    - {name: fw, protocol: tcp, listen: "%s", format: auto}
  files:
    - {name: clamav, paths: ["%s"], poll_interval: 50ms}
`, testKey, syslogAddr, tailed))

	c, err := net.Dial("tcp", syslogAddr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		fmt.Fprintf(c, fwLine, i, "203.0.113.7", 22)
	}
	c.Close()

	shipped := filepath.Join(dir, "scan.log")
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, fwLine, i%60, fmt.Sprintf("198.51.100.%d", i%250), 1000+i)
	}
	b.WriteString("a line no parser understands\n")
	os.WriteFile(shipped, []byte(b.String()), 0o600)
	for range 2 { // a second run of the same command must not duplicate
		code, out, errs := run(t, context.Background(), "ingest", "--server", base, "--api-key", testKey, "--format", "auto", shipped)
		if code != 0 || !strings.Contains(out, "ingested 201 events") || !strings.Contains(out, "1 pipeline errors") {
			t.Fatalf("ingest: code %d, out %q, err %q", code, out, errs)
		}
	}

	search := func(q string, want int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, out, errs := run(t, context.Background(), "events", "search", q, "--server", base, "--api-key", testKey, "--json", "--limit", "1000")
			if code != 0 {
				t.Fatalf("search %q: code %d: %s", q, code, errs)
			}
			got := strings.Count(out, "\n")
			if got == want {
				return
			}
			if got > want || time.Now().After(deadline) {
				t.Fatalf("search %q: %d events, want %d", q, got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	search("source.ip:203.0.113.7 AND destination.port:22", 30)
	search("source.ip:198.51.100.0/24 AND destination.port:[1000 TO 1099]", 100)
	search("event.kind:pipeline_error", 1)
	search(`"EICAR_HDB-1"`, 1)
	search("mcpsoc.source:file\\:clamav", 1)

	// The table view and errors.
	code, out, _ := run(t, context.Background(), "events", "search", "destination.port:22", "--server", base, "--api-key", testKey, "--limit", "3")
	if code != 0 || !strings.HasPrefix(out, "TIME") || strings.Count(out, "203.0.113.7") != 3 {
		t.Errorf("table output: %d\n%s", code, out)
	}
	code, _, errs := run(t, context.Background(), "events", "search", "source.ip:(", "--server", base, "--api-key", testKey)
	if code == 0 || !strings.Contains(errs, "search failed") {
		t.Errorf("bad query: code %d, %q", code, errs)
	}

	// The API answers with ids and documents.
	status, body := get(t, base+"/api/v1/events?q=destination.port:22&limit=2", "Authorization", "Bearer "+testKey)
	var page struct {
		Events []struct {
			ID    string         `json:"id"`
			Event map[string]any `json:"event"`
		} `json:"events"`
		Next string `json:"next"`
	}
	if status != 200 || json.Unmarshal(body, &page) != nil || len(page.Events) != 2 || page.Next == "" {
		t.Fatalf("api page: %d %s", status, body)
	}
	if status, _ := get(t, base+"/api/v1/events/"+page.Events[0].ID, "Authorization", "Bearer "+testKey); status != 200 {
		t.Errorf("get by id: %d", status)
	}
}

const testKey = "pipeline-key-0123456789"

// TestServeCreatesIngestKey: with no keys configured, serve writes one to
// data/ingest.key and 'mcpsoc ingest --data' finds it.
func TestServeCreatesIngestKey(t *testing.T) {
	base, dataDir := startServe(t, "")
	fi, err := os.Stat(filepath.Join(dataDir, "ingest.key"))
	if err != nil {
		t.Fatalf("serve wrote no ingest.key: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("ingest.key mode %v, want 0600", fi.Mode().Perm())
	}
	f := filepath.Join(t.TempDir(), "one.log")
	os.WriteFile(f, []byte(fmt.Sprintf(fwLine, 1, "203.0.113.9", 443)), 0o600)
	if code, out, errs := run(t, context.Background(), "ingest", "--server", base, "--data", dataDir, f); code != 0 || !strings.Contains(out, "ingested 1 events") {
		t.Errorf("ingest with the key file: %d %q %q", code, out, errs)
	}
	if code, _, errs := run(t, context.Background(), "ingest", "--server", base, "--data", t.TempDir(), f); code == 0 || !strings.Contains(errs, "401") {
		t.Errorf("ingest without a key: %d %q", code, errs)
	}
}

// TestServeDemo: --demo seeds the scenario, which is searchable at once.
func TestServeDemo(t *testing.T) {
	base, dataDir := startServe(t, "", "--demo")
	for q, want := range map[string]int{
		"source.ip:203.0.113.50 AND event.action:block":               1024,
		"event.dataset:modsecurity.audit AND source.ip:198.51.100.23": 40,
		"destination.ip:203.0.113.66 AND destination.port:443":        24,
		`"Failed password" AND host.name:bastion`:                     60,
		"event.action:malware-detected AND file.name:invoice.exe":     1,
		"file.hash.md5:44d88612fea8a8f36de82e1278abb02f":              1,
	} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, out, errs := run(t, context.Background(), "events", "search", q, "--server", base, "--data", dataDir, "--json", "--limit", "5000")
			got := strings.Count(out, "\n")
			if code == 0 && got == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d events (code %d, %s), want %d", q, got, code, errs, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestServeDetectsDemo: detection runs on the live bus; the demo's attacks
// come back from GET /api/v1/alerts.
func TestServeDetectsDemo(t *testing.T) {
	base, dataDir := startServe(t, "", "--demo")
	keyb, err := os.ReadFile(filepath.Join(dataDir, "ingest.key"))
	if err != nil {
		t.Fatal(err)
	}
	_ = keyb // the API itself needs no key on loopback without api.api_keys
	want := map[string]string{
		"port scan":   "related.ip:203.0.113.50",
		"web attack":  "related.ip:198.51.100.23 AND tags:attack.t1190",
		"brute force": "related.ip:198.51.100.77",
		"malware":     `rule.name:*EICAR* OR rule.name:*alware*`,
		"ids":         "related.ip:203.0.113.66",
	}
	for name, q := range want {
		deadline := time.Now().Add(30 * time.Second)
		for {
			status, body := get(t, base+"/api/v1/alerts?q="+url.QueryEscape(q))
			var page struct {
				Alerts []struct {
					Title    string `json:"title"`
					Severity int    `json:"severity_id"`
					Rule     struct{ ID string }
				} `json:"alerts"`
			}
			if status == 200 && json.Unmarshal(body, &page) == nil && len(page.Alerts) > 0 {
				if page.Alerts[0].Title == "" || page.Alerts[0].Rule.ID == "" || page.Alerts[0].Severity == 0 {
					t.Errorf("%s: incomplete alert %s", name, body)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no alert for %q: %d %s", name, q, status, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// TestServeDetectionConfig: shadow mode, suppressions and threat intel from
// the config change what the demo raises.
func TestServeDetectionConfig(t *testing.T) {
	intel := filepath.Join(t.TempDir(), "intel.csv")
	os.WriteFile(intel, []byte("type,value,confidence,expires,source\nipv4,203.0.113.66,90,,test-feed\n"), 0o600)
	base, _ := startServe(t, fmt.Sprintf(`
detect:
  modes: {waf_scanner_user_agent: shadow}
  suppressions:
    - {rule: fw_port_scan, field: source.ip, values: ["203.0.113.0/24"], reason: our own scanner}
  intel: [%q]
`, intel), "--demo")
	alerts := func(q string) []map[string]any {
		status, body := get(t, base+"/api/v1/alerts?limit=200&q="+url.QueryEscape(q))
		var page struct {
			Alerts []map[string]any `json:"alerts"`
		}
		if status != 200 || json.Unmarshal(body, &page) != nil {
			t.Fatalf("alerts %q: %d %s", q, status, body)
		}
		return page.Alerts
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(alerts("rule.name:*SQL*")) == 0 { // detection has caught up with the demo
		if time.Now().After(deadline) {
			t.Fatal("no alerts")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if a := alerts(`rule.name:"Port scan from one source against one host"`); len(a) != 0 {
		t.Errorf("suppressed port scan raised: %v", a)
	}
	if a := alerts(`rule.name:"Web vulnerability scanner"`); len(a) != 1 || a[0]["shadow"] != true {
		t.Errorf("shadow rule: %v", a)
	}
	if a := alerts("related.ip:203.0.113.66"); len(a) == 0 {
		t.Error("no alert for the address in the intel file")
	} else {
		found := false
		for _, x := range a {
			if x["kind"] == "ioc" {
				found = true
			}
		}
		if !found {
			t.Errorf("no ioc alert among %d alerts for the C2 address", len(a))
		}
	}
}

// TestCorrelationSurvivesRestart: half an SSH brute force before a restart
// and half after raise the correlation, because serve saves and restores
// the correlation windows.
func TestCorrelationSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	dataDir, cfgPath := filepath.Join(dir, "data"), filepath.Join(dir, "mcpsoc.yaml")
	os.WriteFile(cfgPath, []byte("ingest:\n  api_keys: [\""+testKey+"\"]\n"), 0o600)
	addr := freeAddr(t)
	base := "http://" + addr
	start := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		var stderr strings.Builder
		go func() {
			done <- Execute(ctx, []string{"serve", "--config", cfgPath, "--listen", addr, "--data", dataDir}, strings.NewReader(""), io.Discard, &stderr)
		}()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if status, _ := tryGet(base + "/readyz"); status == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("serve did not start: %s", stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		return func() {
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("serve exited %d: %s", code, stderr.String())
			}
		}
	}
	failures := func(from, to int) {
		f := filepath.Join(dir, fmt.Sprintf("auth-%d.log", from))
		var b strings.Builder
		now := time.Now().UTC()
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "<38>1 %s bastion sshd %d - - Failed password for root from 198.51.100.77 port %d ssh2\n",
				now.Add(time.Duration(i)*time.Second).Format(time.RFC3339), 3000+i, 40000+i)
		}
		os.WriteFile(f, []byte(b.String()), 0o600)
		if code, out, errs := run(t, context.Background(), "ingest", "--server", base, "--api-key", testKey, "--format", "syslog", f); code != 0 {
			t.Fatalf("ingest: %d %s %s", code, out, errs)
		}
	}
	alerts := func() int {
		_, body := get(t, base+"/api/v1/alerts?q="+url.QueryEscape("rule.name:*brute*"))
		var page struct{ Alerts []any }
		json.Unmarshal(body, &page)
		return len(page.Alerts)
	}
	stop := start()
	failures(0, 6)
	time.Sleep(2 * time.Second) // detection has processed them
	if n := alerts(); n != 0 {
		t.Fatalf("alert before the threshold: %d", n)
	}
	stop()
	if st, err := sqlite.Open(context.Background(), filepath.Join(dataDir, "events.db"), nil); err != nil {
		t.Fatal(err)
	} else {
		blob, err := st.GetState(context.Background(), stateKey)
		st.Close()
		if err != nil || !strings.Contains(string(blob.Data), "sshd_bruteforce") && !strings.Contains(string(blob.Data), "2688677a") {
			t.Fatalf("no correlation state saved in the store: %v %.200s", err, blob.Data)
		}
	}
	stop = start()
	defer stop()
	failures(6, 12)
	deadline := time.Now().Add(20 * time.Second)
	for alerts() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the brute force split by a restart raised no alert")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestServeAnomalyBeacon: an anomaly file in the config runs baselines on
// the live bus; the demo's 60-second callbacks are found as beaconing.
func TestServeAnomalyBeacon(t *testing.T) {
	f := filepath.Join(t.TempDir(), "anomaly.yaml")
	os.WriteFile(f, []byte("beacon:\n  - name: fw_beacon\n    when: {event.action: [pass], network.direction: [egress]}\n"), 0o600)
	base, _ := startServe(t, fmt.Sprintf("detect:\n  anomaly: %q\n", f), "--demo")
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := get(t, base+"/api/v1/alerts?q="+url.QueryEscape("related.ip:203.0.113.66"))
		var page struct {
			Alerts []struct {
				Kind string `json:"kind"`
			} `json:"alerts"`
		}
		json.Unmarshal(body, &page)
		for _, a := range page.Alerts {
			if a.Kind == "anomaly" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no beacon anomaly: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
