package ingest

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

// PushOptions configure the HTTP push handler.
type PushOptions struct {
	// Keys authenticate pushes ("Authorization: Bearer KEY" or
	// "X-API-Key: KEY"); a push without a valid key is refused with 401.
	Keys []config.Secret
	// MaxBodyBytes bounds a request body after decompression (413 above).
	MaxBodyBytes int64
	// BatchSize is how many events are published together (default 1000).
	BatchSize int
}

// PushResult is the answer to a successful push.
type PushResult struct {
	Accepted       int64 `json:"accepted"`
	PipelineErrors int64 `json:"pipeline_errors"`
	Truncated      int64 `json:"truncated"`
}

var sourceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// PushHandler serves POST /api/v1/ingest: a body of raw log lines or NDJSON
// (gzip allowed with Content-Encoding: gzip), parsed with ?format= (default
// auto) and recorded as coming from ?source= (default "push"). It answers
// 200 only after the bus has stored every event of the body. A client that
// retries with the same Idempotency-Key header never duplicates events.
func (p *Pipeline) PushHandler(opts PushOptions) http.Handler {
	keys := config.NewKeySet(opts.Keys)
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = config.DefaultIngestBody
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			p.reject(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST")
			return
		}
		if !keys.Allows(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mcpsoc-ingest"`)
			p.reject(w, http.StatusUnauthorized, "unauthorized", "a valid ingest API key is required")
			return
		}
		q := r.URL.Query()
		format := q.Get("format")
		if format == "" {
			format = parse.FormatAuto
		}
		name := q.Get("source")
		if name == "" {
			name = "push"
		}
		if !sourceNameRE.MatchString(name) {
			p.reject(w, http.StatusBadRequest, "bad_source", "source must be 1-64 letters, digits, '_', '.' or '-'")
			return
		}
		src := Source{Kind: "http", Name: name}
		norm, err := parse.New(format, p.parseConfig(src))
		if err != nil {
			p.reject(w, http.StatusBadRequest, "unknown_format", err.Error())
			return
		}
		var body io.Reader = http.MaxBytesReader(w, r.Body, opts.MaxBodyBytes)
		switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
		case "", "identity":
		case "gzip":
			zr, err := gzip.NewReader(body)
			if err != nil {
				p.reject(w, http.StatusBadRequest, "bad_gzip", "body is not valid gzip")
				return
			}
			defer zr.Close()
			body = &capReader{r: zr, n: opts.MaxBodyBytes}
		default:
			p.reject(w, http.StatusUnsupportedMediaType, "unsupported_encoding", fmt.Sprintf("Content-Encoding %q is not supported; use gzip or none", enc))
			return
		}
		prefix := r.Header.Get("Idempotency-Key")
		if prefix == "" {
			prefix = nonce()
		} else {
			prefix = "key:" + prefix
		}
		b := p.NewBatch(src)
		sc := parse.NewScanner(body, norm)
		var n int64
		for sc.Scan() {
			b.Add(sc.Event(), store.RecordID(n, src.ID(), prefix))
			n++
			if b.Len() >= opts.BatchSize {
				if err := b.Flush(r.Context()); err != nil {
					p.unavailable(w, err)
					return
				}
			}
		}
		if err := sc.Err(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) || errors.Is(err, errBodyTooLarge) {
				p.reject(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body exceeds %d bytes; split it into several requests", opts.MaxBodyBytes))
				return
			}
			p.reject(w, http.StatusBadRequest, "bad_body", "reading the body failed: "+err.Error())
			return
		}
		if err := b.Flush(r.Context()); err != nil {
			p.unavailable(w, err)
			return
		}
		st := sc.Stats()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(PushResult{Accepted: st.Events, PipelineErrors: st.PipelineErrors, Truncated: st.Truncated})
	})
}

var errBodyTooLarge = errors.New("decompressed body too large")

// capReader fails once more than n bytes were read.
type capReader struct {
	r io.Reader
	n int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n < 0 {
		return 0, errBodyTooLarge
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n < 0 {
		return n, errBodyTooLarge
	}
	return n, err
}

func (p *Pipeline) reject(w http.ResponseWriter, status int, code, msg string) {
	p.m.rejected.WithLabelValues(code).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// unavailable answers 503 when the bus did not store a batch: nothing of
// the request is acknowledged, and a retry with the same Idempotency-Key
// stores each event once.
func (p *Pipeline) unavailable(w http.ResponseWriter, err error) {
	p.log.Error("push not stored", "error", err)
	w.Header().Set("Retry-After", "1")
	p.reject(w, http.StatusServiceUnavailable, "unavailable", "events could not be stored; retry with the same Idempotency-Key")
}
