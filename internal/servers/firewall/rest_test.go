package firewall

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
)

// fakeAppliance is a FAKE of the two appliance APIs, written from their
// documentation because neither OPNsense nor pfSense runs here: OPNsense's
// alias_util (list/add/delete) and alias/reconfigure with basic auth, and
// the pfSense-API v2 aliases/alias/apply endpoints with X-API-Key. It keeps
// one alias's addresses in memory and logs every request it accepts.
type fakeAppliance struct {
	flavor  string
	mu      sync.Mutex
	addrs   []string
	detail  []string
	log     []string
	applied int
}

const (
	fakeKey    = "k-123"
	fakeSecret = "s-456"
	fakeAlias  = "mcpsoc_block"
)

func (f *fakeAppliance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reply := func(code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	var body map[string]any
	if r.Body != nil && r.Method != http.MethodGet {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			reply(400, map[string]string{"status": "failed", "message": "invalid JSON"})
			return
		}
	}
	if f.flavor == BackendOPNsense {
		if u, p, ok := r.BasicAuth(); !ok || u != fakeKey || p != fakeSecret {
			reply(401, map[string]any{"status": 401, "message": "Authentication Failed"})
			return
		}
		f.log = append(f.log, r.Method+" "+r.URL.Path)
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/firewall/alias_util/list/"):
			rows := []map[string]string{}
			if strings.TrimPrefix(r.URL.Path, "/api/firewall/alias_util/list/") == fakeAlias {
				for _, a := range f.addrs {
					rows = append(rows, map[string]string{"ip": a})
				}
			}
			reply(200, map[string]any{"total": len(rows), "rowCount": len(rows), "current": 1, "rows": rows})
		case r.Method == http.MethodPost && r.URL.Path == "/api/firewall/alias_util/add/"+fakeAlias:
			a, _ := body["address"].(string)
			if !slices.Contains(f.addrs, a) {
				f.addrs = append(f.addrs, a)
			}
			reply(200, map[string]string{"status": "done"})
		case r.Method == http.MethodPost && r.URL.Path == "/api/firewall/alias_util/delete/"+fakeAlias:
			a, _ := body["address"].(string)
			f.addrs = slices.DeleteFunc(f.addrs, func(s string) bool { return s == a })
			reply(200, map[string]string{"status": "done"})
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/firewall/alias/getAliasUUID/"):
			if strings.TrimPrefix(r.URL.Path, "/api/firewall/alias/getAliasUUID/") == fakeAlias {
				reply(200, map[string]string{"uuid": "2b5c4a3e-8d1f-4c61-9a37-0e5f2d7c9b14"})
			} else {
				reply(200, []any{}) // OPNsense answers an empty list for an unknown name
			}
		case r.Method == http.MethodPost && r.URL.Path == "/api/firewall/alias/reconfigure":
			f.applied++
			reply(200, map[string]string{"status": "ok"})
		default:
			reply(404, map[string]string{"errorMessage": "Endpoint not found"})
		}
		return
	}
	env := func(code int, status, id string, data any) {
		reply(code, map[string]any{"code": code, "status": status, "response_id": id, "message": "", "data": data})
	}
	if r.Header.Get("X-API-Key") != fakeKey {
		env(401, "unauthorized", "AUTH_AUTHENTICATION_FAILED", []any{})
		return
	}
	f.log = append(f.log, r.Method+" "+r.URL.RequestURI())
	alias := map[string]any{"id": 2, "name": fakeAlias, "type": "host", "descr": "blocked by mcpsoc", "address": f.addrs, "detail": f.detail}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v2/firewall/aliases":
		if n := r.URL.Query().Get("name"); n != "" && n != fakeAlias {
			env(200, "ok", "SUCCESS", []any{})
			return
		}
		env(200, "ok", "SUCCESS", []any{
			map[string]any{"id": 0, "name": "lan_hosts", "type": "host", "address": []string{"192.168.1.10"}, "detail": []string{""}},
			alias,
		})
	case r.Method == http.MethodPatch && r.URL.Path == "/api/v2/firewall/alias":
		if id, _ := body["id"].(float64); id != 2 {
			env(404, "not found", "MODEL_OBJECT_NOT_FOUND", nil)
			return
		}
		f.addrs, f.detail = nil, nil
		for _, a := range body["address"].([]any) {
			f.addrs = append(f.addrs, a.(string))
		}
		for _, d := range body["detail"].([]any) {
			f.detail = append(f.detail, d.(string))
		}
		alias["address"], alias["detail"] = f.addrs, f.detail
		env(200, "ok", "SUCCESS", alias)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v2/firewall/apply":
		f.applied++
		env(200, "ok", "SUCCESS", map[string]any{"applied": true, "pending_subsystems": []string{}})
	default:
		env(404, "not found", "ENDPOINT_NOT_FOUND", nil)
	}
}

func (f *fakeAppliance) has(a string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.addrs, a)
}

// startFake serves the fake over TLS and returns its URL and a CA file
// holding its certificate.
func startFake(t *testing.T, flavor string) (*fakeAppliance, string, string) {
	t.Helper()
	f := &fakeAppliance{flavor: flavor}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f, srv.URL, ca
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestRESTBackends(t *testing.T) {
	for _, flavor := range []string{BackendOPNsense, BackendPFSense} {
		t.Run(flavor, func(t *testing.T) {
			fake, url, ca := startFake(t, flavor)
			data := t.TempDir()
			clk := &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
			cfg := Config{Backend: flavor, URL: url, CAFile: ca, APIKey: config.NewSecret(fakeKey), APISecret: config.NewSecret(fakeSecret),
				DataDir: data, EnableActions: true, SweepInterval: time.Hour}
			s, err := New(cfg, &Options{Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			cs := connect(t, s)

			var st Status
			if e := call(t, cs, "status", nil, &st); e != "" || !st.Reachable || !st.TablePresent || st.Backend != flavor || !strings.Contains(st.Table, "alias mcpsoc_block at "+url) {
				t.Fatalf("status: %q %+v", e, st)
			}
			var dry ChangeResult
			if e := call(t, cs, "block_ip", map[string]any{"ip": "203.0.113.7", "ttl": "1h", "reason": "brute force", "dry_run": true}, &dry); e != "" {
				t.Fatal(e)
			}
			want := map[string][]string{
				BackendOPNsense: {`POST /api/firewall/alias_util/add/mcpsoc_block {"address":"203.0.113.7"}`, `POST /api/firewall/alias/reconfigure {}`},
				BackendPFSense: {`PATCH /api/v2/firewall/alias {"address":["203.0.113.7"],"detail":["mcpsoc ttl=3600 brute force"],"id":2}`,
					`POST /api/v2/firewall/apply {}`},
			}[flavor]
			if !slices.Equal(dry.Commands, want) || dry.Set != fakeAlias || len(dry.Blocks) != 1 || fake.has("203.0.113.7") {
				t.Fatalf("dry run: %q", dry.Commands)
			}
			var res ChangeResult
			if e := call(t, cs, "block_ip", map[string]any{"ip": "203.0.113.7", "ttl": "1h", "reason": "brute force"}, &res); e != "" {
				t.Fatal(e)
			}
			if !fake.has("203.0.113.7") || fake.applied != 1 || !slices.Equal(res.Commands, want) || res.Block == nil ||
				res.Block.TTLSeconds != 3600 || res.Block.Reason != "brute force" || res.Block.Remaining != 3600 {
				t.Fatalf("block_ip: %+v, fake %v", res, fake.addrs)
			}
			if e := call(t, cs, "block_ip", map[string]any{"ip": "2001:db8::7", "ttl": "2h"}, &res); e != "" || len(res.Blocks) != 2 {
				t.Fatalf("v6: %q %+v", e, res)
			}
			if flavor == BackendPFSense && !slices.Equal(fake.detail, []string{"mcpsoc ttl=3600 brute force", "mcpsoc ttl=7200"}) {
				t.Fatalf("pfSense details after a second block: %q", fake.detail)
			}

			// The TTL book survives a restart.
			s.Close()
			clk.add(30 * time.Minute)
			s2, err := New(cfg, &Options{Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s2.Close)
			cs2 := connect(t, s2)
			var lb ListBlocks
			if e := call(t, cs2, "list_blocks", nil, &lb); e != "" || lb.Count != 2 || lb.Blocks[0].IP != "203.0.113.7" || lb.Blocks[0].Remaining != 1800 || lb.Blocks[0].Reason != "brute force" {
				t.Fatalf("after restart: %q %+v", e, lb)
			}
			// The 1h block ends; reading sweeps it off the appliance.
			clk.add(31 * time.Minute)
			if e := call(t, cs2, "list_blocks", nil, &lb); e != "" || lb.Count != 1 || lb.Blocks[0].IP != "2001:db8::7" || fake.has("203.0.113.7") {
				t.Fatalf("after expiry: %q %+v fake %v", e, lb, fake.addrs)
			}
			b, _ := os.ReadFile(filepath.Join(data, "firewall-"+flavor+"-mcpsoc_block.json"))
			if strings.Contains(string(b), "203.0.113.7") || !strings.Contains(string(b), "2001:db8::7") {
				t.Fatalf("book: %s", b)
			}
			if e := call(t, cs2, "unblock_ip", map[string]any{"ip": "2001:db8::7"}, &res); e != "" || len(res.Blocks) != 0 || fake.has("2001:db8::7") {
				t.Fatalf("unblock: %q %+v", e, res)
			}
			if e := call(t, cs2, "unblock_ip", map[string]any{"ip": "2001:db8::7"}, nil); !strings.Contains(e, "is not blocked") {
				t.Fatalf("second unblock: %q", e)
			}
			// Guards apply to every backend.
			if e := call(t, cs2, "block_ip", map[string]any{"ip": "10.1.2.3"}, nil); !strings.Contains(e, "private address") {
				t.Fatalf("private: %q", e)
			}
		})
	}
}

// TestRESTSweeper lets the background sweep lift a block on the real clock.
func TestRESTSweeper(t *testing.T) {
	fake, url, ca := startFake(t, BackendOPNsense)
	s, err := New(Config{Backend: BackendOPNsense, URL: url, CAFile: ca, APIKey: config.NewSecret(fakeKey), APISecret: config.NewSecret(fakeSecret),
		DataDir: t.TempDir(), EnableActions: true, MinTTL: time.Second, SweepInterval: 100 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs := connect(t, s)
	start := time.Now()
	if e := call(t, cs, "block_ip", map[string]any{"ip": "198.51.100.4", "ttl": "1s"}, nil); e != "" || !fake.has("198.51.100.4") {
		t.Fatalf("block: %q", e)
	}
	for fake.has("198.51.100.4") {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the sweep did not lift a 1s block within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("lifted after %v, before the TTL", d)
	}
}

// TestRESTErrors: a refused key, an appliance that is down and missing
// settings are clear errors.
func TestRESTErrors(t *testing.T) {
	_, url, ca := startFake(t, BackendPFSense)
	s, err := New(Config{Backend: BackendPFSense, URL: url, CAFile: ca, APIKey: config.NewSecret("wrong"), DataDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if e := call(t, connect(t, s), "list_blocks", nil, nil); !strings.Contains(e, "the pfsense backend is not available") || !strings.Contains(e, "API key was refused") || strings.Contains(e, "wrong") {
		t.Errorf("wrong key: %q", e)
	}
	down := httptest.NewTLSServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	s, err = New(Config{Backend: BackendOPNsense, URL: downURL, APIKey: config.NewSecret(fakeKey), APISecret: config.NewSecret(fakeSecret), DataDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if e := call(t, connect(t, s), "status", nil, nil); !strings.Contains(e, "the opnsense backend is not available") || !strings.Contains(e, "did not answer") {
		t.Errorf("down: %q", e)
	}
	// An alias that does not exist on the appliance.
	_, url2, ca2 := startFake(t, BackendOPNsense)
	s, err = New(Config{Backend: BackendOPNsense, URL: url2, CAFile: ca2, Alias: "other", APIKey: config.NewSecret(fakeKey), APISecret: config.NewSecret(fakeSecret), DataDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if e := call(t, connect(t, s), "status", nil, nil); !strings.Contains(e, "alias other does not exist") {
		t.Errorf("missing alias: %q", e)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Backend: "pf"}, "not one of"},
		{Config{Backend: BackendOPNsense}, "needs url"},
		{Config{Backend: BackendOPNsense, URL: "http://fw", APIKey: config.NewSecret("k")}, "plain http"},
		{Config{Backend: BackendOPNsense, URL: "https://fw", APIKey: config.NewSecret("k")}, "api_secret"},
		{Config{Backend: BackendPFSense, URL: "https://fw", APIKey: config.NewSecret("k")}, "data_dir"},
		{Config{Backend: BackendPFSense, URL: "https://fw", APIKey: config.NewSecret("k"), DataDir: t.TempDir(), Alias: "bad-name"}, "alias"},
	} {
		if _, err := New(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.want, err, tc.want)
		}
	}
}
