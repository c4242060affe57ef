package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"
)

// checkJSONShape scans a JSON document without decoding it and reports the
// first limit it exceeds: nesting deeper than maxDepth or a string longer
// than maxString bytes. It tolerates invalid JSON (the SDK reports that).
func checkJSONShape(b []byte, maxDepth, maxString int) string {
	depth, inStr, esc, strStart := 0, false, false, 0
	for i, c := range b {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
				if i-strStart > maxString {
					return fmt.Sprintf("a JSON string is longer than %d bytes", maxString)
				}
			}
			continue
		}
		switch c {
		case '"':
			inStr, strStart = true, i+1
		case '{', '[':
			depth++
			if depth > maxDepth {
				return fmt.Sprintf("JSON nesting deeper than %d", maxDepth)
			}
		case '}', ']':
			depth--
		}
	}
	if inStr && len(b)-strStart > maxString {
		return fmt.Sprintf("a JSON string is longer than %d bytes", maxString)
	}
	return ""
}

// limitBody enforces body size and JSON shape before the SDK parses
// anything: 413 for an oversized body, 400 with a JSON-RPC error for depth
// and string length.
func limitBody(next http.Handler, maxBody int64, maxDepth, maxString int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > maxBody {
			rpcError(w, http.StatusRequestEntityTooLarge, -32600, fmt.Sprintf("request body larger than %d bytes", maxBody))
			return
		}
		body, err := readAtMost(r.Body, maxBody+1, r.ContentLength)
		if err != nil {
			rpcError(w, http.StatusBadRequest, -32700, "cannot read request body")
			return
		}
		if int64(len(body)) > maxBody {
			rpcError(w, http.StatusRequestEntityTooLarge, -32600, fmt.Sprintf("request body larger than %d bytes", maxBody))
			return
		}
		if why := checkJSONShape(body, maxDepth, maxString); why != "" {
			rpcError(w, http.StatusBadRequest, -32600, "request rejected: "+why)
			return
		}
		rb := &readBody{b: body}
		rb.Reset(body)
		r.Body = rb
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// readAtMost reads r to its end or to limit bytes, into a buffer sized by
// the declared length when there is one (io.ReadAll starts small and
// grows).
func readAtMost(r io.Reader, limit, declared int64) ([]byte, error) {
	size := int64(512)
	if declared >= 0 && declared < limit {
		size = declared + 1 // room to see the end without growing
	}
	b := make([]byte, 0, size)
	lr := io.LimitedReader{R: r, N: limit}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// readBody is a request body limitBody has read: handlers after it can
// take the bytes without reading them again.
type readBody struct {
	bytes.Reader
	b []byte
}

func (*readBody) Close() error { return nil }

func rpcError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":null,"error":{"code":%d,"message":%q}}`, code, msg)
}

// Limiter takes one token from a named bucket. Allow returns whether the
// call may proceed and, if not, how long until a token is available.
// Implementations are safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string, b Bucket) (bool, time.Duration, error)
}

// memLimiter keeps token buckets in memory.
type memLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucketState
	now     func() time.Time
}

type bucketState struct {
	tokens float64
	last   time.Time
}

// NewMemLimiter returns an in-process limiter. Buckets idle for ten
// minutes are forgotten.
func NewMemLimiter(now func() time.Time) Limiter {
	if now == nil {
		now = time.Now
	}
	return &memLimiter{buckets: map[string]*bucketState{}, now: now}
}

func (m *memLimiter) Allow(_ context.Context, key string, b Bucket) (bool, time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.buckets[key]
	if !ok {
		if len(m.buckets) > 100_000 {
			m.sweep(now)
		}
		s = &bucketState{tokens: float64(b.Burst), last: now}
		m.buckets[key] = s
	}
	s.tokens = math.Min(float64(b.Burst), s.tokens+now.Sub(s.last).Seconds()*b.Rate)
	s.last = now
	if s.tokens >= 1 {
		s.tokens--
		return true, 0, nil
	}
	wait := time.Duration((1 - s.tokens) / b.Rate * float64(time.Second))
	return false, wait, nil
}

func (m *memLimiter) sweep(now time.Time) {
	for k, s := range m.buckets {
		if now.Sub(s.last) > 10*time.Minute {
			delete(m.buckets, k)
		}
	}
}
