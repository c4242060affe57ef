package stix

import (
	"os"
	"strings"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/intel"
)

func TestReadBundle(t *testing.T) {
	data, err := os.ReadFile("testdata/bundle.json")
	if err != nil {
		t.Fatal(err)
	}
	b, st, err := Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != 8 || st.Indicators != 6 || st.Other != 2 {
		t.Errorf("stats = %+v", st)
	}
	got := map[string]intel.Entry{}
	for _, e := range b.Entries {
		got[string(e.Type)+" "+e.Value] = e
	}
	for _, k := range []string{"ip 198.51.100.23", "cidr 203.0.113.0/25", "domain update-check.example",
		"sha256 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
		"email billing@invoices-example.test", "url https://invoices-example.test/pay?id=7"} {
		if _, ok := got[k]; !ok {
			t.Errorf("missing entry %s", k)
		}
	}
	if len(b.Entries) != 6 {
		t.Errorf("entries = %d, want 6", len(b.Entries))
	}
	c2 := got["ip 198.51.100.23"]
	if c2.Confidence != 85 || c2.Ref != "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f" || c2.ValidUntil.Year() != 2036 ||
		len(c2.KillChain) != 1 || c2.KillChain[0].PhaseName != "command-and-control" ||
		len(c2.ExternalRefs) != 1 || c2.ExternalRefs[0].ExternalID != "ADV-2026-017" ||
		strings.Join(c2.Labels, ",") != "emotet,c2,malicious-activity" || c2.Description != "Emotet C2 servers" {
		t.Errorf("C2 entry = %+v", c2)
	}
	reasons := map[string]string{}
	for _, s := range b.Skipped {
		reasons[s.Ref] += s.Reason + ";"
	}
	for ref, want := range map[string]string{
		"indicator--0f4c8c5b-7a0d-4ea7-9f0b-66d9a3b7c2a1 (partial)": "unsupported object path file:name",
		"indicator--7b3c1d0e-1111-4a2b-9c3d-4e5f6a7b8c9d":           "unsupported object path process:command_line",
		"indicator--9a9a9a9a-2222-4b3c-8d4e-5f6a7b8c9d0e":           `pattern_type "yara"`,
		"indicator--5e5e5e5e-3333-4c4d-8e5f-6a7b8c9d0e1f":           "revoked",
	} {
		if !strings.Contains(reasons[ref], want) {
			t.Errorf("skip %s = %q, want %q", ref, reasons[ref], want)
		}
	}
}

func TestReadShapes(t *testing.T) {
	one := `{"type":"indicator","id":"indicator--1","pattern":"[domain-name:value = 'a.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`
	for name, in := range map[string]string{
		"object": one, "array": "[" + one + "]", "envelope": `{"more":false,"objects":[` + one + `]}`,
	} {
		b, _, err := Read([]byte(in))
		if err != nil || len(b.Entries) != 1 || b.Entries[0].Value != "a.example" {
			t.Errorf("%s: %+v %v", name, b, err)
		}
	}
	for _, bad := range []string{"", "5", `{"objects": 5}`, "[1,"} {
		if _, _, err := Read([]byte(bad)); err == nil {
			t.Errorf("Read(%q) succeeded", bad)
		}
	}
	b, _, err := Read([]byte(`[{"type":"indicator","id":"indicator--2","pattern":"[ipv4-addr:value = '1.2.3.4']","valid_from":"yesterday"}]`))
	if err != nil || len(b.Skipped) != 1 || !strings.Contains(b.Skipped[0].Reason, "valid_from") {
		t.Errorf("bad valid_from: %+v %v", b, err)
	}
}

func TestToObjectRoundTrip(t *testing.T) {
	in := &intel.Indicator{Type: ioc.CIDR, Value: "203.0.113.0/25", Confidence: 80,
		Sources: []intel.Provenance{{Source: "cert", Ref: "indicator--x", Labels: []string{"c2"},
			KillChain: []intel.KillChainPhase{{KillChainName: "mitre-attack", PhaseName: "command-and-control"}}}}}
	o, err := ToObject(in)
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != IndicatorID(ioc.CIDR, "203.0.113.0/25") || !strings.HasPrefix(o.ID, "indicator--") || len(o.ID) != len("indicator--")+36 {
		t.Errorf("id %q", o.ID)
	}
	es, skips := FromIndicator(&o)
	if len(skips) != 0 || len(es) != 1 || es[0].Type != ioc.CIDR || es[0].Value != in.Value || es[0].Confidence != 80 ||
		len(es[0].KillChain) != 1 || es[0].Labels[0] != "c2" {
		t.Errorf("round trip: %+v %+v", es, skips)
	}
}
