package intel

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Keys the fakes accept.
const (
	vtKey    = "vt-key-0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	otxKey   = "otx-key-fedcba9876543210fedcba9876543210fedcba9876543210fedcba98"
	abuseKey = "abuse-key-c3k69z846qn30q4r6eo3gsg3urqanuoypyluil350m7iyyw55mx6hd22"
)

// fakeAPI is a FAKE of a vendor cloud API (VirusTotal API v3, AlienVault
// OTX API v1, AbuseIPDB API v2), which cannot run here: a real HTTP server
// that speaks each service's documented wire format (paths, key headers,
// JSON objects and error bodies) over objects the tests define, and records
// every request so tests can assert what was sent.
type fakeAPI struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	// force makes the next answers this status (0: normal), with
	// Retry-After when retryAfter is set.
	force      int
	retryAfter string
}

func (f *fakeAPI) record(r *http.Request) (force int, retry string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, r.Clone(r.Context()))
	return f.force, f.retryAfter
}

func (f *fakeAPI) last(t *testing.T) *http.Request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("the fake received no request")
	}
	return f.reqs[len(f.reqs)-1]
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func (f *fakeAPI) set(status int, retry string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.force, f.retryAfter = status, retry
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Objects the VirusTotal fake knows, by API path below /api/v3.
var vtObjects = map[string]string{
	"/files/44d88612fea8a8f36de82e1278abb02f": `{"data":{"id":"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f","type":"file",
		"links":{"self":"https://www.virustotal.com/api/v3/files/275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"},
		"attributes":{"last_analysis_date":1700000000,"first_submission_date":1148301722,"meaningful_name":"eicar.com","names":["eicar.com","eicar.txt"],
		"size":68,"type_description":"DOS COM","md5":"44d88612fea8a8f36de82e1278abb02f","sha1":"3395856ce81f2b7382dee72602f798b642f14140",
		"sha256":"275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f","reputation":3445,"tags":["via-tor","attachment"],
		"total_votes":{"harmless":500,"malicious":120},"popular_threat_classification":{"suggested_threat_label":"virus.eicar/test"},
		"last_analysis_stats":{"harmless":0,"type-unsupported":4,"suspicious":0,"confirmed-timeout":0,"timeout":0,"failure":0,"malicious":3,"undetected":1},
		"last_analysis_results":{"ClamAV":{"category":"malicious","engine_name":"ClamAV","engine_version":"1.2","result":"Win.Test.EICAR_HDB-1","method":"blacklist","engine_update":"20231114"},
		"Avira":{"category":"malicious","engine_name":"Avira","result":"Eicar-Test-Signature","method":"blacklist"},
		"Zillya":{"category":"suspicious","engine_name":"Zillya","result":"EICAR.TestFile","method":"blacklist"},
		"Bkav":{"category":"undetected","engine_name":"Bkav","result":null,"method":"blacklist"}}}}}`,
	"/ip_addresses/81.2.69.142": `{"data":{"id":"81.2.69.142","type":"ip_address","links":{"self":"https://www.virustotal.com/api/v3/ip_addresses/81.2.69.142"},
		"attributes":{"as_owner":"Andrews & Arnold Ltd","asn":20712,"country":"GB","network":"81.2.64.0/19","reputation":0,"tags":[],
		"last_analysis_date":1700000100,"last_analysis_stats":{"harmless":60,"malicious":1,"suspicious":0,"undetected":25,"timeout":0},
		"last_analysis_results":{"CRDF":{"category":"malicious","engine_name":"CRDF","method":"blacklist","result":"malicious"}}}}}`,
	"/domains/evil.example.net": `{"data":{"id":"evil.example.net","type":"domain","attributes":{"registrar":"Example Registrar, Inc.",
		"categories":{"Forcepoint ThreatSeeker":"malicious web sites","Sophos":"phishing"},"reputation":-12,
		"last_analysis_stats":{"harmless":50,"malicious":7,"suspicious":1,"undetected":30,"timeout":0},"last_analysis_results":{}}}}`,
	"/domains/broken.example.net": `{"data":{"id":"broken.example.net","type":"domain","attributes":{"reputation":"high"}}}`,
	"/urls/" + base64.RawURLEncoding.EncodeToString([]byte("http://evil.example.net/dl?id=7")): `{"data":{"id":"0a1b","type":"url",
		"attributes":{"url":"http://evil.example.net/dl?id=7","last_final_url":"http://evil.example.net/payload.bin","title":"Download",
		"last_analysis_stats":{"harmless":40,"malicious":9,"suspicious":0,"undetected":20,"timeout":0},"last_analysis_results":{}}}}`,
}

func newVTFake(t *testing.T) *fakeAPI {
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		force, retry := f.record(r)
		if r.Header.Get("x-apikey") != vtKey {
			writeJSON(w, 401, map[string]any{"error": map[string]string{"code": "WrongCredentialsError", "message": "Wrong API key"}})
			return
		}
		switch force {
		case 0:
		case 429:
			if retry != "" {
				w.Header().Set("Retry-After", retry)
			}
			writeJSON(w, 429, map[string]any{"error": map[string]string{"code": "QuotaExceededError", "message": "Quota exceeded"}})
			return
		case 403:
			writeJSON(w, 403, map[string]any{"error": map[string]string{"code": "ForbiddenError", "message": "You are not allowed to perform the requested operation"}})
			return
		default:
			w.WriteHeader(force)
			return
		}
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/api/v3/") {
			writeJSON(w, 400, map[string]any{"error": map[string]string{"code": "BadRequestError", "message": "bad request"}})
			return
		}
		obj, ok := vtObjects[strings.TrimPrefix(r.URL.EscapedPath(), "/api/v3")]
		if !ok {
			writeJSON(w, 404, map[string]any{"error": map[string]string{"code": "NotFoundError", "message": fmt.Sprintf("%q not found", r.URL.Path)}})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, obj)
	}))
	t.Cleanup(f.Close)
	return f
}

// Indicators the OTX fake knows, by "type/value".
var otxObjects = map[string]string{
	"IPv4/81.2.69.142": `{"whois":"http://whois.domaintools.com/81.2.69.142","reputation":0,"indicator":"81.2.69.142","type":"IPv4","type_title":"IPv4",
		"base_indicator":{"id":123,"indicator":"81.2.69.142","type":"IPv4","title":"","description":"","content":"","access_type":"public","access_reason":""},
		"pulse_info":{"count":2,"pulses":[{"id":"65a1b2c3d4e5f60718293a4b","name":"SSH brute force sources","description":"","modified":"2024-01-12T10:00:00.000000",
		"created":"2024-01-10T09:00:00.000000","tags":["ssh","bruteforce"],"references":["https://example.org/report"],"public":1,"adversary":"",
		"targeted_countries":["United Kingdom"],"malware_families":[{"id":"Mirai","display_name":"Mirai","target":null}],
		"attack_ids":[{"id":"T1110","name":"Brute Force","display_name":"T1110 - Brute Force"}],"industries":[],"TLP":"white",
		"author":{"username":"analyst1","id":"1","is_subscribed":false,"is_following":false}},
		{"id":"65a1b2c3d4e5f60718293a4c","name":"Older list","modified":"2023-05-01T00:00:00","created":"2023-05-01T00:00:00","tags":[],
		"malware_families":["Gafgyt"],"attack_ids":["T1498"],"TLP":"green","author":{"username":"feedbot"}}],"references":[]},
		"false_positive":[],"validation":[],"asn":"AS20712 andrews & arnold ltd","city_data":true,"city":"London","region":null,"continent_code":"EU",
		"country_code3":"GBR","country_code2":"GB","subdivision":"ENG","latitude":51.5,"postal_code":"EC2V","longitude":-0.09,"accuracy_radius":10,
		"country_code":"GB","country_name":"United Kingdom","dma_code":0,"charset":0,"area_code":0,"flag_url":"/assets/images/flags/gb.png","flag_title":"United Kingdom",
		"sections":["general","geo","reputation","url_list","passive_dns","malware","nids_list","http_scans"]}`,
	"hostname/www.example.com": `{"indicator":"www.example.com","type":"hostname","type_title":"Hostname","pulse_info":{"count":0,"pulses":[]},
		"validation":[{"source":"majestic","message":"Whitelisted domain example.com","name":"Whitelisted domain"}],"sections":["general"]}`,
	"url/http://evil.example.net/dl":        `{"indicator":"http://evil.example.net/dl","type":"url","type_title":"URL","pulse_info":{"count":1,"pulses":[{"id":"1","name":"Dropper URLs","tags":["dropper"]}]},"validation":[]}`,
	"file/44d88612fea8a8f36de82e1278abb02f": `{"indicator":"44d88612fea8a8f36de82e1278abb02f","type":"FileHash-MD5","type_title":"FileHash-MD5","pulse_info":{"count":0,"pulses":[]}}`,
}

func newOTXFake(t *testing.T) *fakeAPI {
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		force, retry := f.record(r)
		if r.Header.Get("X-OTX-API-KEY") != otxKey {
			writeJSON(w, 403, map[string]string{"detail": "Authentication credentials were not provided."})
			return
		}
		if force == 429 {
			if retry != "" {
				w.Header().Set("Retry-After", retry)
			}
			writeJSON(w, 429, map[string]string{"detail": "Request was throttled."})
			return
		} else if force != 0 {
			w.WriteHeader(force)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/indicators/")
		rest, ok2 := strings.CutSuffix(rest, "/general")
		if !ok || !ok2 {
			writeJSON(w, 404, map[string]string{"detail": "Not found."})
			return
		}
		obj, ok := otxObjects[rest]
		if !ok {
			writeJSON(w, 404, map[string]string{"detail": "Not found."})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, obj)
	}))
	t.Cleanup(f.Close)
	return f
}

// Addresses the AbuseIPDB fake knows.
var abuseObjects = map[string]string{
	"81.2.69.142": `{"data":{"ipAddress":"81.2.69.142","isPublic":true,"ipVersion":4,"isWhitelisted":false,"abuseConfidenceScore":87,
		"countryCode":"GB","countryName":"United Kingdom","usageType":"Fixed Line ISP","isp":"Andrews & Arnold Ltd","domain":"aa.net.uk",
		"hostnames":["host-81-2-69-142.example.net"],"isTor":false,"totalReports":42,"numDistinctUsers":17,"lastReportedAt":"2024-01-12T10:20:30+00:00"}}`,
	"2a01:4f8::1": `{"data":{"ipAddress":"2a01:4f8::1","isPublic":true,"ipVersion":6,"isWhitelisted":null,"abuseConfidenceScore":0,
		"countryCode":null,"usageType":null,"isp":"Hetzner Online GmbH","domain":"hetzner.com","hostnames":[],"isTor":false,
		"totalReports":0,"numDistinctUsers":0,"lastReportedAt":null}}`,
}

func newAbuseFake(t *testing.T) *fakeAPI {
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		force, retry := f.record(r)
		if r.Header.Get("Key") != abuseKey {
			writeJSON(w, 401, map[string]any{"errors": []map[string]any{{"detail": "Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.", "status": 401}}})
			return
		}
		if force == 429 {
			w.Header().Set("X-RateLimit-Limit", "1000")
			w.Header().Set("X-RateLimit-Remaining", "0")
			if retry != "" {
				w.Header().Set("Retry-After", retry)
			}
			writeJSON(w, 429, map[string]any{"errors": []map[string]any{{"detail": "Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details.", "status": 429}}})
			return
		} else if force != 0 {
			w.WriteHeader(force)
			return
		}
		if r.URL.Path != "/api/v2/check" {
			writeJSON(w, 404, map[string]any{"errors": []map[string]any{{"detail": "Not found.", "status": 404}}})
			return
		}
		obj, ok := abuseObjects[r.URL.Query().Get("ipAddress")]
		if !ok {
			writeJSON(w, 422, map[string]any{"errors": []map[string]any{{"detail": "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).", "status": 422, "source": map[string]string{"parameter": "ipAddress"}}}})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, obj)
	}))
	t.Cleanup(f.Close)
	return f
}
