package intel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// DefaultMaxBytes bounds one fetched document (feed file, TAXII page,
// MISP response) unless a feed sets its own limit.
const DefaultMaxBytes = 256 << 20

// DefaultTimeout bounds one HTTP request of a feed fetch.
const DefaultTimeout = 2 * time.Minute

// ErrTooLarge is returned for a document over the size limit.
var ErrTooLarge = errors.New("document over the size limit")

// HTTPError is a non-2xx answer from a feed server.
type HTTPError struct {
	URL    string
	Status int
	Body   string // the start of the body, for the operator
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d: %s", e.URL, e.Status, e.Body)
}

// NewHTTPClient returns a client for feed fetches with a whole-request
// timeout (0: DefaultTimeout).
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{Timeout: timeout}
}

// Do sends req with c and returns the body, refusing non-2xx answers and
// bodies over max bytes (0: DefaultMaxBytes). The response header is
// returned for paging headers.
func Do(c *http.Client, req *http.Request, max int64) ([]byte, http.Header, error) {
	if max <= 0 {
		max = DefaultMaxBytes
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, resp.Header, &HTTPError{URL: req.URL.Redacted(), Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, resp.Header, fmt.Errorf("reading %s: %w", req.URL.Redacted(), err)
	}
	if int64(len(b)) > max {
		return nil, resp.Header, fmt.Errorf("%s: %w (%d bytes)", req.URL.Redacted(), ErrTooLarge, max)
	}
	return b, resp.Header, nil
}

// ReadLocation reads a feed document from an http(s) URL or a local path,
// bounded by max bytes (0: DefaultMaxBytes).
func ReadLocation(ctx context.Context, c *http.Client, loc string, max int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxBytes
	}
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
		if err != nil {
			return nil, err
		}
		b, _, err := Do(c, req, max)
		return b, err
	}
	f, err := os.Open(strings.TrimPrefix(loc, "file://"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: %w (%d bytes)", loc, ErrTooLarge, max)
	}
	return b, nil
}
