package cli

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	"github.com/mcpsoc/mcpsoc/internal/query"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// TestRedeliveredBatchAlertsOnce: the store consumer acknowledges a batch
// only after detection evaluated it, so a crash or a failed step makes the
// bus deliver the batch again and detection sees its events a second time.
// That must not raise an alert twice: the dedup window drops the repeat
// while the engine runs, and after a restart that lost the window the
// alerts come out with the same ids, which the store already holds.
func TestRedeliveredBatchAlertsOnce(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dataDir, "events.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := config.Default()
	cfg.DataDir = dataDir
	log := slog.New(slog.DiscardHandler)

	// Three detections of one trojan: three av_malware_found alerts and
	// an av_repeated_detection correlation.
	lines := []string{
		"Sat Nov 21 10:00:00 2026 -> /srv/share/a.xls: Win.Trojan.Emotet-9950 FOUND",
		"Sat Nov 21 10:10:00 2026 -> /srv/share/b.xls: Win.Trojan.Emotet-9950 FOUND",
		"Sat Nov 21 10:20:00 2026 -> /srv/share/c.xls: Win.Trojan.Emotet-9950 FOUND",
	}
	norm, err := parse.New("clamav", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wire [][]byte // the batch as the bus carries it
	for i, l := range lines {
		ev := norm.Parse([]byte(l))
		ev.Put("event.id", "redelivery-"+strconv.Itoa(i))
		wire = append(wire, ev.AppendJSON(nil))
	}
	delivery := func() []*event.Event { // each delivery is decoded afresh
		var evs []*event.Event
		for _, b := range wire {
			ev := new(event.Event)
			if err := ev.UnmarshalJSON(b); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
		return evs
	}
	q, err := query.Parse("event.kind:alert")
	if err != nil {
		t.Fatal(err)
	}
	alerts := func() int64 {
		n, err := st.Count(ctx, store.SearchRequest{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	d, err := newDetector(ctx, "", cfg, st, nil, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	feed := d.feed()
	if err := feed.process(ctx, delivery()); err != nil {
		t.Fatal(err)
	}
	first := alerts()
	if first < 4 {
		t.Fatalf("%d alerts stored; want the three av_malware_found and the correlation", first)
	}
	if err := feed.process(ctx, delivery()); err != nil { // redelivered
		t.Fatal(err)
	}
	if n := alerts(); n != first {
		t.Fatalf("a redelivered batch raised new alerts: %d stored, %d before", n, first)
	}

	// A restart before the state was saved: a fresh engine, no dedup
	// window, sees the batch again.
	d2, err := newDetector(ctx, "", cfg, st, nil, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.feed().process(ctx, delivery()); err != nil {
		t.Fatal(err)
	}
	if n := alerts(); n != first {
		page, _ := st.Search(ctx, store.SearchRequest{Query: q, Limit: 100})
		var names []string
		for _, r := range page.Records {
			v, _ := r.Event.GetString("rule.name")
			names = append(names, v)
		}
		t.Fatalf("after a restart the redelivered batch left %d alerts, %d before: %s", n, first, strings.Join(names, ", "))
	}
	feed.close(ctx)
}
