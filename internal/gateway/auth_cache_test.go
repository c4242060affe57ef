package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestJWTCacheHonoursExpiry: a verified token is served from the cache,
// but never past its exp, and a token never verified is never cached.
func TestJWTCacheHonoursExpiry(t *testing.T) {
	secret := strings.Repeat("k", 32)
	cfg, err := ParseConfig("t.yaml", []byte(`
public_url: https://gw.example
upstreams: [{name: a, command: x}]
auth:
  jwt: {issuer: `+issuer+`, algorithms: [HS256], hmac_secret: `+secret+`, leeway: 1s}
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	clock := func() time.Time { return now }
	a, err := NewAuthenticator(cfg, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(exp time.Time) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": issuer, "aud": resource, "sub": "alice",
			"exp": exp.Unix(), "iat": now.Unix()})
		s, err := tok.SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	auth := func(tok string) *AuthError {
		r, _ := http.NewRequest(http.MethodPost, "https://gw.example/mcp", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		_, aerr := a.Authenticate(r)
		return aerr
	}
	tok := mint(now.Add(30 * time.Second))
	if err := auth(tok); err != nil {
		t.Fatal(err)
	}
	if len(a.verified) != 1 {
		t.Fatalf("cache holds %d tokens", len(a.verified))
	}
	if err := auth(tok); err != nil {
		t.Fatal(err)
	}
	now = now.Add(40 * time.Second) // past exp and leeway
	if err := auth(tok); err == nil || err.Desc != "token expired" {
		t.Fatalf("expired cached token: %+v", err)
	}
	bad := tok[:len(tok)-2] + "xx"
	if err := auth(bad); err == nil {
		t.Fatal("tampered token accepted")
	}
	if len(a.verified) != 1 {
		t.Fatalf("cache holds %d tokens after failures", len(a.verified))
	}
}
