package intel

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary indicator text and type hints to Parse: it
// never panics, a parsed value parses again to itself with the same type,
// and its candidates start with the value and are never empty.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"81.2.69.142", "81.2.69[.]142", "::ffff:1.2.3.4", "10.0.0.0/8", "2001:db8::/32", "Evil.Example.COM.",
		"hxxps://evil[.]example[.]com/a?b=c#d", "http://[2001:db8::1]:8080/x", "user[@]example[.]org", "44D88612FEA8A8F36DE82E1278ABB02F",
		strings.Repeat("a", 64), strings.Repeat("b", 128), "", " ", "a@b", "http://", "[.]", "xn--bcher-kva.example", "\"'<8.8.8.8>'\""} {
		f.Add(s, "")
	}
	f.Add("1.2.3.4", "domain")
	f.Add("example.com", "url")
	f.Add("a@b.example", "EMAIL")
	f.Fuzz(func(t *testing.T, v, typ string) {
		in, err := Parse(v, typ)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		again, err := Parse(in.Value, string(in.Type))
		if err != nil || again != in {
			t.Fatalf("%q (%s) does not parse to itself: %+v %v", in.Value, in.Type, again, err)
		}
		cs := in.Candidates()
		if len(cs) == 0 || cs[0].Value != in.Value || cs[0].Relation != "exact" {
			t.Fatalf("candidates of %+v: %+v", in, cs)
		}
		for _, c := range cs {
			if c.Value == "" || c.Relation == "" {
				t.Fatalf("empty candidate of %+v: %+v", in, cs)
			}
		}
	})
}

// FuzzParseIP checks the address parser of enrich_ip and abuseipdb_check.
func FuzzParseIP(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "[::1]", "fe80::1%eth0", "::ffff:10.0.0.1", "1.2.3[.]4", "", "x", "1.2.3.4/32"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		a, err := parseIP(v)
		if err != nil {
			return
		}
		if a.Zone() != "" || a.Is4In6() {
			t.Fatalf("%q parsed to %v", v, a)
		}
		if scope(a) == "" {
			t.Fatalf("no scope for %v", a)
		}
		if b, err := netip.ParseAddr(a.String()); err != nil || b != a {
			t.Fatalf("%v does not round-trip", a)
		}
	})
}

// FuzzDecodeResponses feeds arbitrary bodies to the three connectors'
// response decoders and to the error-detail reader: they never panic and
// keep their output bounds.
func FuzzDecodeResponses(f *testing.F) {
	for _, o := range vtObjects {
		f.Add([]byte(o))
	}
	for _, o := range otxObjects {
		f.Add([]byte(o))
	}
	for _, o := range abuseObjects {
		f.Add([]byte(o))
	}
	for _, s := range []string{`{"error":{"code":"NotFoundError","message":"x"}}`, `{"errors":[{"detail":"d","status":401}]}`, `{"detail":"Not found."}`,
		`{"data":null}`, `{"data":{"attributes":{"last_analysis_date":-5}}}`, `{"pulse_info":{"pulses":[{"malware_families":[1,{"id":2},"x",null]}]}}`,
		`{"data":{"abuseConfidenceScore":101}}`, `{"data":{"lastReportedAt":"yesterday"}}`, `null`, `[]`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if r, err := decodeVT(body, "file"); err == nil {
			if !r.Found || r.ID == "" || len(r.Detections) > 25 || len(r.Names) > 10 || len(r.Tags) > 25 {
				t.Fatalf("VirusTotal result out of bounds: %+v", r)
			}
			if r.LastAnalysis != nil && r.LastAnalysis.Before(time.Unix(0, 0)) {
				t.Fatalf("time before the epoch: %v", r.LastAnalysis)
			}
		}
		if r, err := decodeOTX(body, "IPv4", "81.2.69.142"); err == nil {
			if len(r.Pulses) > 20 || r.PulseCount < len(r.Pulses) || r.Link == "" {
				t.Fatalf("OTX result out of bounds: %+v", r)
			}
		}
		if r, err := decodeAbuseIPDB(body, "81.2.69.142", 90); err == nil {
			if r.AbuseConfidence < 0 || r.AbuseConfidence > 100 || len(r.Hostnames) > 10 {
				t.Fatalf("AbuseIPDB result out of bounds: %+v", r)
			}
		}
		if d := vendorDetail(body); len(d) > 304 || strings.ContainsAny(d, "\n\r") {
			t.Fatalf("detail %q", d)
		}
	})
}
