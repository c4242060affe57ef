package cli

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/detect"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/postgres"
	"github.com/mcpsoc/mcpsoc/internal/store/storetest"
	"github.com/prometheus/client_golang/prometheus"
)

// TestDetectionStateLeasePostgres: two detectors on one PostgreSQL
// database. The first takes the state lease and saves; the second detects
// but does not overwrite the saved state; once the first stops (its last
// save releases the lease), the second takes the lease over and saves its
// own state.
func TestDetectionStateLeasePostgres(t *testing.T) {
	dsn := storetest.FreshPostgres(t)
	open := func() store.Store {
		st, err := postgres.Open(context.Background(), dsn, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	type inst struct {
		d      *detector
		logs   *lockedBuffer
		cancel context.CancelFunc
	}
	start := func() inst {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		logs := &lockedBuffer{}
		d, err := newDetector(ctx, "", cfg, open(), nil, slog.New(slog.NewTextHandler(logs, nil)), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		return inst{d, logs, cancel}
	}
	failure := func(d *detector, host string) {
		ev := &event.Event{Timestamp: time.Now().UTC(), Message: "Failed password for root from 198.51.100.7 port 4242 ssh2"}
		ev.Put("process.name", "sshd")
		ev.Put("host.name", host)
		ev.Put("event.module", "linux")
		ev.Put("observer.product", "linux")
		d.mu.Lock()
		d.eng.Process(ev)
		d.mu.Unlock()
	}
	ctx := context.Background()
	reader := open().(store.StateStore)
	savedHosts := func() string {
		t.Helper()
		blob, err := reader.GetState(ctx, stateKey)
		if err != nil {
			t.Fatal(err)
		}
		s, err := detect.DecodeState(blob.Data)
		if err != nil {
			t.Fatal(err)
		}
		var hosts []string
		for _, groups := range s.Correlation.Correlations {
			for _, g := range groups {
				hosts = append(hosts, strings.TrimSuffix(g.Key, "\x1f"))
			}
		}
		return strings.Join(hosts, ",")
	}

	a := start()
	b := start()
	if !strings.Contains(b.logs.String(), "another instance holds the detection state lease") {
		t.Fatalf("second instance did not see the lease:\n%s", b.logs.String())
	}
	failure(a.d, "host-a")
	failure(b.d, "host-b")
	if err := a.d.save(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.d.save(ctx); err != nil {
		t.Fatal(err)
	}
	if got := savedHosts(); got != "host-a" {
		t.Fatalf("saved state has groups %q, want only the lease holder's (host-a)", got)
	}

	// a stops: its last save releases the lease.
	a.cancel()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		a.d.lease.mu.Lock()
		stopping := a.d.lease.stopping
		a.d.lease.mu.Unlock()
		if stopping {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("cancelling the detector's context did not mark it stopping")
		}
	}
	if err := a.d.save(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.logs.String(), "detection state lease released") {
		t.Fatalf("first instance did not release the lease:\n%s", a.logs.String())
	}
	if err := b.d.save(ctx); err != nil {
		t.Fatal(err)
	}
	if got := savedHosts(); got != "host-b" {
		t.Fatalf("after the takeover the saved state has groups %q, want host-b's", got)
	}
	if !strings.Contains(b.logs.String(), "detection state lease acquired") {
		t.Fatalf("second instance did not log the takeover:\n%s", b.logs.String())
	}
}
