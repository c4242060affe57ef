package feeds

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/intel"
	"github.com/mcpsoc/mcpsoc/internal/intel/taxii"
	"github.com/prometheus/client_golang/prometheus"
)

func TestSyncerFeedsAndFailures(t *testing.T) {
	ctx := context.Background()
	list := "# blocklist\n198.51.100.23\n203.0.113.45\n"
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ips.txt" {
			w.Write([]byte(list))
			return
		}
		http.NotFound(w, r)
	}))
	defer hs.Close()
	st, err := intel.Open(ctx, filepath.Join(t.TempDir(), "intel.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	s := NewSyncer(st, []config.IntelFeed{
		{Name: "ips", Type: "text", URL: hs.URL + "/ips.txt", IndicatorType: "ip", Confidence: 75, TTL: time.Hour, Interval: time.Hour, Timeout: time.Second},
		{Name: "gone", Type: "stix", URL: hs.URL + "/missing.json", Interval: time.Hour, Timeout: time.Second},
		{Name: "local", Type: "misp-feed", Path: "../misp/testdata/feed", Interval: time.Hour},
	}, nil, m)
	res, err := s.Sync(ctx, "ips")
	if err != nil || res.Added != 2 {
		t.Fatalf("ips: %+v %v", res, err)
	}
	got, _ := st.Lookup(ctx, "203.0.113.45")
	if len(got) != 1 || got[0].Confidence != 75 || got[0].ValidUntil.Sub(time.Now()) < 59*time.Minute {
		t.Errorf("defaults not applied: %+v", got)
	}
	if _, err := s.Sync(ctx, "gone"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing feed: %v", err)
	}
	fs, _ := st.FeedState(ctx, "gone")
	if fs.LastError == "" || !fs.LastOK.IsZero() {
		t.Errorf("state of the failed feed: %+v", fs)
	}
	if v := counter(t, reg, "mcpsoc_intel_syncs_total", "gone"); v != 1 {
		t.Errorf("error count %v", v)
	}
	res, err = s.Sync(ctx, "local")
	if err != nil || res.Added != 7 || res.Updated != 2 || len(res.Skipped) != 4 { // two IPs were already known from "ips"
		t.Errorf("misp feed: %+v %v", res, err)
	}
	fs, _ = st.FeedState(ctx, "local")
	if fs.Since.IsZero() || fs.LastOK.IsZero() {
		t.Errorf("misp feed state: %+v", fs)
	}
	// The next pass of the same feed reads only newer events: none.
	res, err = s.Sync(ctx, "local")
	if err != nil || res.Added+res.Updated != 0 {
		t.Errorf("incremental misp feed: %+v %v", res, err)
	}
	if _, err := s.Sync(ctx, "nope"); err == nil {
		t.Error("unknown feed synced")
	}
}

func TestTAXIIFeedIncremental(t *testing.T) {
	ctx := context.Background()
	src, err := intel.Open(ctx, filepath.Join(t.TempDir(), "src.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.Import(ctx, "x", intel.Batch{Entries: []intel.Entry{{Type: ioc.Domain, Value: "a.example"}, {Type: ioc.Domain, Value: "b.example"}}})
	hs := httptest.NewServer(taxii.NewServer(src, &taxii.ServerOptions{Keys: config.NewKeySet([]config.Secret{config.NewSecret("k")})}))
	defer hs.Close()
	dst, err := intel.Open(ctx, filepath.Join(t.TempDir(), "dst.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	s := NewSyncer(dst, []config.IntelFeed{{Name: "peer", Type: "taxii", URL: hs.URL + "/taxii2/api", Collection: taxii.AllCollection,
		APIKey: config.NewSecret("k"), Interval: time.Hour}}, nil, nil)
	if res, err := s.Sync(ctx, "peer"); err != nil || res.Added != 2 {
		t.Fatalf("first: %+v %v", res, err)
	}
	time.Sleep(2 * time.Millisecond)
	src.Import(ctx, "x", intel.Batch{Entries: []intel.Entry{{Type: ioc.Domain, Value: "c.example"}}})
	if res, err := s.Sync(ctx, "peer"); err != nil || res.Added != 1 || res.Updated != 0 {
		t.Fatalf("second: %+v %v", res, err)
	}
}

// counter reads a counter of reg by name and feed label.
func counter(t *testing.T, reg *prometheus.Registry, name, feed string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "feed" && l.GetValue() == feed {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
}
