package intel

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"github.com/mcpsoc/mcpsoc/internal/mcpx/mcpxtest"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// allTools maps each tool to whether it reaches outside systems.
var allTools = map[string]bool{
	"lookup_indicator": false, "enrich_ip": false, "status": false,
	"virustotal_lookup": true, "otx_lookup": true, "abuseipdb_check": true,
}

// connect serves s over in-memory transports and returns a client session.
func connect(t testing.TB, s *Server) *mcp.ClientSession {
	t.Helper()
	return mcpxtest.Connect(t, s.MCP(nil), "intel-test")
}

func newServer(t testing.TB, cfg Config, opts *Options) *Server {
	t.Helper()
	s, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// call calls a tool; see mcpxtest.Call.
var call = mcpxtest.Call

func TestUnconfigured(t *testing.T) {
	cs := connect(t, newServer(t, Config{}, nil))
	tools, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tools.Tools) != len(allTools) {
		t.Errorf("%d tools, want %d", len(tools.Tools), len(allTools))
	}
	for _, tool := range tools.Tools {
		open, ok := allTools[tool.Name]
		a := tool.Annotations
		if !ok || a == nil || !a.ReadOnlyHint || *a.DestructiveHint || *a.OpenWorldHint != open || tool.OutputSchema == nil {
			t.Errorf("%s: annotations %+v", tool.Name, a)
		}
	}
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"lookup_indicator", map[string]any{"value": "81.2.69.142"}, "the intel store is not configured"},
		{"enrich_ip", map[string]any{"ip": "81.2.69.142"}, "no GeoIP database is configured: start the server with --geoip-city"},
		{"virustotal_lookup", map[string]any{"value": "81.2.69.142"}, "VirusTotal is not configured: give its API key"},
		{"otx_lookup", map[string]any{"value": "example.com"}, "OTX is not configured"},
		{"abuseipdb_check", map[string]any{"ip": "81.2.69.142"}, "AbuseIPDB is not configured"},
	} {
		if got := call(t, cs, c.tool, c.args, nil); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.tool, got, c.want)
		}
	}
	// A private address needs no database.
	var er EnrichResult
	if e := call(t, cs, "enrich_ip", map[string]any{"ip": "10.1.2.3"}, &er); e != "" || er.Scope != "private" || len(er.Notes) != 1 {
		t.Errorf("private: %q %+v", e, er)
	}
	var st StatusResult
	if e := call(t, cs, "status", nil, &st); e != "" || st.Store || st.GeoIPCity != nil || st.VirusTotal != "not configured" {
		t.Errorf("status: %q %+v", e, st)
	}
}

func ts(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func testStore() *memStore {
	return newMemStore(
		Record{Type: "ip", Value: "81.2.69.142", Related: []string{"evil.example.net"}, Sources: []Source{
			{Name: "abuse.ch feodo", FirstSeen: ts("2024-01-01T00:00:00Z"), LastSeen: ts("2024-02-01T00:00:00Z"), Confidence: 80, Labels: []string{"botnet-c2"}},
			{Name: "taxii:partner/indicators", Confidence: 60, Labels: []string{"malicious-activity"}, Reference: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
				KillChainPhases: []KillChainPhase{{KillChainName: "mitre-attack", PhaseName: "command-and-control"}}},
		}},
		Record{Type: "cidr", Value: "89.160.20.112/28", Sources: []Source{{Name: "spamhaus-drop", Confidence: 90}}},
		Record{Type: "domain", Value: "example.net", ValidUntil: ts("2020-01-01T00:00:00Z"), Sources: []Source{{Name: "old list", Confidence: 95}}},
		Record{Type: "domain", Value: "evil.example.net", ValidUntil: ts("2999-01-01T00:00:00Z"), Sources: []Source{{Name: "misp:event-42", Confidence: 70}}},
		Record{Type: "url", Value: "http://evil.example.net/dl?id=7", Sources: []Source{{Name: "urlhaus", Confidence: 75}}},
		Record{Type: "sha256", Value: "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", Sources: []Source{{Name: "analyst", Confidence: 100, Description: "EICAR test file"}}},
		Record{Type: "email", Value: "billing@phish.example.org", Sources: []Source{{Name: "phishtank-mail", Confidence: 50}}},
	)
}

func TestLookupIndicator(t *testing.T) {
	store := testStore()
	cs := connect(t, newServer(t, Config{}, &Options{Indicators: store}))
	type m struct{ on, rel, value string }
	for _, c := range []struct {
		name, value, typ string
		typeOut          string
		matches          []m
		maxConf          int
		expired          int
	}{
		{"ip exact", "81.2.69.142", "", "ip", []m{{"81.2.69.142", "exact", "81.2.69.142"}}, 80, 0},
		{"defanged ip", "81.2.69[.]142", "", "ip", []m{{"81.2.69.142", "exact", "81.2.69.142"}}, 80, 0},
		{"ip in cidr", "89.160.20.115", "", "ip", []m{{"89.160.20.115", "containing_cidr", "89.160.20.112/28"}}, 90, 0},
		{"ipv4-mapped", "::ffff:89.160.20.115", "", "ip", []m{{"89.160.20.115", "containing_cidr", "89.160.20.112/28"}}, 90, 0},
		{"subdomain", "WWW.Evil.Example.NET.", "", "domain", []m{{"evil.example.net", "parent_domain", "evil.example.net"}, {"example.net", "parent_domain", "example.net"}}, 70, 1},
		{"url", "hxxp://evil[.]example[.]net/dl?id=7", "", "url", []m{{"http://evil.example.net/dl?id=7", "exact", "http://evil.example.net/dl?id=7"}, {"evil.example.net", "url_host", "evil.example.net"}, {"example.net", "parent_domain", "example.net"}}, 75, 1},
		{"other url on the host", "https://evil.example.net/x", "", "url", []m{{"evil.example.net", "url_host", "evil.example.net"}, {"example.net", "parent_domain", "example.net"}}, 70, 1},
		{"sha256 upper", "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F", "", "sha256", []m{{"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", "exact", "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"}}, 100, 0},
		{"email", "Billing@Phish.Example.org", "", "email", []m{{"billing@phish.example.org", "exact", "billing@phish.example.org"}}, 50, 0},
		{"not found", "8.8.8.8", "", "ip", nil, 0, 0},
		{"not found md5", "d41d8cd98f00b204e9800998ecf8427e", "md5", "md5", nil, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r LookupResult
			if e := call(t, cs, "lookup_indicator", map[string]any{"value": c.value, "type": c.typ}, &r); e != "" {
				t.Fatal(e)
			}
			if r.Type != c.typeOut || r.Found != (len(c.matches) > 0) || r.MaxConfidence != c.maxConf || r.Query != c.value {
				t.Errorf("result %+v", r)
			}
			if len(r.Matches) != len(c.matches) {
				t.Fatalf("matches %+v, want %v", r.Matches, c.matches)
			}
			exp := 0
			for i, want := range c.matches {
				g := r.Matches[i]
				if g.MatchedOn != want.on || g.Relation != want.rel || g.Value != want.value || len(g.Sources) == 0 {
					t.Errorf("match %d: %+v, want %+v", i, g, want)
				}
				if g.Expired {
					exp++
				}
			}
			if exp != c.expired {
				t.Errorf("%d expired, want %d", exp, c.expired)
			}
		})
	}
	// Provenance travels whole.
	var r LookupResult
	call(t, cs, "lookup_indicator", map[string]any{"value": "81.2.69.142"}, &r)
	src := r.Matches[0].Sources[1]
	if len(r.Matches[0].Sources) != 2 || src.Reference == "" || src.KillChainPhases[0].PhaseName != "command-and-control" ||
		!r.Matches[0].Sources[0].FirstSeen.Equal(*ts("2024-01-01T00:00:00Z")) || r.Matches[0].Related[0] != "evil.example.net" ||
		strings.Join(r.Sources, ",") != "abuse.ch feodo,taxii:partner/indicators" {
		t.Errorf("provenance: %+v", r)
	}

	// Bad input and store failures are isError results.
	for _, c := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"value": ""}, "value is required"},
		{map[string]any{"value": "   "}, "value is required"},
		{map[string]any{"value": "not an indicator!"}, "cannot tell what"},
		{map[string]any{"value": "81.2.69.142", "type": "asn"}, `type "asn" is not one of`},
		{map[string]any{"value": "zzz", "type": "md5"}, `"zzz" is not a valid md5`},
		{map[string]any{"value": strings.Repeat("a", MaxIndicatorLen+1)}, "indicators are at most 4096"},
	} {
		if got := call(t, cs, "lookup_indicator", c.args, nil); !strings.Contains(got, c.want) {
			t.Errorf("%v: %q, want %q", c.args, got, c.want)
		}
	}
	store.err = errors.New("database is locked")
	if got := call(t, cs, "lookup_indicator", map[string]any{"value": "1.1.1.1"}, nil); !strings.Contains(got, "the intel store failed looking up \"1.1.1.1\": database is locked") {
		t.Errorf("store failure: %q", got)
	}
}

func TestEnrichIP(t *testing.T) {
	city, asn := writeGeoDBs(t, t.TempDir())
	cs := connect(t, newServer(t, Config{GeoIPCity: city, GeoIPASN: asn}, nil))
	var r EnrichResult
	if e := call(t, cs, "enrich_ip", map[string]any{"ip": "81.2.69.142"}, &r); e != "" {
		t.Fatal(e)
	}
	if r.Scope != "public" || r.Geo == nil || r.Geo.City != "London" || r.Geo.CountryISO != "GB" || *r.Geo.Latitude != 51.5142 ||
		r.ASN == nil || r.ASN.Number != 20712 || r.ASN.Organization != "Andrews & Arnold Ltd" || len(r.Notes) != 0 {
		t.Errorf("London: %+v", r)
	}
	r = EnrichResult{}
	if e := call(t, cs, "enrich_ip", map[string]any{"ip": "2a01:4f8:c17:1::1"}, &r); e != "" || r.Geo.CountryISO != "DE" || r.ASN.Number != 24940 {
		t.Errorf("IPv6: %q %+v", e, r)
	}
	r = EnrichResult{}
	if e := call(t, cs, "enrich_ip", map[string]any{"ip": "8.8.8.8"}, &r); e != "" || r.Geo != nil || r.ASN != nil || len(r.Notes) != 2 {
		t.Errorf("unknown address: %q %+v", e, r)
	}
	for ip, sc := range map[string]string{"127.0.0.1": "loopback", "::1": "loopback", "192.168.1.10": "private", "fd00::1": "private",
		"169.254.1.1": "link_local", "100.64.0.1": "shared", "203.0.113.9": "documentation", "224.0.0.1": "multicast", "0.0.0.0": "unspecified"} {
		r = EnrichResult{}
		if e := call(t, cs, "enrich_ip", map[string]any{"ip": ip}, &r); e != "" || r.Scope != sc || r.Geo != nil || len(r.Notes) != 1 {
			t.Errorf("%s: %q %+v, want scope %s", ip, e, r, sc)
		}
	}
	for _, bad := range []string{"", "999.1.1.1", "example.com", "10.0.0.0/8"} {
		if got := call(t, cs, "enrich_ip", map[string]any{"ip": bad}, nil); got == "" {
			t.Errorf("%q accepted", bad)
		}
	}
	// Only the ASN database: the answer says what is missing.
	cs = connect(t, newServer(t, Config{GeoIPASN: asn}, nil))
	r = EnrichResult{}
	if e := call(t, cs, "enrich_ip", map[string]any{"ip": "81.2.69.142"}, &r); e != "" || r.Geo != nil || r.ASN == nil || len(r.Notes) != 1 ||
		!strings.Contains(r.Notes[0], "no city database is configured") {
		t.Errorf("ASN only: %q %+v", e, r)
	}
	var st StatusResult
	call(t, cs, "status", nil, &st)
	if st.GeoIPASN == nil || st.GeoIPASN.Type != "GeoLite2-ASN" || st.GeoIPCity != nil {
		t.Errorf("status: %+v", st)
	}
}

func connectorConfig(vt, otx, abuse *fakeAPI) Config {
	return Config{
		VirusTotal: API{APIKey: config.NewSecret(vtKey), BaseURL: vt.URL + "/api/v3"},
		OTX:        API{APIKey: config.NewSecret(otxKey), BaseURL: otx.URL},
		AbuseIPDB:  API{APIKey: config.NewSecret(abuseKey), BaseURL: abuse.URL + "/api/v2"},
	}
}

func TestConnectors(t *testing.T) {
	vt, otx, abuse := newVTFake(t), newOTXFake(t), newAbuseFake(t)
	cs := connect(t, newServer(t, connectorConfig(vt, otx, abuse), nil))
	var all []string // every answer, to check no key leaks

	t.Run("virustotal", func(t *testing.T) {
		var r VTResult
		if e := call(t, cs, "virustotal_lookup", map[string]any{"value": "44D88612FEA8A8F36DE82E1278ABB02F"}, &r); e != "" {
			t.Fatal(e)
		}
		req := vt.last(t)
		if req.Method != "GET" || req.URL.Path != "/api/v3/files/44d88612fea8a8f36de82e1278abb02f" || req.Header.Get("x-apikey") != vtKey ||
			req.Header.Get("Accept") != "application/json" || req.URL.RawQuery != "" {
			t.Errorf("request %s %s %v", req.Method, req.URL, req.Header)
		}
		if !r.Found || r.Type != "file" || r.Stats.Malicious != 3 || r.ThreatLabel != "virus.eicar/test" || r.MeaningfulName != "eicar.com" ||
			len(r.Detections) != 3 || r.Detections[0].Engine != "Avira" || r.Detections[2].Category != "suspicious" ||
			r.LastAnalysis.Unix() != 1700000000 || r.Size != 68 || r.Cached || !strings.HasSuffix(r.Link, "/gui/file/"+r.ID) {
			t.Errorf("file: %+v", r)
		}
		n := vt.count()
		r = VTResult{}
		call(t, cs, "virustotal_lookup", map[string]any{"value": "44d88612fea8a8f36de82e1278abb02f"}, &r)
		if !r.Cached || vt.count() != n || r.Stats.Malicious != 3 {
			t.Errorf("second lookup not from the cache: cached=%v requests %d→%d", r.Cached, n, vt.count())
		}

		r = VTResult{}
		call(t, cs, "virustotal_lookup", map[string]any{"value": "81.2.69.142"}, &r)
		if vt.last(t).URL.Path != "/api/v3/ip_addresses/81.2.69.142" || r.ASOwner != "Andrews & Arnold Ltd" || r.ASN != 20712 || r.Stats.Malicious != 1 {
			t.Errorf("ip: %+v", r)
		}
		r = VTResult{}
		call(t, cs, "virustotal_lookup", map[string]any{"value": "evil[.]example.net"}, &r)
		if vt.last(t).URL.Path != "/api/v3/domains/evil.example.net" || *r.Reputation != -12 || len(r.Categories) != 2 || r.Registrar == "" {
			t.Errorf("domain: %+v", r)
		}
		r = VTResult{}
		call(t, cs, "virustotal_lookup", map[string]any{"value": "http://evil.example.net/dl?id=7"}, &r)
		id := base64.RawURLEncoding.EncodeToString([]byte("http://evil.example.net/dl?id=7"))
		if vt.last(t).URL.EscapedPath() != "/api/v3/urls/"+id || strings.Contains(id, "=") || r.FinalURL != "http://evil.example.net/payload.bin" {
			t.Errorf("url: path %s, %+v", vt.last(t).URL.EscapedPath(), r)
		}
		r = VTResult{}
		if e := call(t, cs, "virustotal_lookup", map[string]any{"value": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}, &r); e != "" || r.Found || !strings.Contains(r.Note, "no report") {
			t.Errorf("not found: %q %+v", e, r)
		}
		b, _ := json.Marshal(r)
		all = append(all, string(b))

		// A malformed answer is an error and is not cached.
		n = vt.count()
		for range 2 {
			if got := call(t, cs, "virustotal_lookup", map[string]any{"value": "broken.example.net"}, nil); !strings.Contains(got, "decoding VirusTotal's response") {
				t.Errorf("malformed answer: %q", got)
			}
		}
		if vt.count() != n+2 {
			t.Errorf("a malformed answer was cached: %d requests for 2 calls", vt.count()-n)
		}
	})

	t.Run("otx", func(t *testing.T) {
		var r OTXResult
		if e := call(t, cs, "otx_lookup", map[string]any{"value": "81.2.69.142"}, &r); e != "" {
			t.Fatal(e)
		}
		req := otx.last(t)
		if req.URL.Path != "/api/v1/indicators/IPv4/81.2.69.142/general" || req.Header.Get("X-OTX-API-KEY") != otxKey {
			t.Errorf("request %s %v", req.URL, req.Header)
		}
		if !r.Found || r.PulseCount != 2 || len(r.Pulses) != 2 || r.Pulses[0].MalwareFamilies[0] != "Mirai" || r.Pulses[0].AttackIDs[0] != "T1110 - Brute Force" ||
			r.Pulses[1].MalwareFamilies[0] != "Gafgyt" || r.Pulses[1].AttackIDs[0] != "T1498" || r.Pulses[0].Author != "analyst1" || r.CountryCode != "GB" {
			t.Errorf("ip: %+v", r)
		}
		r = OTXResult{}
		call(t, cs, "otx_lookup", map[string]any{"value": "www.example.com"}, &r)
		if otx.last(t).URL.Path != "/api/v1/indicators/hostname/www.example.com/general" || r.PulseCount != 0 || len(r.Validation) != 1 ||
			!strings.Contains(r.Validation[0], "Whitelisted domain") {
			t.Errorf("hostname: %+v", r)
		}
		r = OTXResult{}
		call(t, cs, "otx_lookup", map[string]any{"value": "http://evil.example.net/dl"}, &r)
		if otx.last(t).URL.Path != "/api/v1/indicators/url/http://evil.example.net/dl/general" || r.PulseCount != 1 {
			t.Errorf("url: %s %+v", otx.last(t).URL.Path, r)
		}
		r = OTXResult{}
		call(t, cs, "otx_lookup", map[string]any{"value": "44d88612fea8a8f36de82e1278abb02f"}, &r)
		if otx.last(t).URL.Path != "/api/v1/indicators/file/44d88612fea8a8f36de82e1278abb02f/general" || !r.Found {
			t.Errorf("file: %+v", r)
		}
		r = OTXResult{}
		if e := call(t, cs, "otx_lookup", map[string]any{"value": "unknown.example.org"}, &r); e != "" || r.Found || otx.last(t).URL.Path != "/api/v1/indicators/hostname/unknown.example.org/general" {
			t.Errorf("unknown: %q %+v", e, r)
		}
		if e := call(t, cs, "otx_lookup", map[string]any{"value": "example.org"}, &r); e != "" || otx.last(t).URL.Path != "/api/v1/indicators/domain/example.org/general" {
			t.Errorf("domain: %q %s", e, otx.last(t).URL.Path)
		}
		b, _ := json.Marshal(r)
		all = append(all, string(b))
	})

	t.Run("abuseipdb", func(t *testing.T) {
		var r AbuseResult
		if e := call(t, cs, "abuseipdb_check", map[string]any{"ip": "81.2.69.142", "max_age_days": 30}, &r); e != "" {
			t.Fatal(e)
		}
		req := abuse.last(t)
		q := req.URL.Query()
		if req.URL.Path != "/api/v2/check" || q.Get("ipAddress") != "81.2.69.142" || q.Get("maxAgeInDays") != "30" || req.Header.Get("Key") != abuseKey ||
			req.Header.Get("Accept") != "application/json" {
			t.Errorf("request %s %v", req.URL, req.Header)
		}
		if r.AbuseConfidence != 87 || r.TotalReports != 42 || r.DistinctReporters != 17 || r.UsageType != "Fixed Line ISP" || r.MaxAgeDays != 30 ||
			!r.LastReportedAt.Equal(*ts("2024-01-12T10:20:30Z")) || r.IsWhitelisted == nil || *r.IsWhitelisted {
			t.Errorf("check: %+v", r)
		}
		r = AbuseResult{}
		if e := call(t, cs, "abuseipdb_check", map[string]any{"ip": "2a01:4f8::1"}, &r); e != "" || abuse.last(t).URL.Query().Get("maxAgeInDays") != "90" ||
			r.IsWhitelisted != nil || r.LastReportedAt != nil || r.IPVersion != 6 || r.CountryCode != "" {
			t.Errorf("IPv6 with nulls: %q %+v", e, r)
		}
		if got := call(t, cs, "abuseipdb_check", map[string]any{"ip": "81.2.69.1"}, nil); !strings.Contains(got, "AbuseIPDB rejected the request as invalid (HTTP 422): The ip address must be") {
			t.Errorf("422: %q", got)
		}
		b, _ := json.Marshal(r)
		all = append(all, string(b))
	})

	t.Run("refusals", func(t *testing.T) {
		n := vt.count() + otx.count() + abuse.count()
		for _, c := range []struct {
			tool string
			args map[string]any
			want string
		}{
			{"virustotal_lookup", map[string]any{"value": "10.0.0.5"}, "10.0.0.5 is a private address: it is not sent to outside services"},
			{"virustotal_lookup", map[string]any{"value": "http://192.168.1.1/admin"}, "192.168.1.1 is a private address"},
			{"otx_lookup", map[string]any{"value": "127.0.0.1"}, "127.0.0.1 is a loopback address"},
			{"abuseipdb_check", map[string]any{"ip": "fe80::1"}, "fe80::1 is a link-local address"},
			{"abuseipdb_check", map[string]any{"ip": "81.2.69.142", "max_age_days": 400}, "max_age_days 400 is out of range 1-365"},
			{"abuseipdb_check", map[string]any{"ip": "evil.example.net"}, "is not an IPv4 or IPv6 address"},
			{"virustotal_lookup", map[string]any{"value": "a@b.example"}, "VirusTotal has no lookup for a email"},
			{"virustotal_lookup", map[string]any{"value": "81.2.69.0/24"}, "VirusTotal has no lookup for a cidr"},
			{"otx_lookup", map[string]any{"value": strings.Repeat("ab", 64)}, "OTX has no lookup for a sha512"},
			{"otx_lookup", map[string]any{"value": ""}, "value is required"},
		} {
			if got := call(t, cs, c.tool, c.args, nil); !strings.Contains(got, c.want) {
				t.Errorf("%s %v: %q, want %q", c.tool, c.args, got, c.want)
			}
		}
		if m := vt.count() + otx.count() + abuse.count(); m != n {
			t.Errorf("refused calls reached the services: %d requests", m-n)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			fake          *fakeAPI
			status        int
			retry         string
			tool, value   string
			want, notWant string
		}{
			{vt, 429, "37", "virustotal_lookup", "8.8.4.4", "VirusTotal rate limit or quota exceeded (HTTP 429); retry after 37s: QuotaExceededError Quota exceeded", ""},
			{vt, 403, "", "virustotal_lookup", "8.8.4.4", "VirusTotal refused the request (HTTP 403): the API key lacks access to this lookup: ForbiddenError", ""},
			{vt, 503, "", "virustotal_lookup", "8.8.4.4", "VirusTotal failed (HTTP 503); try again later", ""},
			{otx, 429, "", "otx_lookup", "8.8.4.4", "OTX rate limit or quota exceeded (HTTP 429); retry later: Request was throttled.", ""},
			{abuse, 429, "3600", "abuseipdb_check", "8.8.4.4", "AbuseIPDB rate limit or quota exceeded (HTTP 429); retry after 1h0m0s: Daily rate limit of 1000", ""},
			{abuse, 302, "", "abuseipdb_check", "8.8.4.4", "AbuseIPDB answered HTTP 302", ""},
		} {
			c.fake.set(c.status, c.retry)
			arg := "value"
			if c.tool == "abuseipdb_check" {
				arg = "ip"
			}
			got := call(t, cs, c.tool, map[string]any{arg: c.value}, nil)
			c.fake.set(0, "")
			if !strings.Contains(got, c.want) {
				t.Errorf("%s %d: %q, want %q", c.tool, c.status, got, c.want)
			}
			all = append(all, got)
		}
	})

	t.Run("bad keys", func(t *testing.T) {
		cfg := connectorConfig(vt, otx, abuse)
		cfg.VirusTotal.APIKey, cfg.OTX.APIKey, cfg.AbuseIPDB.APIKey = config.NewSecret("wrong-vt"), config.NewSecret("wrong-otx"), config.NewSecret("wrong-abuse")
		cs := connect(t, newServer(t, cfg, nil))
		for tool, want := range map[string]string{
			"virustotal_lookup": "VirusTotal rejected the API key (HTTP 401): check the configured key: WrongCredentialsError Wrong API key",
			"otx_lookup":        "OTX refused the request (HTTP 403): the API key lacks access to this lookup: Authentication credentials were not provided.",
			"abuseipdb_check":   "AbuseIPDB rejected the API key (HTTP 401): check the configured key: Authentication failed.",
		} {
			arg := "value"
			if tool == "abuseipdb_check" {
				arg = "ip"
			}
			got := call(t, cs, tool, map[string]any{arg: "81.2.69.142"}, nil)
			if !strings.Contains(got, want) {
				t.Errorf("%s: %q, want %q", tool, got, want)
			}
			all = append(all, got)
		}
	})

	t.Run("unreachable and limits", func(t *testing.T) {
		down := newVTFake(t)
		down.Close()
		cfg := Config{VirusTotal: API{APIKey: config.NewSecret(vtKey), BaseURL: down.URL + "/api/v3"},
			OTX: API{APIKey: config.NewSecret(otxKey), BaseURL: otx.URL, MaxResponseBytes: 256, CacheTTL: -1}}
		cs := connect(t, newServer(t, cfg, nil))
		got := call(t, cs, "virustotal_lookup", map[string]any{"value": "81.2.69.142"}, nil)
		if !strings.Contains(got, "VirusTotal at "+strings.TrimPrefix(down.URL, "http://")+" is not reachable") {
			t.Errorf("down: %q", got)
		}
		all = append(all, got)
		if got := call(t, cs, "otx_lookup", map[string]any{"value": "81.2.69.142"}, nil); !strings.Contains(got, "OTX's response is larger than the 256-byte limit") {
			t.Errorf("size limit: %q", got)
		}
		// No cache: both calls reach the service.
		n := otx.count()
		call(t, cs, "otx_lookup", map[string]any{"value": "44d88612fea8a8f36de82e1278abb02f"}, nil)
		call(t, cs, "otx_lookup", map[string]any{"value": "44d88612fea8a8f36de82e1278abb02f"}, nil)
		if otx.count() != n+2 {
			t.Errorf("cache_ttl -1 still caches: %d requests", otx.count()-n)
		}
	})

	for _, a := range all {
		for _, k := range []string{vtKey, otxKey, abuseKey} {
			if strings.Contains(a, k) {
				t.Errorf("an answer carries an API key: %s", a)
			}
		}
	}
}

func TestConnectorConfig(t *testing.T) {
	for _, c := range []struct {
		api  API
		want string
	}{
		{API{APIKey: config.NewSecret("k"), BaseURL: "http://vt.example.com/api/v3"}, "must use https: the API key would travel in clear"},
		{API{APIKey: config.NewSecret("k"), BaseURL: "ftp://x"}, "must be an absolute https URL"},
		{API{APIKey: config.NewSecret("k"), BaseURL: "/relative"}, "must be an absolute https URL"},
		{API{APIKey: config.NewSecret("k"), Timeout: -time.Second}, "must not be negative"},
		{API{APIKey: config.NewSecret("k\r\nX-Evil: 1")}, "contains a line break"},
	} {
		_, err := New(Config{VirusTotal: c.api}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.api, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), c.api.APIKey.Value()+"\r") {
			t.Errorf("error shows the key: %v", err)
		}
	}
	// A key and nothing else uses the vendor's https address.
	s := newServer(t, Config{VirusTotal: API{APIKey: config.NewSecret("k")}, OTX: API{APIKey: config.NewSecret("k"), BaseURL: "http://127.0.0.1:9/"}}, nil)
	if s.vt.base.String() != DefaultVirusTotalURL || s.otx.base.String() != "http://127.0.0.1:9" || s.abuse != nil {
		t.Errorf("bases: %v %v %v", s.vt.base, s.otx.base, s.abuse)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "30": 30 * time.Second, "-1": 0, "soon": 0,
		"Thu, 01 Jan 2026 12:02:00 GMT": 2 * time.Minute, "Thu, 01 Jan 2026 11:00:00 GMT": 0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}

func TestCandidates(t *testing.T) {
	for _, c := range []struct{ v, want string }{
		{"a.b.example.com", "a.b.example.com b.example.com example.com"},
		{"example.com", "example.com"},
		{"http://x.example.com:8080/p", "http://x.example.com:8080/p x.example.com example.com"},
		{"https://[2001:db8::1]/p", "https://[2001:db8::1]/p 2001:db8::1"},
		{"u@mail.example.org", "u@mail.example.org mail.example.org example.org"},
		{"81.2.69.142", "81.2.69.142"},
	} {
		in, err := Parse(c.v, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range in.Candidates() {
			got = append(got, x.Value)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: %v, want %s", c.v, got, c.want)
		}
	}
	long := strings.Repeat("a.", 60) + "example.com"
	in, _ := Parse(long, "")
	cs := in.Candidates()
	if len(cs) != 1+maxParents || cs[len(cs)-1].Value != "example.com" || cs[1].Value != long[2:] {
		t.Errorf("long name: %d candidates, last %v", len(cs), cs[len(cs)-1])
	}
}

// TestKeysNotLogged: debug logs of connector requests never carry a key.
func TestKeysNotLogged(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	vt, otx, abuse := newVTFake(t), newOTXFake(t), newAbuseFake(t)
	cfg := connectorConfig(vt, otx, abuse)
	cs := connect(t, newServer(t, cfg, &Options{Logger: log}))
	call(t, cs, "virustotal_lookup", map[string]any{"value": "81.2.69.142"}, nil)
	call(t, cs, "otx_lookup", map[string]any{"value": "81.2.69.142"}, nil)
	call(t, cs, "abuseipdb_check", map[string]any{"ip": "81.2.69.142"}, nil)
	logs := buf.String()
	if !strings.Contains(logs, "service=AbuseIPDB") || !strings.Contains(logs, "status=200") {
		t.Errorf("no request logs at debug level:\n%s", logs)
	}
	for _, k := range []string{vtKey, otxKey, abuseKey} {
		if strings.Contains(logs, k) {
			t.Errorf("a key is in the logs:\n%s", logs)
		}
	}
}
