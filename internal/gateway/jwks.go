package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
)

// JWKS fetches and caches a JSON Web Key Set. It is safe for concurrent use.
type JWKS struct {
	url     string
	ttl     time.Duration
	client  *http.Client
	now     func() time.Time
	fetchMu sync.Mutex // held by the one caller fetching
	mu      sync.Mutex // guards the fields below
	keys    map[string]jwk
	fetched time.Time
	tried   time.Time // last fetch attempt, to rate-limit refetches on unknown kids
}

type jwk struct {
	key any
	alg string
}

// NewJWKS prepares a cache for url. Unless allowPrivate is set, the HTTP
// client refuses to connect to loopback, private, link-local, multicast and
// unspecified addresses (checked on the resolved IP at dial time, so
// redirects and DNS rebinding are covered too), and follows only https
// redirects.
func NewJWKS(url string, ttl time.Duration, allowPrivate bool) *JWKS {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if !publicAddr(ap.Addr()) {
				return fmt.Errorf("refusing to fetch JWKS from non-public address %s", ap.Addr())
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: 5 * time.Second, ResponseHeaderTimeout: 5 * time.Second}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "https" && !allowPrivate {
				return errors.New("redirect to a non-https URL")
			}
			return nil
		}}
	return &JWKS{url: url, ttl: ttl, client: client, now: time.Now, keys: map[string]jwk{}}
}

// publicAddr reports whether a is a globally routable unicast address.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() {
		return false
	}
	// Carrier-grade NAT and the IPv4 "this network" block are not public
	// either; cloud metadata (169.254.169.254) is link-local above.
	for _, p := range []string{"100.64.0.0/10", "0.0.0.0/8", "192.0.0.0/24", "198.18.0.0/15", "fc00::/7"} {
		if netip.MustParsePrefix(p).Contains(a) {
			return false
		}
	}
	return true
}

// Key returns the verification key for kid and alg, fetching the set when
// the cache is stale or the kid unknown (at most once a minute for the
// latter). Fetches happen outside the cache lock: while one caller
// refreshes a stale set, others keep using the cached keys.
func (j *JWKS) Key(ctx context.Context, kid, alg string) (any, error) {
	j.mu.Lock()
	now := j.now()
	k, ok := j.lookup(kid)
	stale := now.Sub(j.fetched) > j.ttl
	retryUnknown := !ok && (now.Sub(j.tried) > time.Minute || j.fetched.IsZero())
	j.mu.Unlock()
	switch {
	case ok && stale:
		if j.fetchMu.TryLock() { // one refresher; the rest use the cache
			j.refresh(ctx)
			j.fetchMu.Unlock()
			j.mu.Lock()
			if nk, found := j.lookup(kid); found {
				k = nk
			}
			j.mu.Unlock()
		}
	case retryUnknown:
		j.fetchMu.Lock()
		j.mu.Lock()
		k, ok = j.lookup(kid)
		again := !ok && (j.now().Sub(j.tried) > time.Minute || j.fetched.IsZero())
		j.mu.Unlock()
		var err error
		if again {
			err = j.refresh(ctx)
		}
		j.fetchMu.Unlock()
		j.mu.Lock()
		k, ok = j.lookup(kid)
		j.mu.Unlock()
		if !ok && err != nil {
			return nil, err
		}
	}
	if !ok {
		j.mu.Lock()
		k, ok = j.lookup(kid)
		j.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("no key with kid %q", kid)
		}
	}
	if k.alg != "" && k.alg != alg {
		return nil, fmt.Errorf("key %q is for %s, token uses %s", kid, k.alg, alg)
	}
	return k.key, nil
}

// refresh fetches the set and replaces the cache on success; the caller
// holds fetchMu.
func (j *JWKS) refresh(ctx context.Context) error {
	j.mu.Lock()
	j.tried = j.now()
	j.mu.Unlock()
	keys, err := j.fetch(ctx)
	if err != nil {
		return err // keep serving the cached keys while the issuer is unreachable
	}
	j.mu.Lock()
	j.keys, j.fetched = keys, j.now()
	j.mu.Unlock()
	return nil
}

func (j *JWKS) lookup(kid string) (jwk, bool) {
	if kid == "" && len(j.keys) == 1 {
		for _, k := range j.keys {
			return k, true
		}
	}
	k, ok := j.keys[kid]
	return k, ok
}

func (j *JWKS) fetch(ctx context.Context) (map[string]jwk, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching JWKS: status %d", resp.StatusCode)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("decoding JWKS: %w", err)
	}
	out := map[string]jwk{}
	for _, raw := range set.Keys {
		if use, _ := raw["use"].(string); use != "" && use != "sig" {
			continue
		}
		key, err := parseJWK(raw)
		if err != nil {
			continue // one unusable key does not spoil the set
		}
		kid, _ := raw["kid"].(string)
		alg, _ := raw["alg"].(string)
		out[kid] = jwk{key: key, alg: alg}
	}
	return out, nil
}

func b64(raw map[string]any, name string) ([]byte, error) {
	s, _ := raw[name].(string)
	if s == "" {
		return nil, fmt.Errorf("missing %s", name)
	}
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// parseJWK builds a public key from an RSA, EC or OKP (Ed25519) JWK.
func parseJWK(raw map[string]any) (any, error) {
	switch raw["kty"] {
	case "RSA":
		n, err := b64(raw, "n")
		if err != nil {
			return nil, err
		}
		e, err := b64(raw, "e")
		if err != nil || len(e) > 4 {
			return nil, errors.New("bad RSA exponent")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return nil, errors.New("RSA key shorter than 2048 bits")
		}
		return pub, nil
	case "EC":
		var curve elliptic.Curve
		switch raw["crv"] {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, errors.New("unsupported curve")
		}
		x, err := b64(raw, "x")
		if err != nil {
			return nil, err
		}
		y, err := b64(raw, "y")
		if err != nil {
			return nil, err
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return nil, errors.New("bad EC coordinates")
		}
		uncompressed := append(append([]byte{4}, x...), y...)
		return ecdsa.ParseUncompressedPublicKey(curve, uncompressed)
	case "OKP":
		if raw["crv"] != "Ed25519" {
			return nil, errors.New("unsupported OKP curve")
		}
		x, err := b64(raw, "x")
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, errors.New("unsupported key type")
}
