package intel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
)

// Connector defaults.
const (
	DefaultTimeout          = 15 * time.Second
	DefaultCacheTTL         = 10 * time.Minute
	DefaultMaxResponseBytes = 4 << 20
	// cacheEntries bounds each connector's cache.
	cacheEntries = 1024
)

// API configures one live connector. Without a key the connector is off.
type API struct {
	// APIKey is the service's key; never logged or returned.
	APIKey config.Secret `yaml:"api_key,omitempty"`
	// BaseURL replaces the service's address (a proxy, a test fake). It
	// must be https unless its host is a loopback address.
	BaseURL string `yaml:"base_url,omitempty"`
	// Timeout bounds one request; 0 means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// CacheTTL is how long answers are reused; 0 means DefaultCacheTTL,
	// negative disables the cache.
	CacheTTL time.Duration `yaml:"cache_ttl,omitempty"`
	// MaxResponseBytes caps one response body; 0 means 4 MiB.
	MaxResponseBytes int64 `yaml:"max_response_bytes,omitempty"`
}

// APIError is a service's refusal or failure, in words a model can act on.
type APIError struct {
	Service    string
	Status     int
	RetryAfter time.Duration // from Retry-After on 429, 0 if absent
	Detail     string        // the service's own message, when it gave one
}

func (e *APIError) Error() string {
	var msg string
	switch e.Status {
	case http.StatusUnauthorized:
		msg = fmt.Sprintf("%s rejected the API key (HTTP 401): check the configured key", e.Service)
	case http.StatusForbidden:
		msg = fmt.Sprintf("%s refused the request (HTTP 403): the API key lacks access to this lookup", e.Service)
	case http.StatusNotFound:
		msg = fmt.Sprintf("%s has no such resource (HTTP 404)", e.Service)
	case http.StatusTooManyRequests:
		msg = fmt.Sprintf("%s rate limit or quota exceeded (HTTP 429)", e.Service)
		if e.RetryAfter > 0 {
			msg += fmt.Sprintf("; retry after %s", e.RetryAfter)
		} else {
			msg += "; retry later"
		}
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		msg = fmt.Sprintf("%s rejected the request as invalid (HTTP %d)", e.Service, e.Status)
	default:
		if e.Status >= 500 {
			msg = fmt.Sprintf("%s failed (HTTP %d); try again later", e.Service, e.Status)
		} else {
			msg = fmt.Sprintf("%s answered HTTP %d", e.Service, e.Status)
		}
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// connector is an HTTP client for one service: its base URL, key header,
// limits and a small TTL cache of successful and not-found answers.
type connector struct {
	service   string
	base      *url.URL
	key       config.Secret
	keyHeader string
	hc        *http.Client
	maxBytes  int64
	ttl       time.Duration
	now       func() time.Time
	log       *slog.Logger

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	status  int
	body    []byte
	expires time.Time
}

// response is a service's answer that is not an error.
type response struct {
	Status int // 200 or 404
	Body   []byte
	Cached bool
	key    string // cache key
}

func newConnector(service, defaultBase, keyHeader string, c API, now func() time.Time, log *slog.Logger) (*connector, error) {
	if !c.APIKey.IsSet() {
		return nil, nil
	}
	base := c.BaseURL
	if base == "" {
		base = defaultBase
	}
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%s base_url %q must be an absolute https URL", service, base)
	}
	if u.Scheme == "http" && !config.IsLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%s base_url %q must use https: the API key would travel in clear (http is allowed only on loopback)", service, base)
	}
	if c.Timeout < 0 || c.MaxResponseBytes < 0 {
		return nil, fmt.Errorf("%s timeout and max_response_bytes must not be negative", service)
	}
	if strings.ContainsAny(c.APIKey.Value(), "\r\n") {
		return nil, fmt.Errorf("%s api_key contains a line break", service)
	}
	k := &connector{service: service, base: u, key: c.APIKey, keyHeader: keyHeader, maxBytes: c.MaxResponseBytes, ttl: c.CacheTTL, now: now, cache: map[string]cached{},
		log: log.With("service", service)}
	if k.maxBytes == 0 {
		k.maxBytes = DefaultMaxResponseBytes
	}
	if k.ttl == 0 {
		k.ttl = DefaultCacheTTL
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	// Redirects are not followed: Go forwards custom headers such as the
	// key header to the redirect target, which could be another host.
	k.hc = &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return k, nil
}

// get fetches base+path?query. path is already escaped. A 200 or 404
// answer is returned; every other status is an *APIError. 404 answers are
// cached here, 200 answers by keep once the caller has decoded them, so a
// malformed answer is not served again from the cache.
func (k *connector) get(ctx context.Context, path string, query url.Values) (response, error) {
	target := k.base.String() + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	if r, ok := k.lookupCache(target); ok {
		return r, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return response{}, fmt.Errorf("building the %s request: %w", k.service, err)
	}
	req.Header.Set(k.keyHeader, k.key.Value())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "mcpsoc-intel/"+Version)
	start := time.Now()
	resp, err := k.hc.Do(req)
	if err != nil {
		err = k.transportError(err)
		k.log.Debug("intel connector request failed", "path", path, "error", err)
		return response{}, err
	}
	defer resp.Body.Close()
	// The path names the indicator, so this stays at debug level; the key
	// is in a header and never logged.
	k.log.Debug("intel connector request", "path", path, "status", resp.StatusCode, "duration_ms", time.Since(start).Milliseconds())
	body, err := io.ReadAll(io.LimitReader(resp.Body, k.maxBytes+1))
	if err != nil {
		return response{}, k.transportError(err)
	}
	if int64(len(body)) > k.maxBytes {
		return response{}, fmt.Errorf("%s's response is larger than the %d-byte limit (max_response_bytes)", k.service, k.maxBytes)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNotFound:
		r := response{Status: resp.StatusCode, Body: body, key: target}
		if r.Status == http.StatusNotFound {
			k.store(target, r)
		}
		return r, nil
	}
	e := &APIError{Service: k.service, Status: resp.StatusCode, Detail: k.redact(vendorDetail(body))}
	if resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), k.now())
	}
	return response{}, e
}

// transportError describes a failed exchange without the request URL's
// query (which some services take keys in) and without the key.
func (k *connector) transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%s did not answer in time (%s)", k.service, k.hc.Timeout)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s request cancelled", k.service)
	}
	return fmt.Errorf("%s at %s is not reachable: %s", k.service, k.base.Host, k.redact(err.Error()))
}

func (k *connector) redact(s string) string {
	if v := k.key.Value(); v != "" {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	return s
}

func (k *connector) lookupCache(key string) (response, bool) {
	if k.ttl < 0 {
		return response{}, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.cache[key]
	if !ok || !k.now().Before(c.expires) {
		return response{}, false
	}
	return response{Status: c.status, Body: c.body, Cached: true}, true
}

// keep caches a 200 answer the caller decoded.
func (k *connector) keep(r response) {
	if !r.Cached && r.key != "" {
		k.store(r.key, r)
	}
}

func (k *connector) store(key string, r response) {
	if k.ttl < 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if len(k.cache) >= cacheEntries {
		for ck, c := range k.cache {
			if !now.Before(c.expires) {
				delete(k.cache, ck)
			}
		}
		// Still full: drop an arbitrary entry (map order) rather than grow.
		for ck := range k.cache {
			if len(k.cache) < cacheEntries {
				break
			}
			delete(k.cache, ck)
		}
	}
	k.cache[key] = cached{status: r.Status, body: r.Body, expires: now.Add(k.ttl)}
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}
