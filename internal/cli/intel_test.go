package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/intel"
	"github.com/mcpsoc/mcpsoc/internal/intel/taxii"
)

// metricValue polls serve's /metrics until a sample line starting with
// prefix has a value of at least want.
func waitMetric(t *testing.T, base, prefix string, want float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := get(t, base+"/metrics")
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, prefix+" "); ok {
				var f float64
				fmt.Sscan(v, &f)
				if f >= want {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric %s never reached %v", prefix, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestIntelThroughServe: a scheduled feed and an 'intel import' made while
// serve runs reach the live matcher (an event from the imported address
// raises an ioc alert), 'intel lookup' shows provenance, and our TAXII
// client reads the indicators back through serve's /taxii2/ endpoint.
func TestIntelThroughServe(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "blocklist.txt")
	os.WriteFile(list, []byte("# C2 list\n192.0.2.201\n192.0.2.202\n"), 0o600)
	base, dataDir := startServe(t, fmt.Sprintf(`
ingest:
  api_keys: ["%s"]
intel:
  refresh_interval: 1s
  taxii:
    api_keys: ["peer-key-0123456789"]
  feeds:
    - {name: blocklist, type: text, path: %q, indicator_type: ip, confidence: 60, ttl: 24h, interval: 1h}
    - {name: broken, type: stix, url: "http://%s/nothing-listens-here.json", interval: 1h, timeout: 2s}
`, testKey, list, freeAddr(t)))
	waitMetric(t, base, `mcpsoc_intel_syncs_total{feed="blocklist",outcome="ok"}`, 1)
	// A feed that cannot be fetched is counted and logged; serve goes on.
	waitMetric(t, base, `mcpsoc_intel_syncs_total{feed="broken",outcome="error"}`, 1)

	bundle, _ := filepath.Abs("../intel/stix/testdata/bundle.json")
	code, out, errs := run(t, context.Background(), "intel", "import", "--format", "stix", "--data", dataDir, bundle)
	if code != 0 || !strings.Contains(out, "source bundle.json: added 6, updated 0, skipped 4") ||
		!strings.Contains(out, `pattern_type "yara" is not stix`) {
		t.Fatalf("import: %d\n%s%s", code, out, errs)
	}
	// serve picks the import up within refresh_interval: 2 listed + 6 imported.
	waitMetric(t, base, "mcpsoc_intel_indicators", 8)

	shipped := filepath.Join(dir, "fw.log")
	var b strings.Builder
	for i := range 3 {
		fmt.Fprintf(&b, fwLine, i, "198.51.100.23", 443)
	}
	os.WriteFile(shipped, []byte(b.String()), 0o600)
	if code, out, errs := run(t, context.Background(), "ingest", "--server", base, "--api-key", testKey, "--format", "auto", shipped); code != 0 {
		t.Fatalf("ingest: %d %s %s", code, out, errs)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, body := get(t, base+"/api/v1/alerts?limit=50&q=related.ip:198.51.100.23")
		var page struct {
			Alerts []struct {
				Kind      string `json:"kind"`
				Indicator struct {
					Source string `json:"source"`
				} `json:"indicator"`
			} `json:"alerts"`
		}
		json.Unmarshal(body, &page)
		if len(page.Alerts) > 0 && page.Alerts[0].Kind == "ioc" && page.Alerts[0].Indicator.Source == "bundle.json" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ioc alert for the imported C2 address: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}

	code, out, _ = run(t, context.Background(), "intel", "lookup", "--data", dataDir, "198.51.100.23")
	if code != 0 || !strings.Contains(out, "ip 198.51.100.23") || !strings.Contains(out, "bundle.json") ||
		!strings.Contains(out, "kill-chain:command-and-control") || !strings.Contains(out, "related: cidr 203.0.113.0/25") {
		t.Errorf("lookup: %d\n%s", code, out)
	}
	if code, _, _ := run(t, context.Background(), "intel", "lookup", "--data", dataDir, "192.0.2.99"); code != 1 {
		t.Errorf("lookup of an unknown address: exit %d, want 1", code)
	}

	// The soc tools at /mcp look indicators up in the same store.
	ctx := context.Background()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, nil).Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: base + "/mcp", HTTPClient: &http.Client{Transport: bearer{testKey}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	lr, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "lookup_indicator", Arguments: map[string]any{"value": "198.51.100.23"}})
	if err != nil || lr.IsError {
		t.Fatalf("lookup_indicator through /mcp: %v %v", lr, err)
	}
	if b, _ := json.Marshal(lr.StructuredContent); !strings.Contains(string(b), `"found":true`) || !strings.Contains(string(b), `"name":"bundle.json"`) {
		t.Errorf("lookup_indicator through /mcp: %s", b)
	}

	// TAXII round trip through serve's real handler.
	var he *intel.HTTPError
	if _, err := (&taxii.Client{}).Discover(ctx, base+"/taxii2/"); !errors.As(err, &he) || he.Status != 401 {
		t.Errorf("TAXII without a key: %v", err)
	}
	c := &taxii.Client{APIKey: "peer-key-0123456789"}
	d, err := c.Discover(ctx, base+"/taxii2/")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Poll(ctx, d.Default, taxii.AllCollection, &taxii.PollOptions{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Batch.Entries) != 8 || res.Pages != 3 {
		t.Errorf("TAXII poll: %d entries in %d pages", len(res.Batch.Entries), res.Pages)
	}
	// And 'intel import --format taxii' stores them in another data dir.
	other := t.TempDir()
	t.Setenv("MCPSOC_INTEL_API_KEY", "peer-key-0123456789")
	code, out, errs = run(t, ctx, "intel", "import", "--format", "taxii", "--source", "peer", "--data", other,
		"--collection", taxii.CollectionID("blocklist"), d.Default)
	if code != 0 || !strings.Contains(out, "source peer: added 2") {
		t.Errorf("taxii import: %d\n%s%s", code, out, errs)
	}
}

func TestIntelImportErrors(t *testing.T) {
	data := t.TempDir()
	if code, _, errs := run(t, context.Background(), "intel", "import", "--format", "yara", "--data", data, "x"); code != 2 || !strings.Contains(errs, "--format must be one of") {
		t.Errorf("bad format: %d %s", code, errs)
	}
	if code, _, errs := run(t, context.Background(), "intel", "import", "--format", "csv", "--mapping", "colour=3", "--data", data, "x"); code != 2 || !strings.Contains(errs, "unknown field") {
		t.Errorf("bad mapping: %d %s", code, errs)
	}
	if code, _, errs := run(t, context.Background(), "intel", "import", "--format", "stix", "--data", data, filepath.Join(data, "missing.json")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: %d %s", code, errs)
	}
	csv, _ := filepath.Abs("../intel/textfeed/testdata/urlhaus.csv")
	code, out, errs := run(t, context.Background(), "intel", "import", "--format", "csv", "--type", "url", "--mapping", "value=3,labels=7,ref=1",
		"--source", "urlhaus", "--ttl", "72h", "--confidence", "80", "--data", data, csv)
	if code != 0 || !strings.Contains(out, "source urlhaus: added 2, updated 0, skipped 1") {
		t.Errorf("csv import: %d\n%s%s", code, out, errs)
	}
	code, out, _ = run(t, context.Background(), "intel", "lookup", "--json", "--data", data, "http://198.51.100.23/bins/mozi.m")
	if code != 0 || !strings.Contains(out, `"confidence": 80`) || !strings.Contains(out, `"valid_until"`) || !strings.Contains(out, `"mozi"`) {
		t.Errorf("lookup json: %d\n%s", code, out)
	}
}
