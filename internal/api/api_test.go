package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes: every path in the OpenAPI document is served,
// and an undocumented path is a JSON 404.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	s := New(Options{Ingest: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })})
	s.SetReady(true)
	param := regexp.MustCompile(`\{[^}]+\}`)
	for path, ops := range doc.Paths {
		for method := range ops {
			req := httptest.NewRequest(strings.ToUpper(method), "http://127.0.0.1"+param.ReplaceAllString(path, "x"), nil)
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			// /metrics is only mounted with a registry, and a made-up server name is a documented 404.
			if rec.Code == http.StatusMethodNotAllowed || (rec.Code == http.StatusNotFound && path != "/metrics" && !strings.Contains(path, "{")) {
				t.Errorf("%s %s: %d", method, path, rec.Code)
			}
			if path == "/api/v1/ingest" && rec.Code != http.StatusAccepted {
				t.Errorf("%s %s: %d", method, path, rec.Code)
			}
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/api/v1/nothing", nil))
	var e struct {
		Error struct{ Code, Message, ID string } `json:"error"`
	}
	if rec.Code != 404 || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.Code != "not_found" || e.Error.ID == "" {
		t.Errorf("unknown path: %d %s", rec.Code, rec.Body)
	}
}

func TestReadiness(t *testing.T) {
	s := New(Options{})
	for _, ready := range []bool{false, true} {
		s.SetReady(ready)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://localhost/readyz", nil))
		want := map[bool]int{false: 503, true: 200}[ready]
		if rec.Code != want {
			t.Errorf("ready=%v: %d, want %d", ready, rec.Code, want)
		}
	}
}

func TestForeignHostIsForbidden(t *testing.T) {
	s := New(Options{AllowedHosts: []string{"soc.example.internal"}})
	for host, want := range map[string]int{"soc.example.internal": 200, "evil.example.com": 403, "127.0.0.1:8080": 200} {
		req := httptest.NewRequest(http.MethodGet, "http://"+host+"/healthz", nil)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
}
