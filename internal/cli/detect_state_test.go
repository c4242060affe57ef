package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// TestLegacyStateFileMovesToStore: the correlation-state file older
// versions wrote is restored once, saved to the store and removed.
func TestLegacyStateFileMovesToStore(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, "events.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	var times []string
	for i := range 9 {
		times = append(times, fmt.Sprintf("%q", base.Add(time.Duration(i)*time.Second).Format(time.RFC3339)))
	}
	legacy := filepath.Join(dataDir, "detect", "correlation-state.json")
	os.MkdirAll(filepath.Dir(legacy), 0o700)
	// The sshd_bruteforce pack correlation (10 failures per host in 5 min)
	// with nine failures on host "bastion", in the version 1 file format.
	os.WriteFile(legacy, []byte(fmt.Sprintf(`{"version":1,"taken":%q,"correlations":{"2688677a-fb3e-49f7-99eb-ad01efac51ee":[
		{"key":"bastion\u001f","group":[{"Field":"host.name","Value":"bastion"}],"newest":%s,"times":[%s]}]}}`,
		base.Format(time.RFC3339), times[8], strings.Join(times, ","))), 0o600)

	cfg := config.Default()
	cfg.DataDir = dataDir
	var logs lockedBuffer
	d, err := newDetector(ctx, "", cfg, st, nil, slog.New(slog.NewTextHandler(&logs, nil)), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "groups=1") {
		t.Fatalf("legacy state not restored:\n%s", logs.String())
	}
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Errorf("legacy file still there: %v", err)
	}
	if blob, err := st.GetState(ctx, stateKey); err != nil || blob.Version != 2 {
		t.Fatalf("state not in the store: %v %+v", err, blob.Version)
	}
	ev := &event.Event{Timestamp: base.Add(10 * time.Second), Message: "Failed password for root from 198.51.100.7 port 4242 ssh2"}
	ev.Put("process.name", "sshd")
	ev.Put("host.name", "bastion")
	ev.Put("event.module", "linux")
	ev.Put("observer.product", "linux")
	alerts := d.eng.Process(ev)
	found := false
	for _, a := range alerts {
		found = found || a.Rule.Name == "sshd_bruteforce"
	}
	if !found {
		t.Fatalf("the tenth failure did not complete the restored window: %+v", alerts)
	}
}
