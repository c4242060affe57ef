package misp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mcpsoc/mcpsoc/internal/intel"
	"github.com/mcpsoc/mcpsoc/internal/intel/misp/misptest"
)

func dirGet(dir string) Get {
	return func(_ context.Context, name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
}

func keys(es []intel.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Type)+" "+e.Value)
	}
	sort.Strings(out)
	return out
}

func TestReadFeed(t *testing.T) {
	b, err := ReadFeed(context.Background(), dirGet("testdata/feed"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"domain cdn.cs-beacon.example", "domain cs-beacon.example", "email billing@invoices-example.test",
		"ip 198.51.100.23", "ip 203.0.113.45", "ip 203.0.113.46", "md5 44d88612fea8a8f36de82e1278abb02f",
		"sha256 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b", "url https://dl.bad-cdn.example/invoice.zip",
	}
	if d := cmp.Diff(want, keys(b.Entries)); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
	reasons := map[string]string{}
	for _, s := range b.Skipped {
		reasons[s.Ref] = s.Reason
	}
	if d := cmp.Diff(map[string]string{
		"a1b2c3d4-0001-4000-8000-000000000003": "to_ids is false",
		"a1b2c3d4-0001-4000-8000-000000000005": "to_ids is false",
		"a1b2c3d4-0001-4000-8000-000000000006": `attribute type "regkey" has no indicator mapping`,
		"c1c2c3c4-0001-4000-8000-000000000003": "deleted",
	}, reasons); d != "" {
		t.Errorf("skipped (-want +got):\n%s", d)
	}
	for _, e := range b.Entries {
		if e.Value == "203.0.113.45" {
			if e.Ref != "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d" || !strings.Contains(strings.Join(e.Labels, ","), "kill-chain:Command and Control") ||
				!strings.Contains(e.Description, "Cobalt Strike team servers (team server)") || e.ValidFrom.Format("2006-01-02") != "2026-03-01" {
				t.Errorf("entry %+v", e)
			}
		}
	}
	// Since skips the older event.
	b, err = ReadFeed(context.Background(), dirGet("testdata/feed"), &FeedOptions{Since: time.Unix(1772300000, 0)})
	if err != nil || len(b.Entries) != 4 {
		t.Errorf("since: %d entries, %v", len(b.Entries), err)
	}
}

func TestReadFeedBadFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"../../etc/passwd": {"timestamp": 1}}`), 0o600)
	if _, err := ReadFeed(context.Background(), dirGet(dir), nil); err == nil || !strings.Contains(err.Error(), "not a UUID") {
		t.Errorf("path in manifest: %v", err)
	}
	id := "5f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"`+id+`": {"timestamp": 1}}`), 0o600)
	os.WriteFile(filepath.Join(dir, id+".json"), []byte(`{"Event": [1]}`), 0o600)
	b, err := ReadFeed(context.Background(), dirGet(dir), nil)
	if err != nil || len(b.Skipped) != 1 || b.Skipped[0].Ref != id {
		t.Errorf("bad event file: %+v %v", b, err)
	}
}

// fakeMISP starts misptest's fake of the REST API serving the events of
// testdata/feed.
func fakeMISP(t *testing.T, key string) *misptest.Server {
	var events []json.RawMessage
	for _, f := range []string{"5f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b.json", "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/feed", f))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, b)
	}
	srv := misptest.New(key, events)
	t.Cleanup(srv.Close)
	return srv
}

func TestRestSearchAgainstFake(t *testing.T) {
	srv := fakeMISP(t, "k3y")
	c := &Client{BaseURL: srv.URL, Key: "k3y"}
	b, err := c.Search(context.Background(), &SearchOptions{PageSize: 1, Since: time.Unix(1772000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Entries) != 9 || len(b.Skipped) != 4 {
		t.Errorf("entries %d skipped %d", len(b.Entries), len(b.Skipped))
	}
	if reqs := srv.Requests(); len(reqs) != 3 || reqs[0]["to_ids"].(float64) != 1 || reqs[0]["timestamp"].(float64) != 1772000000 {
		t.Errorf("requests: %+v", reqs)
	}
	c.Key = "wrong"
	_, err = c.Search(context.Background(), nil)
	var he *intel.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusForbidden {
		t.Errorf("bad key: %v", err)
	}
	c.Key, c.MaxBytes = "k3y", 100
	if _, err := c.Search(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "size limit") {
		t.Errorf("size limit: %v", err)
	}
}
