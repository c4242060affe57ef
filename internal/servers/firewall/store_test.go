package firewall

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
)

// TestLogQueriesFromStore: the same kernel LOG lines, stored in an MCPSoc
// store (SQLite) the way 'serve' stores them, answer the log tools as the
// file does.
func TestLogQueriesFromStore(t *testing.T) {
	c := context.Background()
	st, err := sqlite.Open(c, filepath.Join(t.TempDir(), "events.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := parse.New("auto", &parse.Config{Location: time.Local, SourceID: "test:kern.log"})
	if err != nil {
		t.Fatal(err)
	}
	sc := parse.NewScanner(strings.NewReader(kernLog), n)
	var evs []*event.Event
	for sc.Scan() {
		evs = append(evs, sc.Event())
	}
	if _, err := st.Append(c, evs); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.Local) }
	s, err := New(Config{NFT: filepath.Join(t.TempDir(), "no-nft")}, &Options{Events: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	cs := connect(t, s)
	var out Events
	if e := call(t, cs, "firewall_events", nil, &out); e != "" || out.Matched != 6 || out.Events[0].Source != "192.0.2.99" || out.Logs[0] != "mcpsoc store (event.category:network)" {
		t.Fatalf("all: %q %+v", e, out)
	}
	if e := call(t, cs, "firewall_events", map[string]any{"ip": "2001:db8::7"}, &out); e != "" || out.Matched != 1 {
		t.Errorf("v6: %q %+v", e, out)
	}
	if e := call(t, cs, "firewall_events", map[string]any{"destination_port": 22, "denied_only": true}, &out); e != "" || out.Matched != 3 {
		t.Errorf("port 22 denied: %q matched %d", e, out.Matched)
	}
	if e := call(t, cs, "blocked_connections", map[string]any{"ip": "203.0.113.50"}, &out); e != "" || out.Matched != 4 {
		t.Errorf("blocked_connections: %q matched %d", e, out.Matched)
	}
	var tt Talkers
	if e := call(t, cs, "top_talkers", map[string]any{"denied_only": true}, &tt); e != "" || tt.Talkers[0].IP != "203.0.113.50" || tt.Talkers[0].Events != 3 {
		t.Errorf("top_talkers: %q %+v", e, tt)
	}
	// A day later the default 24h window holds nothing.
	s2, _ := New(Config{NFT: filepath.Join(t.TempDir(), "no-nft")}, &Options{Events: st, Now: func() time.Time { return now().Add(48 * time.Hour) }})
	if e := call(t, connect(t, s2), "firewall_events", nil, &out); e != "" || out.Matched != 0 {
		t.Errorf("window: %q %+v", e, out)
	}
}
