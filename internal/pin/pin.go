// Package pin computes canonical hashes of what an MCP server shows a model
// (tools, prompts, resources, resource templates, instructions), keeps them
// in a lockfile next to the server's package identity, and compares a live
// listing with the lockfile: added, removed, changed (rug pull) and renamed
// objects, with a readable diff of what changed.
//
// Hashes are SHA-256 over the RFC 8785 (JCS) canonical JSON of each
// definition, so re-serializing (key order, whitespace, number spelling) is
// never a change. It does not connect to servers (internal/scan does) nor
// sign anything (internal/sign).
package pin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/gowebpki/jcs"

	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
)

// LockfileVersion is the format version written and accepted.
const LockfileVersion = 1

// Identity is what a server is, without secrets: the package or image it
// runs, or its URL without credentials.
type Identity struct {
	// Kind is npm, pypi, image, url or command.
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// Key is the lockfile key, kind:name; versions are compared, not keyed.
func (i Identity) Key() string { return i.Kind + ":" + i.Name }

// Object is one pinned definition.
type Object struct {
	// SHA256 covers the whole canonical definition.
	SHA256 string `json:"sha256"`
	// Components hash each field (name, title, description, inputSchema,
	// outputSchema, annotations for tools) so a diff says what changed.
	Components map[string]string `json:"components"`
	// Definition is the canonical definition, kept so a diff can show the
	// old text.
	Definition json.RawMessage `json:"definition"`
}

// Server is one pinned server.
type Server struct {
	Identity Identity `json:"identity"`
	// Names are the keys clients gave the server (informational).
	Names []string `json:"names,omitempty"`
	// ServerInfo is the name and version the server reported.
	ServerInfo *mcpsec.ServerInfo `json:"serverInfo,omitempty"`
	// Instructions pins the server's instructions (absent when none).
	Instructions      *Object           `json:"instructions,omitempty"`
	Tools             map[string]Object `json:"tools"`
	Prompts           map[string]Object `json:"prompts,omitempty"`
	Resources         map[string]Object `json:"resources,omitempty"`
	ResourceTemplates map[string]Object `json:"resourceTemplates,omitempty"`
}

// Lockfile pins a set of servers by identity key.
type Lockfile struct {
	LockfileVersion int                `json:"lockfileVersion"`
	Generated       time.Time          `json:"generated"`
	Servers         map[string]*Server `json:"servers"`
}

// New returns an empty lockfile.
func New() *Lockfile {
	return &Lockfile{LockfileVersion: LockfileVersion, Generated: time.Now().UTC().Truncate(time.Second), Servers: map[string]*Server{}}
}

// Lookup returns the pinned server with id's key, or nil.
func (l *Lockfile) Lookup(id Identity) *Server {
	if l == nil {
		return nil
	}
	return l.Servers[id.Key()]
}

// Add pins s under its identity key, merging client names.
func (l *Lockfile) Add(s *Server) {
	k := s.Identity.Key()
	if old, ok := l.Servers[k]; ok {
		s.Names = mergeNames(old.Names, s.Names)
	}
	l.Servers[k] = s
}

func mergeNames(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append(append([]string(nil), a...), b...) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// ReadFile reads and validates a lockfile.
func ReadFile(path string) (*Lockfile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading lockfile: %w", err)
	}
	var l Lockfile
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("lockfile %s: %w", path, err)
	}
	if l.LockfileVersion != LockfileVersion {
		return nil, fmt.Errorf("lockfile %s: version %d, want %d", path, l.LockfileVersion, LockfileVersion)
	}
	if l.Servers == nil {
		l.Servers = map[string]*Server{}
	}
	return &l, nil
}

// WriteFile writes the lockfile as indented JSON (map keys sorted, so the
// file diffs well in version control).
func (l *Lockfile) WriteFile(path string) error {
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// Canonical returns the RFC 8785 canonical JSON of v.
func Canonical(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jcs.Transform(raw)
}

// Sum is the hex SHA-256 of b.
func Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// hashObject pins a definition given as ordered fields; nil and empty
// fields are left out, so a server adding "title": "" is not a change.
func hashObject(fields map[string]any) (Object, error) {
	def := map[string]any{}
	comps := map[string]string{}
	for k, v := range fields {
		if isEmpty(v) {
			continue
		}
		c, err := Canonical(v)
		if err != nil {
			return Object{}, fmt.Errorf("canonicalizing %s: %w", k, err)
		}
		def[k] = json.RawMessage(c)
		comps[k] = Sum(c)
	}
	c, err := Canonical(def)
	if err != nil {
		return Object{}, err
	}
	return Object{SHA256: Sum(c), Components: comps, Definition: c}, nil
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case json.RawMessage:
		s := strings.TrimSpace(string(x))
		return s == "" || s == "null"
	case *mcpsec.Annotations:
		return x == nil
	}
	return false
}

// HashTool pins one tool over name, title, description, input and output
// schemas and annotations.
func HashTool(t mcpsec.Tool) (Object, error) {
	return hashObject(map[string]any{
		"name": t.Name, "title": t.Title, "description": t.Description,
		"inputSchema": t.InputSchema, "outputSchema": t.OutputSchema, "annotations": t.Annotations,
	})
}

// HashPrompt pins one prompt over name, title, description and arguments.
func HashPrompt(p mcpsec.Prompt) (Object, error) {
	var args any
	if len(p.Arguments) > 0 {
		args = p.Arguments
	}
	return hashObject(map[string]any{"name": p.Name, "title": p.Title, "description": p.Description, "arguments": args})
}

// HashResource pins one resource or template over uri, name, title,
// description and MIME type.
func HashResource(r mcpsec.Resource) (Object, error) {
	return hashObject(map[string]any{"uri": r.URI, "uriTemplate": r.URITemplate, "name": r.Name, "title": r.Title, "description": r.Description, "mimeType": r.MIMEType})
}

// Snapshot pins everything s lists under identity id.
func Snapshot(id Identity, names []string, s *mcpsec.Server) (*Server, error) {
	out := &Server{Identity: id, Names: mergeNames(nil, names), ServerInfo: s.Info, Tools: map[string]Object{}}
	if s.Instructions != "" {
		o, err := hashObject(map[string]any{"instructions": s.Instructions})
		if err != nil {
			return nil, err
		}
		out.Instructions = &o
	}
	for _, t := range s.Tools {
		o, err := HashTool(t)
		if err != nil {
			return nil, fmt.Errorf("tool %q: %w", t.Name, err)
		}
		if _, dup := out.Tools[t.Name]; dup {
			return nil, fmt.Errorf("tool %q listed twice", t.Name)
		}
		out.Tools[t.Name] = o
	}
	for _, p := range s.Prompts {
		o, err := HashPrompt(p)
		if err != nil {
			return nil, fmt.Errorf("prompt %q: %w", p.Name, err)
		}
		if out.Prompts == nil {
			out.Prompts = map[string]Object{}
		}
		out.Prompts[p.Name] = o
	}
	for _, r := range s.Resources {
		o, err := HashResource(r)
		if err != nil {
			return nil, fmt.Errorf("resource %q: %w", r.URI, err)
		}
		if out.Resources == nil {
			out.Resources = map[string]Object{}
		}
		out.Resources[r.URI] = o
	}
	for _, r := range s.ResourceTemplates {
		o, err := HashResource(r)
		if err != nil {
			return nil, fmt.Errorf("resource template %q: %w", r.URITemplate, err)
		}
		if out.ResourceTemplates == nil {
			out.ResourceTemplates = map[string]Object{}
		}
		out.ResourceTemplates[r.URITemplate] = o
	}
	return out, nil
}
