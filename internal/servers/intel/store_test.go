package intel

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	intelstore "github.com/mcpsoc/mcpsoc/internal/intel"
)

// TestFromStore runs lookup_indicator over the real intel store: the
// server's own widening (parent domains, URL host, containing CIDR) on top
// of the store's exact matches, with provenance and related values intact.
func TestFromStore(t *testing.T) {
	ctx := context.Background()
	st, err := intelstore.Open(ctx, filepath.Join(t.TempDir(), "intel.db"), &intelstore.Options{NoMatcher: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	_, err = st.Import(ctx, "feed-a", intelstore.Batch{Entries: []intelstore.Entry{
		{Type: ioc.Domain, Value: "evil.example.net", Confidence: 80, Labels: []string{"c2"}, Ref: "indicator--1",
			KillChain: []intelstore.KillChainPhase{{KillChainName: "mitre-attack", PhaseName: "command-and-control"}}, ValidUntil: until},
		{Type: ioc.IP, Value: "203.0.113.9", Confidence: 80, Ref: "indicator--1"},
		{Type: ioc.CIDR, Value: "198.51.100.0/24", Confidence: 60, Ref: "indicator--2"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Import(ctx, "feed-b", intelstore.Batch{Entries: []intelstore.Entry{{Type: ioc.Domain, Value: "evil.example.net", Confidence: 40}}}); err != nil {
		t.Fatal(err)
	}
	cs := connect(t, newServer(t, Config{}, &Options{Indicators: FromStore(st)}))

	var r LookupResult
	if e := call(t, cs, "lookup_indicator", map[string]any{"value": "hxxps://cdn.evil[.]example.net/a.js"}, &r); e != "" {
		t.Fatal(e)
	}
	if !r.Found || len(r.Matches) != 1 || r.MaxConfidence != 80 {
		t.Fatalf("url lookup: %+v", r)
	}
	m := r.Matches[0]
	if m.Value != "evil.example.net" || m.Relation != "parent_domain" || len(m.Sources) != 2 {
		t.Fatalf("match %+v", m)
	}
	var a *Source
	for i := range m.Sources {
		if m.Sources[i].Name == "feed-a" {
			a = &m.Sources[i]
		}
	}
	if a == nil || a.Reference != "indicator--1" || len(a.Labels) != 1 || len(a.KillChainPhases) != 1 || a.FirstSeen == nil {
		t.Fatalf("provenance of feed-a: %+v", m.Sources)
	}
	if len(m.Related) != 1 || m.Related[0] != "203.0.113.9" {
		t.Errorf("related %v, want the IP of the same STIX indicator", m.Related)
	}
	// feed-b gives no expiry, so the merged indicator has none.
	if m.ValidUntil != nil {
		t.Errorf("valid_until %v, want none (one source gives none)", m.ValidUntil)
	}

	if _, err := st.Import(ctx, "feed-c", intelstore.Batch{Entries: []intelstore.Entry{{Type: ioc.SHA256, Value: "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", ValidUntil: until}}}); err != nil {
		t.Fatal(err)
	}
	r = LookupResult{}
	if e := call(t, cs, "lookup_indicator", map[string]any{"value": "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F"}, &r); e != "" {
		t.Fatal(e)
	}
	if len(r.Matches) != 1 || r.Matches[0].ValidUntil == nil || !r.Matches[0].ValidUntil.Equal(until) {
		t.Fatalf("hash lookup: %+v", r)
	}

	r = LookupResult{}
	if e := call(t, cs, "lookup_indicator", map[string]any{"value": "198.51.100.7"}, &r); e != "" {
		t.Fatal(e)
	}
	if !r.Found || len(r.Matches) != 1 || r.Matches[0].Relation != "containing_cidr" || r.Matches[0].Value != "198.51.100.0/24" {
		t.Fatalf("cidr lookup: %+v", r)
	}

	r = LookupResult{}
	if e := call(t, cs, "lookup_indicator", map[string]any{"value": "8.8.8.8"}, &r); e != "" || r.Found {
		t.Fatalf("miss: %q %+v", e, r)
	}
	if FromStore(nil) != nil {
		t.Error("FromStore(nil) must be a nil interface so the tool says it is not configured")
	}
}
