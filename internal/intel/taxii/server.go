// Package taxii speaks TAXII 2.1: a client that polls collections of other
// servers (discovery, API roots, collections, objects with added_after and
// paging) and a read-only server that shares the intel store's indicators
// as STIX 2.1 with authenticated peers. Wire formats follow the OASIS
// TAXII 2.1 specification; the media type is
// application/taxii+json;version=2.1.
package taxii

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/intel"
	"github.com/mcpsoc/mcpsoc/internal/intel/stix"
)

// MediaType is the TAXII 2.1 media type.
const MediaType = "application/taxii+json;version=2.1"

// STIXMediaType is the media type of the objects served.
const STIXMediaType = "application/stix+json;version=2.1"

// AllCollection is the id of the collection holding every indicator;
// each source also has a collection of its own (CollectionID).
const AllCollection = "9c2f4b1e-6b9a-5c3d-8e7f-0a1b2c3d4e5f"

// CollectionID is the id of a source's collection: a UUIDv5 of its name.
func CollectionID(source string) string {
	h := sha1.Sum([]byte("mcpsoc.taxii.collection:" + source))
	u := h[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Reader is what the server reads of the intel store.
type Reader interface {
	Page(ctx context.Context, o intel.PageOptions) ([]intel.Indicator, *intel.Cursor, error)
	Sources(ctx context.Context) ([]intel.SourceCount, error)
	SourceNames(ctx context.Context) ([]string, error)
}

var _ Reader = (*intel.Store)(nil)

// ServerOptions configure NewServer.
type ServerOptions struct {
	// Prefix is where the handler is mounted ("/taxii2/").
	Prefix string
	// Keys are accepted API keys (X-API-Key or Authorization: Bearer); an
	// empty set refuses every request.
	Keys config.KeySet
	// Title names the server in discovery.
	Title string
	// MaxPage caps limit (default 1000).
	MaxPage int
	Logger  *slog.Logger
}

// Server is the read-only TAXII 2.1 endpoint.
type Server struct {
	r    Reader
	o    ServerOptions
	log  *slog.Logger
	mux  *http.ServeMux
	root string
}

// NewServer builds the handler over r.
func NewServer(r Reader, o *ServerOptions) *Server {
	s := &Server{r: r}
	if o != nil {
		s.o = *o
	}
	if s.o.Prefix == "" {
		s.o.Prefix = "/taxii2/"
	}
	if !strings.HasSuffix(s.o.Prefix, "/") {
		s.o.Prefix += "/"
	}
	if s.o.Title == "" {
		s.o.Title = "MCPSoc threat intelligence"
	}
	if s.o.MaxPage <= 0 {
		s.o.MaxPage = 1000
	}
	s.log = s.o.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "taxii")
	s.root = s.o.Prefix + "api/"
	m := http.NewServeMux()
	m.HandleFunc("GET "+s.o.Prefix+"{$}", s.discovery)
	m.HandleFunc("GET "+s.root+"{$}", s.apiRoot)
	m.HandleFunc("GET "+s.root+"collections/{$}", s.collections)
	m.HandleFunc("GET "+s.root+"collections/{id}/{$}", s.collection)
	m.HandleFunc("GET "+s.root+"collections/{id}/objects/{$}", s.objects)
	m.HandleFunc("GET "+s.root+"collections/{id}/manifest/{$}", s.manifest)
	m.HandleFunc(s.o.Prefix, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			s.fail(w, http.StatusMethodNotAllowed, "method not allowed", "this TAXII server is read-only")
			return
		}
		s.fail(w, http.StatusNotFound, "not found", "no such TAXII resource")
	})
	s.mux = m
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !s.o.Keys.Allows(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="taxii"`)
		s.fail(w, http.StatusUnauthorized, "unauthorized", "a valid API key is required")
		return
	}
	if !acceptable(r.Header.Get("Accept")) {
		s.fail(w, http.StatusNotAcceptable, "not acceptable", "this server answers "+MediaType)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// acceptable reports whether an Accept header admits TAXII 2.1 JSON.
func acceptable(h string) bool {
	if strings.TrimSpace(h) == "" {
		return true
	}
	for _, part := range strings.Split(h, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*":
			return true
		case "application/taxii+json":
			if v, ok := params["version"]; !ok || v == "2.1" {
				return true
			}
		}
	}
	return false
}

func (s *Server) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", MediaType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorMessage is TAXII's error body.
type errorMessage struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	HTTPStatus  string `json:"http_status"`
}

func (s *Server) fail(w http.ResponseWriter, status int, title, desc string) {
	s.write(w, status, errorMessage{Title: title, Description: desc, HTTPStatus: strconv.Itoa(status)})
}

// internal logs an error under an id and answers with the id only.
func (s *Server) internal(w http.ResponseWriter, err error) {
	var raw [6]byte
	h := sha1.Sum([]byte(err.Error() + time.Now().String()))
	copy(raw[:], h[:])
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	s.log.Error("taxii request failed", "error_id", id, "error", err)
	s.fail(w, http.StatusInternalServerError, "internal error", "error id "+id)
}

// Discovery is the discovery resource.
type Discovery struct {
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Default     string   `json:"default,omitempty"`
	APIRoots    []string `json:"api_roots,omitempty"`
}

// APIRoot is an API root resource.
type APIRoot struct {
	Title            string   `json:"title"`
	Description      string   `json:"description,omitempty"`
	Versions         []string `json:"versions"`
	MaxContentLength int64    `json:"max_content_length"`
}

// Collection is a collection resource.
type Collection struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	CanRead     bool     `json:"can_read"`
	CanWrite    bool     `json:"can_write"`
	MediaTypes  []string `json:"media_types,omitempty"`
}

// Envelope is an objects page.
type Envelope struct {
	More    bool              `json:"more,omitempty"`
	Next    string            `json:"next,omitempty"`
	Objects []json.RawMessage `json:"objects,omitempty"`
}

// ManifestRecord is one manifest entry.
type ManifestRecord struct {
	ID        string `json:"id"`
	DateAdded string `json:"date_added"`
	Version   string `json:"version"`
	MediaType string `json:"media_type,omitempty"`
}

// Manifest is a manifest page.
type Manifest struct {
	More    bool             `json:"more,omitempty"`
	Next    string           `json:"next,omitempty"`
	Objects []ManifestRecord `json:"objects,omitempty"`
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	s.write(w, http.StatusOK, Discovery{Title: s.o.Title, Description: "Indicators from MCPSoc's intel store (read-only)",
		Default: s.root, APIRoots: []string{s.root}})
}

func (s *Server) apiRoot(w http.ResponseWriter, r *http.Request) {
	s.write(w, http.StatusOK, APIRoot{Title: s.o.Title, Versions: []string{MediaType}, MaxContentLength: 0})
}

// collectionsList is every collection: all indicators, then one per
// source.
func (s *Server) collectionsList(ctx context.Context) ([]Collection, error) {
	srcs, err := s.r.Sources(ctx)
	if err != nil {
		return nil, err
	}
	cs := []Collection{{ID: AllCollection, Title: "All indicators", Description: "Every indicator in the store, merged across sources",
		CanRead: true, MediaTypes: []string{STIXMediaType}}}
	for _, sc := range srcs {
		id := CollectionID(sc.Source)
		cs = append(cs, Collection{ID: id, Title: "Source " + sc.Source,
			Description: fmt.Sprintf("Indicators reported by %s (%d)", sc.Source, sc.Indicators), CanRead: true, MediaTypes: []string{STIXMediaType}})
	}
	return cs, nil
}

func (s *Server) collections(w http.ResponseWriter, r *http.Request) {
	cs, err := s.collectionsList(r.Context())
	if err != nil {
		s.internal(w, err)
		return
	}
	s.write(w, http.StatusOK, map[string]any{"collections": cs})
}

// find resolves the collection of the request; it does not count (the
// store's per-source counts scan every provenance row).
func (s *Server) find(w http.ResponseWriter, r *http.Request) (Collection, string, bool) {
	id := r.PathValue("id")
	all := Collection{ID: AllCollection, Title: "All indicators", Description: "Every indicator in the store, merged across sources",
		CanRead: true, MediaTypes: []string{STIXMediaType}}
	if id == AllCollection {
		return all, "", true
	}
	names, err := s.r.SourceNames(r.Context())
	if err != nil {
		s.internal(w, err)
		return Collection{}, "", false
	}
	for _, n := range names {
		if CollectionID(n) == id {
			return Collection{ID: id, Title: "Source " + n, Description: "Indicators reported by " + n,
				CanRead: true, MediaTypes: []string{STIXMediaType}}, n, true
		}
	}
	s.fail(w, http.StatusNotFound, "collection not found", "no collection "+id)
	return Collection{}, "", false
}

func (s *Server) collection(w http.ResponseWriter, r *http.Request) {
	if c, _, ok := s.find(w, r); ok {
		s.write(w, http.StatusOK, c)
	}
}

// page reads the query parameters shared by objects and manifest.
func (s *Server) page(w http.ResponseWriter, r *http.Request) ([]intel.Indicator, string, bool) {
	_, src, ok := s.find(w, r)
	if !ok {
		return nil, "", false
	}
	q := r.URL.Query()
	o := intel.PageOptions{Source: src, Limit: s.o.MaxPage}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, http.StatusBadRequest, "bad limit", "limit must be a positive integer")
			return nil, "", false
		}
		o.Limit = min(n, s.o.MaxPage)
	}
	if v := q.Get("added_after"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.fail(w, http.StatusBadRequest, "bad added_after", "added_after must be an RFC 3339 timestamp")
			return nil, "", false
		}
		o.AddedAfter = t
	}
	if v := q.Get("next"); v != "" {
		c, err := decodeNext(v)
		if err != nil {
			s.fail(w, http.StatusBadRequest, "bad next", "next is not a token this server issued")
			return nil, "", false
		}
		o.After = c
	}
	// Only indicators are served: another type filter matches nothing.
	if v := q.Get("match[type]"); v != "" && !contains(strings.Split(v, ","), "indicator") {
		return nil, "", true
	}
	o.Bare = strings.HasSuffix(r.URL.Path, "/manifest/")
	ins, next, err := s.r.Page(r.Context(), o)
	if err != nil {
		s.internal(w, err)
		return nil, "", false
	}
	if ids := q.Get("match[id]"); ids != "" {
		want := strings.Split(ids, ",")
		kept := ins[:0]
		for _, in := range ins {
			if contains(want, stix.IndicatorID(in.Type, in.Value)) {
				kept = append(kept, in)
			}
		}
		ins = kept
	}
	tok := ""
	if next != nil {
		tok = encodeNext(next)
	}
	if len(ins) > 0 {
		w.Header().Set("X-TAXII-Date-Added-First", stixTime(ins[0].Modified))
		w.Header().Set("X-TAXII-Date-Added-Last", stixTime(ins[len(ins)-1].Modified))
	}
	return ins, tok, true
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

// stixTime is the TAXII timestamp form, with the store's full precision
// so added_after of the last one excludes it.
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func encodeNext(c *intel.Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeNext(s string) (*intel.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var c intel.Cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (s *Server) objects(w http.ResponseWriter, r *http.Request) {
	ins, next, ok := s.page(w, r)
	if !ok {
		return
	}
	env := Envelope{More: next != "", Next: next}
	for i := range ins {
		o, err := stix.ToObject(&ins[i])
		if err != nil {
			s.log.Warn("indicator not served", "type", ins[i].Type, "value", ins[i].Value, "error", err)
			continue
		}
		b, _ := json.Marshal(o)
		env.Objects = append(env.Objects, b)
	}
	s.write(w, http.StatusOK, env)
}

func (s *Server) manifest(w http.ResponseWriter, r *http.Request) {
	ins, next, ok := s.page(w, r)
	if !ok {
		return
	}
	m := Manifest{More: next != "", Next: next}
	for _, in := range ins {
		m.Objects = append(m.Objects, ManifestRecord{ID: stix.IndicatorID(in.Type, in.Value), DateAdded: stixTime(in.Modified),
			Version: in.Modified.UTC().Format("2006-01-02T15:04:05.000Z"), MediaType: STIXMediaType})
	}
	s.write(w, http.StatusOK, m)
}
