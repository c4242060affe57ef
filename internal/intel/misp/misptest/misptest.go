// Package misptest is a fake of MISP's REST API for tests: MISP itself
// cannot run here. It speaks the documented events/restSearch exchange —
// POST JSON with returnFormat "json", limit and page, the automation key
// in the Authorization header — and answers {"response": [{"Event": …}]}
// with the events it was given, in order. Wrong keys get MISP's 403 body;
// other paths get 404.
package misptest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Server is a running fake.
type Server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []map[string]any
}

// Requests returns the decoded bodies of the searches received so far.
func (s *Server) Requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.reqs...)
}

// New starts a fake answering key with events (each a feed event file:
// {"Event": {...}}). Close it when done.
func New(key string, events []json.RawMessage) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || r.URL.Path != "/events/restSearch" {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"name": "Not Found", "message": "Not Found", "url": r.URL.Path})
			return
		}
		if r.Header.Get("Authorization") != key {
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{
				"name":    "Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.",
				"message": "Authentication failed.", "url": r.URL.Path})
			return
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body["returnFormat"] != "json" {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"name": "Bad request", "message": "returnFormat json expected", "url": r.URL.Path})
			return
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, body)
		s.mu.Unlock()
		limit, page := len(events), 1
		if v, ok := body["limit"].(float64); ok && v >= 1 {
			limit = int(v)
		}
		if v, ok := body["page"].(float64); ok && v >= 1 {
			page = int(v)
		}
		out := []json.RawMessage{}
		for i := (page - 1) * limit; i >= 0 && i < len(events) && i < page*limit; i++ {
			out = append(out, events[i])
		}
		json.NewEncoder(w).Encode(map[string]any{"response": out})
	}))
	return s
}
