package event

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func sample() *Event {
	e := &Event{
		Timestamp: time.Date(2026, 3, 14, 10, 0, 1, 500, time.UTC),
		Kind:      KindEvent,
		Category:  []string{"network"},
		Type:      []string{"connection", "denied"},
		Action:    "block",
		Severity:  3,
		Original:  "raw <line> \"quoted\"",
		Source:    Endpoint{IP: netip.MustParseAddr("203.0.113.7"), Port: 51514},
		Destination: Endpoint{
			IP: netip.MustParseAddr("2001:db8::10"), Port: 22,
		},
		Network:  Network{Transport: "tcp", Type: "ipv4", IANANumber: "6"},
		Observer: Observer{Vendor: "Netgate", Product: "pfSense"},
		Rule:     Rule{ID: "1000000103"},
	}
	e.PutString("observer.ingress.interface.name", "em0")
	e.PutInt("pfsense.ttl", 52)
	e.Put("pfsense.tcp.options", []string{"mss", "sackOK"})
	e.Put("pfsense.fragment", false)
	e.Put("suricata.eve.ratio", 0.5)
	return e
}

func TestGet(t *testing.T) {
	e := sample()
	tests := []struct {
		field string
		want  any
		ok    bool
	}{
		{"@timestamp", "2026-03-14T10:00:01.0000005Z", true},
		{"event.kind", "event", true},
		{"event.category", []string{"network"}, true},
		{"event.severity", int64(3), true},
		{"source.ip", "203.0.113.7", true},
		{"source.port", int64(51514), true},
		{"destination.ip", "2001:db8::10", true},
		{"network.iana_number", "6", true},
		{"observer.ingress.interface.name", "em0", true},
		{"pfsense.ttl", int64(52), true},
		{"pfsense.tcp.options", []string{"mss", "sackOK"}, true},
		{"pfsense.fragment", false, true},
		{"suricata.eve.ratio", 0.5, true},
		{"event.outcome", nil, false},
		{"no.such.field", nil, false},
		{"Image", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			got, ok := e.Get(tt.field)
			if ok != tt.ok {
				t.Fatalf("Get(%q) ok = %v, want %v", tt.field, ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Get(%q) (-want +got):\n%s", tt.field, diff)
			}
		})
	}
}

func TestPutReplacesAndDeletes(t *testing.T) {
	e := sample()
	e.PutInt("pfsense.ttl", 64)
	e.Put("source.port", "8080") // typed field from text
	e.Put("source.ip", "::ffff:192.0.2.1")
	e.PutString("observer.ingress.interface.name", "")
	e.Put("pfsense.nested", map[string]any{"a": "x", "b": map[string]any{"c": 1}})
	got := map[string]any{}
	e.Fields(func(name string, v any) bool { got[name] = v; return true })
	for name, want := range map[string]any{
		"pfsense.ttl":        int64(64),
		"source.port":        int64(8080),
		"source.ip":          "192.0.2.1",
		"pfsense.nested.a":   "x",
		"pfsense.nested.b.c": int64(1),
	} {
		if diff := cmp.Diff(want, got[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if _, ok := got["observer.ingress.interface.name"]; ok {
		t.Error("empty string did not delete the field")
	}
	n := 0
	e.Fields(func(name string, v any) bool {
		if name == "pfsense.ttl" {
			n++
		}
		return true
	})
	if n != 1 {
		t.Errorf("pfsense.ttl reported %d times", n)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	e := sample()
	e.PutString("a.b", "leaf")
	e.PutString("a.b.c", "child of a leaf")
	b, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	var nested map[string]any
	if err := json.Unmarshal(b, &nested); err != nil {
		t.Fatal(err)
	}
	src := nested["source"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"ip": "203.0.113.7", "port": float64(51514)}, src); diff != "" {
		t.Errorf("nested source (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"b": "leaf", "b.c": "child of a leaf"}, nested["a"]); diff != "" {
		t.Errorf("leaf/parent conflict (-want +got):\n%s", diff)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	collect := func(e *Event) map[string]any {
		m := map[string]any{}
		e.Fields(func(n string, v any) bool { m[n] = v; return true })
		return m
	}
	if diff := cmp.Diff(collect(e), collect(&back)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	b2, _ := back.MarshalJSON()
	if diff := cmp.Diff(string(b), string(b2)); diff != "" {
		t.Errorf("re-marshal differs (-first +second):\n%s", diff)
	}
}

func TestMarshalEscapes(t *testing.T) {
	var e Event
	e.Original = "nul\x00 tab\t bad\xff quote\" ls\u2028"
	b, _ := e.MarshalJSON()
	want := `{"event":{"original":"nul\u0000 tab\t bad\ufffd quote\" ls\u2028"}}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWindowsSigmaNames(t *testing.T) {
	var e Event
	e.PutInt("winlog.event_id", 4688)
	e.PutString("winlog.channel", "Security")
	e.PutString("winlog.provider_name", "Microsoft-Windows-Security-Auditing")
	e.PutString("winlog.computer_name", "WS01")
	e.PutString("winlog.event_data.CommandLine", "cmd /c whoami")
	e.PutString("winlog.event_data.Image", `C:\Windows\System32\cmd.exe`)
	e.PutString("winlog.user_data.SubjectUserName", "mallory")
	for field, want := range map[string]any{
		"EventID":         int64(4688),
		"Channel":         "Security",
		"Provider_Name":   "Microsoft-Windows-Security-Auditing",
		"Computer":        "WS01",
		"CommandLine":     "cmd /c whoami",
		"Image":           `C:\Windows\System32\cmd.exe`,
		"SubjectUserName": "mallory",
	} {
		got, ok := e.Get(field)
		if !ok {
			t.Errorf("Get(%q) not found", field)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Get(%q) (-want +got):\n%s", field, diff)
		}
	}
	if _, ok := e.Get("ParentImage"); ok {
		t.Error("absent EventData name resolved")
	}
}

func TestSetPipelineError(t *testing.T) {
	e := sample()
	e.PutString("host.name", "fw")
	e.SetPipelineError("bad input")
	if !e.IsPipelineError() {
		t.Fatal("kind not pipeline_error")
	}
	got := map[string]any{}
	e.Fields(func(n string, v any) bool { got[n] = v; return true })
	want := map[string]any{
		"@timestamp":     "2026-03-14T10:00:01.0000005Z",
		"event.kind":     "pipeline_error",
		"event.original": "raw <line> \"quoted\"",
		"host.name":      "fw",
		"error.message":  "bad input",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRelatedAndSharedSlices(t *testing.T) {
	shared := []string{"network"}
	a := &Event{Category: shared}
	b := &Event{Category: shared}
	a.AddCategory("intrusion_detection")
	if diff := cmp.Diff([]string{"network"}, b.Category); diff != "" {
		t.Errorf("AddCategory wrote through a shared slice (-want +got):\n%s", diff)
	}
	a.AddRelated("ip", "192.0.2.1", "", "192.0.2.1", "192.0.2.2")
	a.AddRelated("ip", "192.0.2.2", "192.0.2.3")
	got, _ := a.Get("related.ip")
	if diff := cmp.Diff([]string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}, got); diff != "" {
		t.Errorf("related.ip (-want +got):\n%s", diff)
	}
}

func TestSeverity(t *testing.T) {
	for in, want := range map[string]Severity{"informational": SeverityInfo, "LOW": SeverityLow, "medium": SeverityMedium, "high": SeverityHigh, "critical": SeverityCritical, "bogus": SeverityUnknown} {
		if got := ParseSeverity(in); got != want {
			t.Errorf("ParseSeverity(%q) = %v, want %v", in, got, want)
		}
	}
	if diff := cmp.Diff([]Severity{SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}, []Severity{SeverityFromSuricata(1), SeverityFromSuricata(2), SeverityFromSuricata(3), SeverityFromSuricata(4)}); diff != "" {
		t.Errorf("Suricata mapping (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Severity{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityInfo}, []Severity{SeverityFromModSecurity(1), SeverityFromModSecurity(2), SeverityFromModSecurity(3), SeverityFromModSecurity(4), SeverityFromModSecurity(5)}); diff != "" {
		t.Errorf("ModSecurity mapping (-want +got):\n%s", diff)
	}
	if SeverityHigh.String() != "high" || Severity(42).String() != "unknown" {
		t.Error("String")
	}
}

func FuzzUnmarshalJSON(f *testing.F) {
	b, _ := sample().MarshalJSON()
	f.Add(b)
	f.Add([]byte(`{"a":{"b":1,"b.c":[1,"x",{"y":null}]},"@timestamp":"bad","source":{"ip":"x","port":"y"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Event
		if err := e.UnmarshalJSON(data); err != nil {
			return
		}
		out, err := e.MarshalJSON()
		if err != nil || !json.Valid(out) {
			t.Fatalf("MarshalJSON after UnmarshalJSON(%q): invalid %q (%v)", data, out, err)
		}
	})
}

func TestFieldLimit(t *testing.T) {
	var e Event
	for i := 0; i < MaxExtFields+10; i++ {
		e.PutInt("k."+string(rune('a'+i%26))+time.Duration(i).String(), int64(i))
	}
	if e.Len() != MaxExtFields+1 {
		t.Fatalf("Len = %d, want %d", e.Len(), MaxExtFields+1)
	}
	if v, _ := e.Get("mcpsoc.fields_dropped"); v != int64(10) {
		t.Errorf("fields_dropped = %v, want 10", v)
	}
}

// TestExtNamesNeverHideAField: the name filter in front of the extension
// scan rejects absent names only, through puts, deletes, resets and a
// pipeline error's carried fields.
func TestExtNamesNeverHideAField(t *testing.T) {
	var e Event
	want := map[string]string{}
	for i := range 3000 {
		name := fmt.Sprintf("f%d.x%d", i%37, i%11)
		switch i % 5 {
		case 0, 1, 2:
			e.PutString(name, "v"+name)
			want[name] = "v" + name
		case 3:
			e.Delete(name)
			delete(want, name)
		case 4:
			if i%500 == 4 {
				e.Reset()
				clear(want)
			}
		}
		for n, v := range want {
			if got, ok := e.GetString(n); !ok || got != v {
				t.Fatalf("step %d: %s = %q %v, want %q", i, n, got, ok, v)
			}
		}
	}
	e.PutString("host.name", "h")
	e.PutString("log.level", "x")
	e.SetPipelineError("bad")
	for _, n := range []string{"host.name", "log.level", "error.message"} {
		if _, ok := e.Get(n); !ok {
			t.Errorf("%s lost after SetPipelineError", n)
		}
	}
}
