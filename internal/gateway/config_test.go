package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigErrors(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "KEY_HASH" {
			return strings.Repeat("ab", 32), true
		}
		return "", false
	}
	cases := []struct{ name, yaml, want string }{
		{"unknown key with line", "upstreams: [{name: a, command: x}]\npolicy:\n  rulez: []\n", `c.yaml:3: policy.rulez: unknown field "rulez"`},
		{"unknown nested key", "upstreams:\n  - name: a\n    command: x\n    colour: red\n", `c.yaml:4: upstreams[0].colour: unknown field "colour"`},
		{"public listener without auth", "listen: 0.0.0.0:8787\nupstreams: [{name: a, command: x}]\n", `listen: "0.0.0.0:8787" is not a loopback address and no authentication is configured`},
		{"no upstreams", "listen: 127.0.0.1:1\n", "upstreams: at least one upstream is required"},
		{"both command and url", "upstreams: [{name: a, command: x, url: 'http://h'}]\n", "upstreams[0]: set exactly one of command"},
		{"bad CEL", "upstreams: [{name: a, command: x}]\npolicy:\n  rules: [{effect: allow, when: 'args.x +'}]\n", "policy.rules[0].when: ERROR"},
		{"non-boolean CEL", "upstreams: [{name: a, command: x}]\npolicy:\n  rules: [{effect: allow, when: 'subject'}]\n", "condition must be boolean"},
		{"bad effect", "upstreams: [{name: a, command: x}]\npolicy:\n  rules: [{effect: maybe}]\n", `policy.rules[0].effect: must be allow or deny, got "maybe"`},
		{"jwt without key", "upstreams: [{name: a, command: x}]\nauth:\n  jwt: {issuer: i, algorithms: [RS256]}\n", "set exactly one of hmac_secret, public_key_file or jwks_url"},
		{"jwt alg none", "upstreams: [{name: a, command: x}]\nauth:\n  jwt: {issuer: i, algorithms: [none], public_key_file: k}\n", `unsupported algorithm "none"`},
		{"short hmac", "upstreams: [{name: a, command: x}]\nauth:\n  jwt: {issuer: i, algorithms: [HS256], hmac_secret: short}\n", "at least 32 bytes"},
		{"http jwks", "upstreams: [{name: a, command: x}]\nauth:\n  jwt: {issuer: i, algorithms: [RS256], jwks_url: 'http://idp/jwks'}\n", "want an https URL"},
		{"bad key hash", "upstreams: [{name: a, command: x}]\nauth:\n  api_keys: [{subject: a, sha256: nothex}]\n", "auth.api_keys[0].sha256"},
		{"missing env", "upstreams: [{name: a, command: '${NOPE}'}]\n", "c.yaml:1: environment variable NOPE is not set"},
		{"bad rate", "upstreams: [{name: a, command: x}]\nlimits: {rate: {per_subject: {rate: 5}}}\n", "want rate > 0 with burst >= 1"},
		{"bad sync", "upstreams: [{name: a, command: x}]\naudit: {sync: sometimes}\n", "audit.sync"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("c.yaml", []byte(tc.yaml), env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	c, err := ParseConfig("c.yaml", []byte("upstreams: [{name: a, command: x}]\nauth:\n  api_keys: [{subject: a, sha256: '${KEY_HASH}'}]\nlisten: 0.0.0.0:9\n"), env)
	if err != nil || c.Auth.APIKeys[0].SHA256 != strings.Repeat("ab", 32) {
		t.Fatalf("env expansion / public listen with auth: %v", err)
	}
}

func TestLoadConfigResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "gw.yaml")
	os.WriteFile(p, []byte("upstreams: [{name: a, command: node, args: [s.js]}]\n"), 0o600)
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Audit.File != filepath.Join(dir, "gateway-audit.jsonl") || c.Upstreams[0].Cwd != dir || c.ResourceURL() != "http://127.0.0.1:8787/mcp" {
		t.Errorf("%+v", c)
	}
}
