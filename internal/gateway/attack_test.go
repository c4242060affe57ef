package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	issuer   = "https://idp.example"
	resource = "https://gw.example/mcp"
	aliceKey = "alice-api-key-0123456789"
	bobKey   = "bob-api-key-0123456789"
)

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	edPub    ed25519.PublicKey
	edKey    ed25519.PrivateKey
)

func testKeys(t *testing.T) {
	keysOnce.Do(func() {
		rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		edPub, edKey, _ = ed25519.GenerateKey(rand.Reader)
	})
}

// sign makes a token with method and key; claims default to a valid
// alice token for the gateway.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, edit func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"iss": issuer, "aud": resource, "sub": "alice", "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "scope": "mcp:tools", "roles": []string{"analyst"}}
	if edit != nil {
		edit(c)
	}
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwksServer serves the test public keys as a JWKS and counts fetches.
func jwksServer(t *testing.T) (*httptest.Server, *int) {
	testKeys(t)
	var mu sync.Mutex
	n := 0
	set := map[string]any{"keys": []map[string]any{
		{"kty": "RSA", "kid": "rsa1", "alg": "RS256", "use": "sig", "n": b64u(rsaKey.N.Bytes()), "e": b64u(big.NewInt(int64(rsaKey.E)).Bytes())},
		{"kty": "EC", "kid": "ec1", "crv": "P-256", "x": b64u(ecKey.X.FillBytes(make([]byte, 32))), "y": b64u(ecKey.Y.FillBytes(make([]byte, 32)))},
		{"kty": "OKP", "kid": "ed1", "crv": "Ed25519", "x": b64u(edPub)},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func authGatewayYAML(t testing.TB, jwtBlock string) string {
	return fmt.Sprintf(`
public_url: https://gw.example
upstreams:
  - name: fix
    url: http://127.0.0.1:9/in-process # never dialled: Options.InProcess serves "fix"
audit: {file: AUDIT, sync: never}
auth:
  api_keys:
    - {subject: alice, roles: [analyst], sha256: %s}
    - {subject: bob, roles: [admin], sha256: %s}
%s
  required_scopes: [mcp:tools]
  authorization_servers: [%s]
policy:
  rules:
    - name: echo-short
      tools: [echo]
      effect: allow
      args:
        message: {max_length: 10}
    - name: admins-destroy
      roles: [admin]
      effect: allow
      allow_destructive: true
    - name: read
      effect: allow
limits:
  max_body_bytes: 4096
  max_depth: 8
  max_string_bytes: 1000
  rate:
    per_tool: {rate: 0.001, burst: 3}
`, HashKey(aliceKey), HashKey(bobKey), jwtBlock, issuer)
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`

// post sends one raw JSON-RPC request and returns status, the
// WWW-Authenticate header and the body.
func post(t *testing.T, url, body string, headers map[string]string) (int, string, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b), resp.Header
}

func TestAttackAuthentication(t *testing.T) {
	testKeys(t)
	dir := t.TempDir()
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pemPath := filepath.Join(dir, "idp.pem")
	os.WriteFile(pemPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	_, srv, auditPath := newTestGateway(t, authGatewayYAML(t, `  jwt:
    issuer: `+issuer+`
    algorithms: [RS256]
    public_key_file: `+pemPath), nil)
	url := srv.URL + "/mcp"
	meta := `resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp"`
	good := sign(t, jwt.SigningMethodRS256, rsaKey, "", nil)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	hmacNone := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": issuer, "aud": resource, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
		s, _ := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
		return s
	}()
	pemBytes, _ := os.ReadFile(pemPath)
	cases := []struct {
		name      string
		headers   map[string]string
		query     string
		status    int
		challenge string // substring of WWW-Authenticate
		body      string // substring of the body
	}{
		{"no token", nil, "", 401, meta, `"error":"unauthorized"`},
		{"malformed header", map[string]string{"Authorization": "Basic YWxpY2U6cHc="}, "", 400, `error="invalid_request"`, "malformed Authorization header"},
		{"malformed token", map[string]string{"Authorization": "Bearer not.a.jwt"}, "", 401, `error="invalid_token", error_description="malformed token"`, ""},
		{"unknown api key", map[string]string{"Authorization": "Bearer guessed-key"}, "", 401, `error="invalid_token"`, "unknown API key"},
		{"expired", map[string]string{"Authorization": "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, "", func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
		})}, "", 401, `error_description="token expired"`, ""},
		{"wrong audience", map[string]string{"Authorization": "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, "", func(c jwt.MapClaims) {
			c["aud"] = "https://other.example/mcp"
		})}, "", 401, `error_description="token audience is not this resource"`, ""},
		{"token for another resource on this host", map[string]string{"Authorization": "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, "", func(c jwt.MapClaims) {
			c["aud"] = "https://gw.example/api"
		})}, "", 401, `error_description="token audience is not this resource"`, ""},
		{"wrong issuer", map[string]string{"Authorization": "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, "", func(c jwt.MapClaims) {
			c["iss"] = "https://evil.example"
		})}, "", 401, `error_description="token issuer not accepted"`, ""},
		{"alg none", map[string]string{"Authorization": "Bearer " + hmacNone}, "", 401, `error_description="signing algorithm not accepted"`, ""},
		{"HS256 signed with the public key (alg confusion)", map[string]string{"Authorization": "Bearer " + sign(t, jwt.SigningMethodHS256, pemBytes, "", nil)}, "", 401, `error_description="signing algorithm not accepted"`, ""},
		{"signed by another key", map[string]string{"Authorization": "Bearer " + sign(t, jwt.SigningMethodRS256, other, "", nil)}, "", 401, `error_description="invalid signature"`, ""},
		{"no exp", map[string]string{"Authorization": "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, "", func(c jwt.MapClaims) { delete(c, "exp") })}, "", 401, `error_description="token lacks a required claim (exp, iss or aud)"`, ""},
		{"missing scope", map[string]string{"Authorization": "Bearer " + sign(t, jwt.SigningMethodRS256, rsaKey, "", func(c jwt.MapClaims) { c["scope"] = "profile" })}, "", 403, `error="insufficient_scope", error_description="token lacks scope mcp:tools", scope="mcp:tools"`, ""},
		{"token in query string", nil, "?access_token=" + good, 400, `error="invalid_request"`, "query string"},
		{"forged Host", map[string]string{"Authorization": "Bearer " + good, "Host": "evil.example"}, "", 403, "", "Host header not allowed"},
		{"forged Origin", map[string]string{"Authorization": "Bearer " + good, "Origin": "https://evil.example"}, "", 403, "", "Origin not allowed"},
		{"valid JWT", map[string]string{"Authorization": "Bearer " + good}, "", 200, "", `"serverInfo"`},
		{"valid API key header", map[string]string{"X-API-Key": aliceKey}, "", 200, "", `"serverInfo"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, chal, body, _ := post(t, url+tc.query, initBody, tc.headers)
			if status != tc.status || !strings.Contains(chal, tc.challenge) || !strings.Contains(body, tc.body) {
				t.Errorf("got %d %q %q; want %d, challenge containing %q, body containing %q", status, chal, body, tc.status, tc.challenge, tc.body)
			}
			if status == 401 && !strings.Contains(chal, meta) {
				t.Errorf("401 without resource_metadata: %q", chal)
			}
		})
	}
	// RFC 9728 metadata, unauthenticated.
	resp, err := http.Get(srv.URL + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		Scopes               []string `json:"scopes_supported"`
	}
	json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if md.Resource != resource || len(md.AuthorizationServers) != 1 || md.AuthorizationServers[0] != issuer || len(md.Scopes) != 1 {
		t.Errorf("metadata %+v", md)
	}
	// Rejections are audited.
	denied := 0
	for _, r := range auditRecords(t, auditPath) {
		if r.Kind == "gateway.auth" && r.Decision == "deny" {
			denied++
		}
	}
	if denied < 12 {
		t.Errorf("%d auth rejections audited", denied)
	}
}

func TestAttackJWKS(t *testing.T) {
	jw, fetches := jwksServer(t)
	_, srv, _ := newTestGateway(t, authGatewayYAML(t, `  jwt:
    issuer: `+issuer+`
    algorithms: [RS256, ES256, EdDSA]
    jwks_url: `+jw.URL+`
    allow_private_jwks: true`), nil)
	url := srv.URL + "/mcp"
	for _, tc := range []struct {
		name   string
		token  string
		status int
		desc   string
	}{
		{"RS256 by kid", sign(t, jwt.SigningMethodRS256, rsaKey, "rsa1", nil), 200, ""},
		{"ES256 by kid", sign(t, jwt.SigningMethodES256, ecKey, "ec1", nil), 200, ""},
		{"EdDSA by kid", sign(t, jwt.SigningMethodEdDSA, edKey, "ed1", nil), 200, ""},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, rsaKey, "nope", nil), 401, "signing algorithm or key not accepted"},
		{"kid of another key type", sign(t, jwt.SigningMethodES256, ecKey, "rsa1", nil), 401, "signing algorithm or key not accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, chal, body, _ := post(t, url, initBody, map[string]string{"Authorization": "Bearer " + tc.token})
			if status != tc.status || !strings.Contains(chal, tc.desc) {
				t.Errorf("got %d %q %q; want %d %q", status, chal, body, tc.status, tc.desc)
			}
		})
	}
	if *fetches > 2 {
		t.Errorf("JWKS fetched %d times; want it cached (one fetch plus at most one for the unknown kid)", *fetches)
	}
}

func TestJWKSGuardRefusesPrivateAddresses(t *testing.T) {
	jw, _ := jwksServer(t)
	j := NewJWKS(jw.URL, time.Minute, false)
	_, err := j.Key(context.Background(), "rsa1", "RS256")
	if err == nil || !strings.Contains(err.Error(), "non-public address") {
		t.Fatalf("got %v", err)
	}
}

func TestAttackLimitsAndSessions(t *testing.T) {
	_, srv, _ := newTestGateway(t, authGatewayYAML(t, ""), nil)
	url := srv.URL + "/mcp"
	alice := map[string]string{"X-API-Key": aliceKey}
	bob := map[string]string{"Authorization": "Bearer " + bobKey}

	status, _, body, _ := post(t, url, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"x":"`+strings.Repeat("a", 5000)+`"}}`, alice)
	if status != 413 || !strings.Contains(body, "request body larger than 4096 bytes") {
		t.Errorf("oversized: %d %s", status, body)
	}
	status, _, body, _ = post(t, url, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fix.echo","arguments":{"message":`+strings.Repeat("[", 20)+strings.Repeat("]", 20)+`}}}`, alice)
	if status != 400 || !strings.Contains(body, "JSON nesting deeper than 8") {
		t.Errorf("deep: %d %s", status, body)
	}
	status, _, body, _ = post(t, url, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"x":"`+strings.Repeat("a", 1500)+`"}}`, alice)
	if status != 400 || !strings.Contains(body, "a JSON string is longer than 1000 bytes") {
		t.Errorf("long string: %d %s", status, body)
	}

	// A session opened by alice, presented by bob.
	status, _, _, hdr := post(t, url, initBody, alice)
	sid := hdr.Get("Mcp-Session-Id")
	if status != 200 || sid == "" {
		t.Fatalf("alice initialize: %d %q", status, sid)
	}
	bobWithAliceSession := map[string]string{"Authorization": "Bearer " + bobKey, "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18"}
	status, _, body, _ = post(t, url, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`, bobWithAliceSession)
	if status != 403 || !strings.Contains(body, "session user mismatch") {
		t.Errorf("hijacked session: %d %s", status, body)
	}
	_ = bob
}

func TestAttackPolicyValidationRate(t *testing.T) {
	_, srv, auditPath := newTestGateway(t, authGatewayYAML(t, ""), nil)
	ctx := context.Background()
	alice, err := connect(t, srv.URL+"/mcp", map[string]string{"X-API-Key": aliceKey})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	bob, err := connect(t, srv.URL+"/mcp", map[string]string{"Authorization": "Bearer " + bobKey})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	names := func(cs *mcp.ClientSession) string {
		lt, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, tl := range lt.Tools {
			n = append(n, tl.Name)
		}
		return strings.Join(n, ",")
	}
	if got := names(alice); got != "fix.echo,fix.slow" {
		t.Errorf("alice sees %s", got)
	}
	if got := names(bob); got != "fix.delete_file,fix.echo,fix.slow,fix.unannotated" {
		t.Errorf("bob sees %s", got)
	}
	call := func(cs *mcp.ClientSession, name string, args map[string]any) (*mcp.CallToolResult, error) {
		return cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	}
	// A destructive tool alice may not see is unknown to her.
	if _, err := call(alice, "fix.delete_file", map[string]any{"path": "/etc/passwd"}); err == nil || !strings.Contains(err.Error(), "Unknown tool: fix.delete_file") {
		t.Errorf("destructive call by alice: %v", err)
	}
	if res, err := call(bob, "fix.delete_file", map[string]any{"path": "/tmp/x"}); err != nil || res.IsError {
		t.Errorf("destructive call by admin: %v %+v", err, res)
	}
	// Argument condition: echo messages up to 10 bytes.
	res, err := call(alice, "fix.echo", map[string]any{"message": "far too long a message"})
	if err != nil || !res.IsError || resultText(res) != `call denied by gateway policy: echo-short: argument "message" longer than 10 bytes allowed by policy` {
		t.Errorf("arg condition: %v %+v", err, res)
	}
	// Schema: count must be an integer.
	res, err = call(alice, "fix.echo", map[string]any{"message": "hi", "count": "many"})
	if err != nil || !res.IsError || !strings.HasPrefix(resultText(res), "arguments do not match the input schema of fix.echo") {
		t.Errorf("schema: %v %+v", err, res)
	}
	// Rate limit: burst of 3 per subject and tool. Policy runs before the
	// limiter, schema validation after it, so the schema-violating call
	// above took one token: two more calls pass, then the bucket is empty.
	var last *mcp.CallToolResult
	allowed := 0
	for i := 0; i < 4; i++ {
		last, err = call(alice, "fix.echo", map[string]any{"message": "hi"})
		if err != nil {
			t.Fatal(err)
		}
		if !last.IsError {
			allowed++
		}
	}
	if allowed != 2 || !strings.HasPrefix(resultText(last), "rate limit exceeded for alice on fix.echo; retry after") {
		t.Errorf("rate: %d allowed, last %q", allowed, resultText(last))
	}
	// Bob's bucket is his own.
	if res, err := call(bob, "fix.echo", map[string]any{"message": "hi"}); err != nil || res.IsError {
		t.Errorf("bob rate-limited by alice's calls: %v %+v", err, res)
	}
	var reasons []string
	for _, r := range auditRecords(t, auditPath) {
		if r.Kind == "gateway.call" && r.Decision == "deny" {
			reasons = append(reasons, r.Subject+": "+r.Reason)
		}
	}
	want := []string{
		"alice: unknown or unlisted tool",
		`alice: echo-short: argument "message" longer than 10 bytes allowed by policy`,
		"alice: schema validation failed",
		"alice: rate limit exceeded for alice on fix.echo; retry after",
		"alice: rate limit exceeded for alice on fix.echo; retry after",
	}
	if len(reasons) != len(want) {
		t.Fatalf("denials audited: %q", reasons)
	}
	for i, w := range want {
		if !strings.HasPrefix(reasons[i], w) {
			t.Errorf("denial %d: %q, want %q", i, reasons[i], w)
		}
	}
}

func TestAttackRequestFlood(t *testing.T) {
	yaml := strings.Replace(authGatewayYAML(t, ""), "  rate:\n", "  rate:\n    per_request: {rate: 0.01, burst: 2}\n", 1)
	_, srv, auditPath := newTestGateway(t, yaml, nil)
	alice := map[string]string{"X-API-Key": aliceKey}
	var codes []int
	var retry string
	for i := 0; i < 3; i++ {
		status, _, _, hdr := post(t, srv.URL+"/mcp", initBody, alice)
		codes = append(codes, status)
		retry = hdr.Get("Retry-After")
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 || retry != "100" {
		t.Fatalf("codes %v Retry-After %q", codes, retry)
	}
	// Another subject has its own bucket.
	if status, _, _, _ := post(t, srv.URL+"/mcp", initBody, map[string]string{"X-API-Key": bobKey}); status != 200 {
		t.Fatalf("bob: %d", status)
	}
	found := false
	for _, r := range auditRecords(t, auditPath) {
		found = found || (r.Kind == "gateway.rate" && r.Subject == "alice")
	}
	if !found {
		t.Error("flood not audited")
	}
}

// TestJWKSCache checks refetch limits: a stale set is refreshed, an
// unknown kid refetches at most once a minute, and an unreachable issuer
// does not evict cached keys.
func TestJWKSCache(t *testing.T) {
	jw, fetches := jwksServer(t)
	j := NewJWKS(jw.URL, time.Hour, true)
	clock := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	j.now = func() time.Time { return clock }
	ctx := context.Background()
	if _, err := j.Key(ctx, "rsa1", "RS256"); err != nil || *fetches != 1 {
		t.Fatalf("first: %v, %d fetches", err, *fetches)
	}
	j.Key(ctx, "ec1", "ES256")
	j.Key(ctx, "nope", "RS256")
	j.Key(ctx, "nope", "RS256")
	if *fetches != 1 {
		t.Fatalf("%d fetches within a minute, want 1", *fetches)
	}
	clock = clock.Add(2 * time.Minute)
	if _, err := j.Key(ctx, "nope", "RS256"); err == nil || *fetches != 2 {
		t.Fatalf("unknown kid after a minute: %v, %d fetches", err, *fetches)
	}
	jw.Close()
	clock = clock.Add(2 * time.Hour)
	if _, err := j.Key(ctx, "rsa1", "RS256"); err != nil {
		t.Fatalf("cached key lost while the issuer is down: %v", err)
	}
	if _, err := j.Key(ctx, "rsa1", "ES256"); err == nil {
		t.Fatal("key used with another algorithm than its JWK alg")
	}
}
