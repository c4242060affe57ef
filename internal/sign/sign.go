// Package sign signs and verifies MCP server manifests: a server's
// reverse-DNS registry name, version, package digests and the canonical
// hashes of its tools, prompts, resources and instructions (as computed by
// internal/pin), signed with Ed25519 over the manifest's RFC 8785 canonical
// JSON. Publisher keys use the MCP registry's published-key form
// ("v=MCPv1; k=ed25519; p=<base64>"), so one key can serve registry domain
// proof and these signatures. Trust stores map name patterns to keys and
// list revoked keys.
//
// It does not connect to servers or compute hashes itself (internal/pin),
// and it never fetches keys from the network.
package sign

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/pin"
)

// ManifestVersion is the manifest format version.
const ManifestVersion = 1

// Package is one distribution of the server, as in the registry's
// server.json packages list.
type Package struct {
	// RegistryType is npm, pypi or oci.
	RegistryType string `json:"registryType"`
	Identifier   string `json:"identifier"`
	Version      string `json:"version,omitempty"`
	// Digest is the package integrity or image digest (sha256:…), when known.
	Digest string `json:"digest,omitempty"`
}

// Manifest is what a publisher signs.
type Manifest struct {
	ManifestVersion int `json:"manifestVersion"`
	// Name is the registry name: reverse-DNS namespace, slash, name
	// (io.github.alice/weather-server, com.example/server).
	Name     string    `json:"name"`
	Version  string    `json:"version"`
	Packages []Package `json:"packages,omitempty"`
	// Remotes are the URLs of hosted deployments.
	Remotes []string `json:"remotes,omitempty"`
	// Instructions is the SHA-256 of the pinned server instructions.
	Instructions string `json:"instructions,omitempty"`
	// Tools, Prompts, Resources and ResourceTemplates map names (URIs for
	// resources) to the SHA-256 of their canonical definitions.
	Tools             map[string]string `json:"tools"`
	Prompts           map[string]string `json:"prompts,omitempty"`
	Resources         map[string]string `json:"resources,omitempty"`
	ResourceTemplates map[string]string `json:"resourceTemplates,omitempty"`
}

// Signature is one Ed25519 signature over the canonical manifest.
type Signature struct {
	// KeyID is "ed25519:" and the first 16 hex digits of SHA-256 of the key.
	KeyID     string `json:"keyId"`
	Algorithm string `json:"algorithm"`
	// PublicKey is the signer's key in registry form, for display and
	// lookup; trust comes only from the trust store.
	PublicKey string `json:"publicKey"`
	Value     string `json:"value"`
}

// Signed is a manifest with its signatures.
type Signed struct {
	Manifest   Manifest    `json:"manifest"`
	Signatures []Signature `json:"signatures"`
}

var nameRe = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-]*(\.[a-zA-Z0-9][a-zA-Z0-9-]*)+/[a-zA-Z0-9._-]+$`)

// ValidName reports whether n is a reverse-DNS registry name.
func ValidName(n string) bool { return len(n) <= 200 && nameRe.MatchString(n) }

// FromPinned builds a manifest from a pinned server.
func FromPinned(name, version string, s *pin.Server) (Manifest, error) {
	if !ValidName(name) {
		return Manifest{}, fmt.Errorf("server name %q is not reverse-DNS namespace/name (io.github.org/server)", name)
	}
	if version == "" {
		return Manifest{}, errors.New("version is required")
	}
	m := Manifest{ManifestVersion: ManifestVersion, Name: name, Version: version, Tools: hashes(s.Tools),
		Prompts: hashes(s.Prompts), Resources: hashes(s.Resources), ResourceTemplates: hashes(s.ResourceTemplates)}
	if m.Tools == nil {
		m.Tools = map[string]string{}
	}
	if s.Instructions != nil {
		m.Instructions = s.Instructions.SHA256
	}
	switch id := s.Identity; id.Kind {
	case "npm", "pypi":
		m.Packages = []Package{{RegistryType: id.Kind, Identifier: id.Name, Version: id.Version, Digest: id.Digest}}
	case "image":
		m.Packages = []Package{{RegistryType: "oci", Identifier: id.Name, Version: id.Version, Digest: id.Digest}}
	case "url":
		m.Remotes = []string{id.Name}
	}
	return m, nil
}

func hashes(objs map[string]pin.Object) map[string]string {
	if len(objs) == 0 {
		return nil
	}
	out := make(map[string]string, len(objs))
	for k, o := range objs {
		out[k] = o.SHA256
	}
	return out
}

// GenerateKey returns a new Ed25519 key pair.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// KeyID names a public key.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return "ed25519:" + hex.EncodeToString(h[:8])
}

// FormatPublicKey writes pub in the MCP registry's published-key form.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return "v=MCPv1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a key in registry form ("v=MCPv1; k=ed25519; p=…",
// as published in DNS TXT or at /.well-known/mcp-registry-auth; quotes
// around a TXT value are accepted) or as bare base64 of the 32 bytes.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	b64 := s
	if strings.Contains(s, "=") && strings.Contains(s, ";") || strings.HasPrefix(s, "v=") {
		fields := map[string]string{}
		for _, part := range strings.Split(s, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if fields["v"] != "MCPv1" {
			return nil, fmt.Errorf("published key: version %q, want MCPv1", fields["v"])
		}
		if k := strings.ToLower(fields["k"]); k != "ed25519" {
			return nil, fmt.Errorf("published key: algorithm %q is not supported (ed25519 only)", fields["k"])
		}
		b64 = fields["p"]
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key: %d bytes, want %d", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// MarshalPrivateKey encodes a private key as PKCS #8 PEM.
func MarshalPrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ReadPrivateKey reads a PKCS #8 PEM Ed25519 private key file.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: no PEM PRIVATE KEY block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return priv, nil
}

// canonical returns the bytes that are signed.
func canonical(m Manifest) ([]byte, error) {
	if m.ManifestVersion != ManifestVersion {
		return nil, fmt.Errorf("manifest version %d, want %d", m.ManifestVersion, ManifestVersion)
	}
	return pin.Canonical(m)
}

// Sign adds a signature by priv to s.
func Sign(s *Signed, priv ed25519.PrivateKey) error {
	msg, err := canonical(s.Manifest)
	if err != nil {
		return err
	}
	pub := priv.Public().(ed25519.PublicKey)
	s.Signatures = append(s.Signatures, Signature{
		KeyID: KeyID(pub), Algorithm: "ed25519", PublicKey: FormatPublicKey(pub),
		Value: base64.StdEncoding.EncodeToString(ed25519.Sign(priv, msg)),
	})
	return nil
}

// TrustEntry trusts one key for names matching Pattern.
type TrustEntry struct {
	// Pattern is an exact name (io.github.alice/weather) or a namespace
	// wildcard (io.github.alice/*, com.example/*).
	Pattern string
	Key     ed25519.PublicKey
}

// TrustStore holds publisher keys and revoked keys.
type TrustStore struct {
	Entries []TrustEntry
	Revoked map[string]bool // by KeyID
}

// ParseTrustStore reads a trust store: one entry a line,
//
//	PATTERN v=MCPv1; k=ed25519; p=BASE64
//	revoke v=MCPv1; k=ed25519; p=BASE64
//
// with # comments and blank lines ignored.
func ParseTrustStore(data []byte) (*TrustStore, error) {
	ts := &TrustStore{Revoked: map[string]bool{}}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pattern, key, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("trust store line %d: want PATTERN KEY", i+1)
		}
		pub, err := ParsePublicKey(key)
		if err != nil {
			return nil, fmt.Errorf("trust store line %d: %w", i+1, err)
		}
		if pattern == "revoke" {
			ts.Revoked[KeyID(pub)] = true
			continue
		}
		if !validPattern(pattern) {
			return nil, fmt.Errorf("trust store line %d: pattern %q is not a registry name or namespace/*", i+1, pattern)
		}
		ts.Entries = append(ts.Entries, TrustEntry{Pattern: pattern, Key: pub})
	}
	return ts, nil
}

// ReadTrustStore reads a trust store file.
func ReadTrustStore(path string) (*TrustStore, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseTrustStore(data)
}

func validPattern(p string) bool {
	if ns, ok := strings.CutSuffix(p, "/*"); ok {
		return ValidName(ns + "/x")
	}
	return ValidName(p)
}

func (e TrustEntry) matches(name string) bool {
	if ns, ok := strings.CutSuffix(e.Pattern, "/*"); ok {
		return strings.HasPrefix(name, ns+"/")
	}
	return e.Pattern == name
}

// Verification errors callers branch on.
var (
	ErrNoTrustedKey = errors.New("no trusted key for this server name")
	ErrBadSignature = errors.New("no valid signature by a trusted key")
	ErrRevoked      = errors.New("signed by a revoked key")
)

// Verified says which trusted key accepted a manifest.
type Verified struct {
	KeyID   string
	Pattern string
}

// Verify checks that a trusted, unrevoked key for the manifest's name
// signed its canonical form.
func (ts *TrustStore) Verify(s *Signed) (Verified, error) {
	if !ValidName(s.Manifest.Name) {
		return Verified{}, fmt.Errorf("manifest name %q is not a registry name", s.Manifest.Name)
	}
	msg, err := canonical(s.Manifest)
	if err != nil {
		return Verified{}, err
	}
	var candidates []TrustEntry
	for _, e := range ts.Entries {
		if e.matches(s.Manifest.Name) {
			candidates = append(candidates, e)
		}
	}
	if len(candidates) == 0 {
		return Verified{}, fmt.Errorf("%s: %w", s.Manifest.Name, ErrNoTrustedKey)
	}
	revokedSeen := false
	for _, sig := range s.Signatures {
		if sig.Algorithm != "ed25519" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(sig.Value)
		if err != nil {
			continue
		}
		for _, e := range candidates {
			if !ed25519.Verify(e.Key, msg, raw) {
				continue
			}
			id := KeyID(e.Key)
			if ts.Revoked[id] {
				revokedSeen = true
				continue
			}
			return Verified{KeyID: id, Pattern: e.Pattern}, nil
		}
	}
	if revokedSeen {
		return Verified{}, ErrRevoked
	}
	return Verified{}, ErrBadSignature
}

// Mismatch is one difference between a signed manifest and what a server
// (or its lockfile entry) actually offers.
type Mismatch struct {
	Object string `json:"object"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

func (m Mismatch) String() string { return m.Object + " " + m.Name + ": " + m.Reason }

// Match compares a verified manifest with a pinned snapshot of the live
// server: every hash must agree and nothing may be added or missing.
func Match(m Manifest, s *pin.Server) []Mismatch {
	var out []Mismatch
	cmpSet := func(kind string, want map[string]string, got map[string]pin.Object) {
		for _, k := range sortedKeys(want) {
			o, ok := got[k]
			switch {
			case !ok:
				out = append(out, Mismatch{kind, k, "signed but not offered"})
			case o.SHA256 != want[k]:
				out = append(out, Mismatch{kind, k, "definition differs from the signed hash"})
			}
		}
		for _, k := range sortedKeys(got) {
			if _, ok := want[k]; !ok {
				out = append(out, Mismatch{kind, k, "offered but not signed"})
			}
		}
	}
	cmpSet("tool", m.Tools, s.Tools)
	cmpSet("prompt", m.Prompts, s.Prompts)
	cmpSet("resource", m.Resources, s.Resources)
	cmpSet("resourceTemplate", m.ResourceTemplates, s.ResourceTemplates)
	got := ""
	if s.Instructions != nil {
		got = s.Instructions.SHA256
	}
	if got != m.Instructions {
		out = append(out, Mismatch{"instructions", "instructions", "differ from the signed hash"})
	}
	if len(m.Packages) > 0 && (s.Identity.Kind == "npm" || s.Identity.Kind == "pypi" || s.Identity.Kind == "image") {
		p := m.Packages[0]
		if p.Identifier != s.Identity.Name || p.Version != "" && p.Version != s.Identity.Version || p.Digest != "" && p.Digest != s.Identity.Digest {
			out = append(out, Mismatch{"package", s.Identity.Key(), fmt.Sprintf("runs %s %s, manifest signs %s %s", s.Identity.Name, s.Identity.Version, p.Identifier, p.Version)})
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ReadSigned reads a signed manifest file.
func ReadSigned(path string) (*Signed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Signed
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}
