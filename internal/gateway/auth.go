package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// Principal is an authenticated caller.
type Principal struct {
	Subject string
	Roles   []string
	Scopes  []string
	// Method is how the caller authenticated: api_key, jwt, anonymous
	// (loopback without auth configured) or stdio.
	Method string
}

// principalKey carries the Principal in TokenInfo.Extra, where the SDK
// hands it to request handlers.
const principalKey = "mcpsoc.principal"

// PrincipalFrom returns the principal the SDK passed along with a request,
// or nil.
func PrincipalFrom(ti *auth.TokenInfo) *Principal {
	if ti == nil {
		return nil
	}
	p, _ := ti.Extra[principalKey].(*Principal)
	return p
}

// AuthError is a rejected authentication, with what the client is told.
type AuthError struct {
	Status int    // 400, 401 or 403
	Code   string // OAuth error code: invalid_request, invalid_token, insufficient_scope; "" when no credentials were sent
	Desc   string // error_description
}

func (e *AuthError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Desc) }

var knownAlg = map[string]bool{
	"HS256": true, "HS384": true, "HS512": true,
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true,
}

// Authenticator turns request credentials into a Principal.
type Authenticator struct {
	cfg      *Config
	keys     map[[32]byte]*Principal
	jwt      *jwt.Parser
	jcfg     *JWTConfig
	keyFunc  jwt.Keyfunc
	now      func() time.Time
	metaURL  string
	required bool
	// OnReject, if set, is told about every rejected request (audit).
	OnReject func(*http.Request, *AuthError)

	// verified caches successful JWT verifications by token hash, each
	// until the token's exp or for a minute, whichever is sooner, so a
	// client's repeated requests cost one signature check a minute.
	cacheMu  sync.Mutex
	verified map[[32]byte]cachedToken
}

type cachedToken struct {
	p     *Principal
	until time.Time
}

// maxCachedTokens bounds the verification cache; it is emptied when full.
const maxCachedTokens = 10_000

// NewAuthenticator prepares key lookups and JWT verification from cfg.
// jwks may be nil unless cfg uses a JWKS URL.
func NewAuthenticator(cfg *Config, jwks *JWKS, now func() time.Time) (*Authenticator, error) {
	if now == nil {
		now = time.Now
	}
	a := &Authenticator{cfg: cfg, keys: map[[32]byte]*Principal{}, now: now, required: cfg.AuthConfigured(),
		metaURL: cfg.PublicURL + "/.well-known/oauth-protected-resource/mcp"}
	for _, k := range cfg.Auth.APIKeys {
		var h [32]byte
		b, err := hex.DecodeString(strings.ToLower(k.SHA256))
		if err != nil || len(b) != 32 {
			return nil, fmt.Errorf("api key for %q: bad sha256", k.Subject)
		}
		copy(h[:], b)
		a.keys[h] = &Principal{Subject: k.Subject, Roles: k.Roles, Method: "api_key"}
	}
	if j := cfg.Auth.JWT; j != nil {
		a.jcfg = j
		a.jwt = jwt.NewParser(
			jwt.WithValidMethods(j.Algorithms),
			jwt.WithIssuer(j.Issuer),
			jwt.WithAudience(j.Audience...),
			jwt.WithLeeway(j.Leeway),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(now),
		)
		switch {
		case j.HMACSecret.IsSet():
			secret := []byte(j.HMACSecret.Value())
			a.keyFunc = func(t *jwt.Token) (any, error) {
				if !strings.HasPrefix(t.Method.Alg(), "HS") {
					return nil, errors.New("HMAC key for a non-HMAC algorithm")
				}
				return secret, nil
			}
		case j.PublicKeyFile != "":
			data, err := os.ReadFile(j.PublicKeyFile)
			if err != nil {
				return nil, fmt.Errorf("reading JWT public key: %w", err)
			}
			blk, _ := pem.Decode(data)
			if blk == nil {
				return nil, fmt.Errorf("JWT public key %s: no PEM block", j.PublicKeyFile)
			}
			pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("JWT public key %s: %w", j.PublicKeyFile, err)
			}
			a.keyFunc = func(*jwt.Token) (any, error) { return pub, nil }
		case j.JWKSURL != "":
			if jwks == nil {
				return nil, errors.New("JWKS URL configured but no JWKS cache given")
			}
			a.keyFunc = func(t *jwt.Token) (any, error) {
				kid, _ := t.Header["kid"].(string)
				return jwks.Key(context.Background(), kid, t.Method.Alg())
			}
		}
	}
	return a, nil
}

// HashKey is how API keys are stored: lowercase hex SHA-256.
func HashKey(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// Authenticate checks r's credentials. Without configured authentication
// every caller is the anonymous principal (the config only allows that on
// loopback).
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, *AuthError) {
	if q := r.URL.RawQuery; q != "" && (r.URL.Query().Has("access_token") || r.URL.Query().Has("api_key")) {
		return nil, &AuthError{Status: 400, Code: "invalid_request", Desc: "credentials in the query string are not accepted; use the Authorization header"}
	}
	if !a.required {
		return &Principal{Subject: a.cfg.Auth.Anonymous, Method: "anonymous"}, nil
	}
	token := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(rest) == "" {
			return nil, &AuthError{Status: 400, Code: "invalid_request", Desc: "malformed Authorization header; want 'Bearer <token>'"}
		}
		token = strings.TrimSpace(rest)
	} else if k := r.Header.Get("X-API-Key"); k != "" {
		token = k
	}
	if token == "" {
		return nil, &AuthError{Status: 401, Desc: "authentication required"}
	}
	p, aerr := a.verifyToken(token)
	if aerr != nil {
		return nil, aerr
	}
	for _, s := range a.cfg.Auth.RequiredScopes {
		if p.Method == "jwt" && !slices.Contains(p.Scopes, s) {
			return nil, &AuthError{Status: 403, Code: "insufficient_scope", Desc: "token lacks scope " + s}
		}
	}
	return p, nil
}

func (a *Authenticator) verifyToken(token string) (*Principal, *AuthError) {
	if len(a.keys) > 0 {
		h := sha256.Sum256([]byte(token))
		// Lookup by hash: timing depends on the hash of the guess, which
		// tells an attacker nothing about stored keys.
		if p, ok := a.keys[h]; ok {
			return p, nil
		}
	}
	if a.jwt == nil || strings.Count(token, ".") != 2 {
		return nil, &AuthError{Status: 401, Code: "invalid_token", Desc: "unknown API key or malformed token"}
	}
	th := sha256.Sum256([]byte(token))
	now := a.now()
	a.cacheMu.Lock()
	c, hit := a.verified[th]
	a.cacheMu.Unlock()
	if hit && now.Before(c.until) {
		return c.p, nil
	}
	claims := jwt.MapClaims{}
	_, err := a.jwt.ParseWithClaims(token, claims, a.keyFunc)
	if err != nil {
		return nil, &AuthError{Status: 401, Code: "invalid_token", Desc: jwtReason(err)}
	}
	sub, _ := claims[a.jcfg.SubjectClaim].(string)
	if sub == "" {
		return nil, &AuthError{Status: 401, Code: "invalid_token", Desc: "token has no " + a.jcfg.SubjectClaim + " claim"}
	}
	p := &Principal{Subject: sub, Method: "jwt", Roles: stringList(claims[a.jcfg.RolesClaim])}
	if s, ok := claims["scope"].(string); ok {
		p.Scopes = strings.Fields(s)
	} else {
		p.Scopes = stringList(claims["scp"])
	}
	until := now.Add(time.Minute)
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil && exp.Before(until) {
		until = exp.Time
	}
	a.cacheMu.Lock()
	if a.verified == nil || len(a.verified) >= maxCachedTokens {
		a.verified = map[[32]byte]cachedToken{}
	}
	a.verified[th] = cachedToken{p: p, until: until}
	a.cacheMu.Unlock()
	return p, nil
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return strings.Fields(x)
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// jwtReason is the error_description for a rejected JWT: specific enough
// for a client to fix its request, never a key or internal detail.
func jwtReason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if strings.Contains(err.Error(), "signing method") {
			return "signing algorithm not accepted"
		}
		return "invalid signature"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "signing algorithm or key not accepted"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token audience is not this resource"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "token issuer not accepted"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token lacks a required claim (exp, iss or aud)"
	}
	return "invalid token"
}

// challenge writes a 400/401/403 with an RFC 6750 / RFC 9728 challenge.
func (a *Authenticator) challenge(w http.ResponseWriter, e *AuthError) {
	params := []string{fmt.Sprintf("resource_metadata=%q", a.metaURL)}
	if e.Code != "" {
		params = append(params, fmt.Sprintf("error=%q", e.Code), fmt.Sprintf("error_description=%q", e.Desc))
	}
	if e.Code == "insufficient_scope" || (e.Status == 401 && len(a.cfg.Auth.RequiredScopes) > 0) {
		params = append(params, fmt.Sprintf("scope=%q", strings.Join(a.cfg.Auth.RequiredScopes, " ")))
	}
	w.Header().Set("WWW-Authenticate", "Bearer "+strings.Join(params, ", "))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	code := e.Code
	if code == "" {
		code = "unauthorized"
	}
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": e.Desc})
}

// internalBearer replaces the client's credential on requests handed to the
// SDK: the SDK's bearer middleware needs a token to bind sessions to the
// subject, and the client's own token must go no further than this file.
const internalBearer = "Bearer gateway-authenticated"

// internalBearerValue is the header value, built once (handlers only read
// it; Header.Set and Add replace or copy the slice).
var internalBearerValue = []string{internalBearer}

type principalCtxKey struct{}

// Middleware authenticates every request to next: it strips the client's
// credentials and puts the principal in the request's context. Handlers
// that pass requests to the SDK wrap it in SDKBearer.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, aerr := a.Authenticate(r)
		if aerr != nil {
			if a.OnReject != nil {
				a.OnReject(r, aerr)
			}
			a.challenge(w, aerr)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalCtxKey{}, p))
		delete(r.Header, "X-Api-Key")
		r.Header["Authorization"] = internalBearerValue
		next.ServeHTTP(w, r)
	})
}

// SDKBearer hands the principal Middleware found to the SDK as
// auth.TokenInfo with UserID = subject, which makes the SDK refuse a
// session id presented by another subject (403).
func (a *Authenticator) SDKBearer(next http.Handler) http.Handler {
	verifier := func(ctx context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
		p, _ := r.Context().Value(principalCtxKey{}).(*Principal)
		if p == nil {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: p.Subject, Scopes: p.Scopes, Extra: map[string]any{principalKey: p}}, nil
	}
	return auth.RequireBearerToken(verifier, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(next)
}

// MetadataHandler serves RFC 9728 protected-resource metadata for the
// gateway's own resource.
func (a *Authenticator) MetadataHandler() http.Handler {
	md := &oauthex.ProtectedResourceMetadata{
		Resource:               a.cfg.ResourceURL(),
		AuthorizationServers:   a.cfg.Auth.AuthorizationServers,
		ScopesSupported:        a.cfg.Auth.RequiredScopes,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "MCPSoc gateway",
	}
	return auth.ProtectedResourceMetadataHandler(md)
}
