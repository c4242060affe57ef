package taxii

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/intel"
)

func openStore(t *testing.T) *intel.Store {
	t.Helper()
	s, err := intel.Open(context.Background(), filepath.Join(t.TempDir(), "intel.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := openStore(t)
	var es []intel.Entry
	for i := range 23 {
		es = append(es, intel.Entry{Type: ioc.IP, Value: fmt.Sprintf("198.51.100.%d", i+1), Confidence: 70, Ref: "event-a",
			Labels: []string{"c2"}, KillChain: []intel.KillChainPhase{{KillChainName: "mitre-attack", PhaseName: "command-and-control"}}})
	}
	if _, err := src.Import(ctx, "feodo", intel.Batch{Entries: es}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Import(ctx, "cert", intel.Batch{Entries: []intel.Entry{
		{Type: ioc.CIDR, Value: "203.0.113.0/25", ValidUntil: time.Now().Add(24 * time.Hour)},
		{Type: ioc.SHA256, Value: strings.Repeat("ab", 32)},
		{Type: ioc.URL, Value: "http://evil.example/it's"},
	}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/taxii2/", NewServer(src, &ServerOptions{Keys: config.NewKeySet([]config.Secret{config.NewSecret("peer-key")}), MaxPage: 10}))
	hs := httptest.NewServer(mux)
	defer hs.Close()

	c := &Client{APIKey: "peer-key"}
	d, err := c.Discover(ctx, hs.URL+"/taxii2/")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.APIRoots) != 1 || d.Default != hs.URL+"/taxii2/api/" {
		t.Fatalf("discovery %+v", d)
	}
	ar, err := c.APIRoot(ctx, d.Default)
	if err != nil || ar.Versions[0] != MediaType {
		t.Fatalf("api root %+v %v", ar, err)
	}
	cols, err := c.Collections(ctx, d.Default)
	if err != nil || len(cols) != 3 || cols[0].ID != AllCollection || !cols[0].CanRead || cols[0].CanWrite {
		t.Fatalf("collections %+v %v", cols, err)
	}
	res, err := c.Poll(ctx, d.Default, AllCollection, &PollOptions{Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages != 4 || len(res.Batch.Entries) != 26 || len(res.Batch.Skipped) != 0 || res.AddedLast.IsZero() {
		t.Fatalf("poll: pages %d entries %d skipped %+v", res.Pages, len(res.Batch.Entries), res.Batch.Skipped)
	}
	dst := openStore(t)
	r, err := dst.Import(ctx, "peer", res.Batch)
	if err != nil || r.Added != 26 {
		t.Fatalf("import %+v %v", r, err)
	}
	got, err := dst.Lookup(ctx, "198.51.100.7")
	if err != nil || len(got) != 1 {
		t.Fatalf("lookup %+v %v", got, err)
	}
	p := got[0].Sources[0]
	if got[0].Confidence != 70 || p.Labels[0] != "c2" || p.KillChain[0].PhaseName != "command-and-control" ||
		!strings.HasPrefix(p.Ref, "indicator--") {
		t.Errorf("round-tripped %+v", got[0])
	}
	if got, _ := dst.Lookup(ctx, "203.0.113.9"); len(got) != 1 || got[0].ValidUntil.IsZero() {
		t.Errorf("CIDR with expiry: %+v", got)
	}
	if got, _ := dst.Lookup(ctx, "http://evil.example/it's"); len(got) != 1 {
		t.Errorf("URL with a quote: %+v", got)
	}

	// Incremental: only what was added after the last poll.
	time.Sleep(2 * time.Millisecond)
	if _, err := src.Import(ctx, "cert", intel.Batch{Entries: []intel.Entry{{Type: ioc.Domain, Value: "new.example"}}}); err != nil {
		t.Fatal(err)
	}
	inc, err := c.Poll(ctx, d.Default, AllCollection, &PollOptions{AddedAfter: res.AddedLast})
	if err != nil || len(inc.Batch.Entries) != 1 || inc.Batch.Entries[0].Value != "new.example" {
		t.Fatalf("incremental %+v %v", inc.Batch, err)
	}
	// A source's collection holds only its indicators.
	one, err := c.Poll(ctx, d.Default, CollectionID("cert"), nil)
	if err != nil || len(one.Batch.Entries) != 4 {
		t.Errorf("cert collection: %d %v", len(one.Batch.Entries), err)
	}
}

func TestServerRefuses(t *testing.T) {
	src := openStore(t)
	hs := httptest.NewServer(NewServer(src, &ServerOptions{Keys: config.NewKeySet([]config.Secret{config.NewSecret("k")})}))
	defer hs.Close()
	ctx := context.Background()
	var he *intel.HTTPError
	if _, err := (&Client{}).Discover(ctx, hs.URL+"/taxii2/"); !errors.As(err, &he) || he.Status != 401 {
		t.Errorf("no key: %v", err)
	}
	if _, err := (&Client{APIKey: "nope"}).Discover(ctx, hs.URL+"/taxii2/"); !errors.As(err, &he) || he.Status != 401 {
		t.Errorf("bad key: %v", err)
	}
	open := httptest.NewServer(NewServer(src, nil))
	defer open.Close()
	if _, err := (&Client{APIKey: "k"}).Discover(ctx, open.URL+"/taxii2/"); !errors.As(err, &he) || he.Status != 401 {
		t.Errorf("no keys configured must refuse all: %v", err)
	}
	for _, tc := range []struct {
		method, path, accept string
		status               int
	}{
		{"GET", "/taxii2/", "application/stix+json", 406},
		{"GET", "/taxii2/", "application/taxii+json;version=2.0", 406},
		{"GET", "/taxii2/", "application/taxii+json", 200},
		{"POST", "/taxii2/api/collections/" + AllCollection + "/objects/", "", 405},
		{"GET", "/taxii2/api/collections/nope/objects/", "", 404},
		{"GET", "/taxii2/api/collections/" + AllCollection + "/objects/?next=zzz", "", 400},
		{"GET", "/taxii2/api/collections/" + AllCollection + "/objects/?limit=-1", "", 400},
		{"GET", "/taxii2/api/collections/" + AllCollection + "/objects/?added_after=yesterday", "", 400},
		{"GET", "/taxii2/api/collections/" + AllCollection + "/manifest/", "", 200},
	} {
		req, _ := http.NewRequest(tc.method, hs.URL+tc.path, nil)
		req.Header.Set("X-API-Key", "k")
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != MediaType {
			t.Errorf("%s %s (%s): %d %q, want %d", tc.method, tc.path, tc.accept, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status)
		}
	}
}

func TestClientLimits(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", MediaType)
		fmt.Fprintf(w, `{"title":"%s"}`, strings.Repeat("x", 4096))
	}))
	defer big.Close()
	if _, err := (&Client{MaxBytes: 1024}).Discover(context.Background(), big.URL); !errors.Is(err, intel.ErrTooLarge) {
		t.Errorf("size limit: %v", err)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	c := &Client{HTTP: intel.NewHTTPClient(100 * time.Millisecond)}
	if _, err := c.Discover(context.Background(), slow.URL); err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("timeout: %v", err)
	}
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>login</html>"))
	}))
	defer html.Close()
	if _, err := (&Client{}).Discover(context.Background(), html.URL); err == nil || !strings.Contains(err.Error(), "content type") {
		t.Errorf("html answer: %v", err)
	}
}

// TestClientPagesByDateAdded: a server that pages without "next" (allowed
// by TAXII 2.1) is followed by X-TAXII-Date-Added-Last; one that never
// advances is an error, not an endless loop.
func TestClientPagesByDateAdded(t *testing.T) {
	obj := func(i int) string {
		return fmt.Sprintf(`{"type":"indicator","id":"indicator--%d","pattern":"[ipv4-addr:value = '192.0.2.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, i, i)
	}
	stuck := false
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", MediaType)
		after := r.URL.Query().Get("added_after")
		switch {
		case stuck:
			w.Header().Set("X-TAXII-Date-Added-Last", "2026-01-01T00:00:01Z")
			fmt.Fprintf(w, `{"more":true,"objects":[%s]}`, obj(1))
		case after == "":
			w.Header().Set("X-TAXII-Date-Added-Last", "2026-01-01T00:00:01Z")
			fmt.Fprintf(w, `{"more":true,"objects":[%s]}`, obj(1))
		default:
			w.Header().Set("X-TAXII-Date-Added-Last", "2026-01-01T00:00:02Z")
			fmt.Fprintf(w, `{"more":false,"objects":[%s]}`, obj(2))
		}
	}))
	defer hs.Close()
	res, err := (&Client{}).Poll(context.Background(), hs.URL+"/api/", "c", nil)
	if err != nil || res.Pages != 2 || len(res.Batch.Entries) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	stuck = true
	if _, err := (&Client{}).Poll(context.Background(), hs.URL+"/api/", "c", nil); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("stuck server: %v", err)
	}
}
