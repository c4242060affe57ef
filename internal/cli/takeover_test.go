package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
)

// TestDetectionTakeoverPostgres: two serve instances with separate data
// directories share one PostgreSQL database. The first sees six of ten SSH
// failures and stops; the second, started on another data directory,
// resumes the correlation window from the store's detect_state table and
// raises the brute-force alert after four more.
func TestDetectionTakeoverPostgres(t *testing.T) {
	dsn := storetest.FreshPostgres(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mcpsoc.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("ingest:\n  api_keys: [%q]\nstore:\n  driver: postgres\n  dsn: %q\n", testKey, dsn)), 0o600)
	addr := freeAddr(t)
	base := "http://" + addr
	start := func(dataDir string) (stop func(), logs *lockedBuffer) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		logs = &lockedBuffer{}
		go func() {
			done <- Execute(ctx, []string{"serve", "--config", cfgPath, "--listen", addr, "--data", dataDir}, strings.NewReader(""), io.Discard, logs)
		}()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if status, _ := tryGet(base + "/readyz"); status == 200 {
				break
			}
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("serve did not start: %s", logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		return func() {
			cancel()
			if code := <-done; code != 0 {
				t.Fatalf("serve exited %d: %s", code, logs.String())
			}
		}, logs
	}
	now := time.Now().UTC().Add(-2 * time.Minute)
	failures := func(from, to int) {
		f := filepath.Join(dir, fmt.Sprintf("auth-%d.log", from))
		var b strings.Builder
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, "<38>1 %s bastion sshd %d - - Failed password for root from 198.51.100.77 port %d ssh2\n",
				now.Add(time.Duration(i)*time.Second).Format(time.RFC3339), 3000+i, 40000+i)
		}
		os.WriteFile(f, []byte(b.String()), 0o600)
		if code, out, errs := run(t, context.Background(), "ingest", "--server", base, "--api-key", testKey, "--format", "syslog", f); code != 0 {
			t.Fatalf("ingest: %d %s %s", code, out, errs)
		}
		deadline := time.Now().Add(20 * time.Second)
		for metricValue(base, "mcpsoc_detect_events_total") < to-from {
			if time.Now().After(deadline) {
				t.Fatal("detection did not see the events")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	alerts := func() int {
		_, body := get(t, base+"/api/v1/alerts?q="+url.QueryEscape("rule.name:*brute*"))
		var page struct{ Alerts []any }
		json.Unmarshal(body, &page)
		return len(page.Alerts)
	}

	stop, _ := start(filepath.Join(dir, "a"))
	failures(0, 6)
	if n := alerts(); n != 0 {
		t.Fatalf("alert before the threshold: %d", n)
	}
	stop()

	stop, logs := start(filepath.Join(dir, "b"))
	defer stop()
	if !strings.Contains(logs.String(), "detection state restored") || !strings.Contains(logs.String(), "from=store") {
		t.Fatalf("the second instance did not restore the state from the store:\n%s", logs.String())
	}
	failures(6, 10)
	deadline := time.Now().Add(20 * time.Second)
	for alerts() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the brute force split across two instances raised no alert:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
