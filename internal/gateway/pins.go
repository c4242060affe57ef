package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/pin"
	"github.com/mcpsoc/mcpsoc/internal/scan"
	mcpsign "github.com/mcpsoc/mcpsoc/internal/sign"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tool pinning uses the scanner's lockfile format and hashes (package pin:
// SHA-256 of the RFC 8785 canonical JSON of each tool and of each of its
// fields), so `mcpsoc pin`, `mcpsoc scan --lock` and the gateway agree on
// what "the same tool" means.
//
// Two modes share the code:
//   - enforce (content.lockfile): the lockfile is the authority; an upstream
//     or tool missing from it, or a tool that differs, is quarantined until
//     approved (POST /quarantine/{name}/approve, or re-running `mcpsoc pin`:
//     the file is re-read when it changes).
//   - first-seen (default): the gateway pins what it sees first, in memory or
//     in content.pin_file, and quarantines later changes.

// secTool converts an SDK tool to the analyzers' and pinning's model.
func secTool(t *mcp.Tool) (mcpsec.Tool, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return mcpsec.Tool{}, err
	}
	var mt mcpsec.Tool
	err = json.Unmarshal(b, &mt)
	return mt, err
}

// pinTool is the canonical pin of one tool definition.
func pinTool(t *mcp.Tool) (pin.Object, error) {
	mt, err := secTool(t)
	if err != nil {
		return pin.Object{}, err
	}
	return pin.HashTool(mt)
}

// upstreamIdentity is the lockfile identity of an upstream entry, computed
// as the scanner computes it for a client config entry with the same
// command or URL.
func upstreamIdentity(u config.MCPServer) pin.Identity {
	return scan.PinIdentity(scan.Entry{Name: u.Name, Command: u.Command, Args: u.Args, URL: u.URL})
}

// Quarantined is a tool held back by pinning or signature checks, as the
// quarantine API lists it.
type Quarantined struct {
	// Name is upstream.tool.
	Name     string `json:"name"`
	Upstream string `json:"upstream"`
	Tool     string `json:"tool"`
	// Kind is changed, added (not in the lockfile), unpinned_upstream or
	// signature.
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	// Diff says what changed, field by field, for a changed tool.
	Diff string `json:"diff,omitempty"`
	// Pinned and Seen are the whole-definition hashes.
	Pinned string    `json:"pinned,omitempty"`
	Seen   string    `json:"seen"`
	Since  time.Time `json:"since"`
	// Approvable is false for signature refusals, which only a valid
	// signature lifts.
	Approvable bool `json:"approvable"`

	obj pin.Object // the definition as seen, pinned on approval
}

// pinStore holds the lockfile the gateway checks tools against. It is used
// under guard.mu.
type pinStore struct {
	path    string // lockfile or pin file; "" keeps pins in memory
	enforce bool   // lockfile mode: never pin on first sight
	lock    *pin.Lockfile
	modTime time.Time
	ids     map[string]pin.Identity // upstream name -> identity
}

func newPinStore(cfg ContentConfig, upstreams []config.MCPServer) (*pinStore, error) {
	ps := &pinStore{path: cfg.PinFile, ids: map[string]pin.Identity{}, lock: pin.New()}
	if cfg.Lockfile != "" {
		ps.path, ps.enforce = cfg.Lockfile, true
	}
	for _, u := range upstreams {
		ps.ids[u.Name] = upstreamIdentity(u)
	}
	if ps.path == "" || cfg.Pin == "off" {
		return ps, nil
	}
	if err := ps.load(); err != nil {
		if ps.enforce || !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return ps, nil
}

func (ps *pinStore) load() error {
	st, err := os.Stat(ps.path)
	if err != nil {
		return err
	}
	lf, err := pin.ReadFile(ps.path)
	if err != nil {
		return err
	}
	ps.lock, ps.modTime = lf, st.ModTime()
	return nil
}

// reloadIfChanged re-reads the lockfile after `mcpsoc pin` (or an editor)
// rewrote it. A file that no longer parses keeps the old pins.
func (ps *pinStore) reloadIfChanged() error {
	if !ps.enforce {
		return nil
	}
	st, err := os.Stat(ps.path)
	if err != nil || st.ModTime().Equal(ps.modTime) {
		return nil
	}
	return ps.load()
}

// server returns the lockfile entry of an upstream: by identity, else by a
// client name equal to the upstream's name. create adds an empty entry
// (first-seen mode).
func (ps *pinStore) server(upstream string, create bool) *pin.Server {
	id := ps.ids[upstream]
	if s := ps.lock.Lookup(id); s != nil {
		return s
	}
	for _, s := range ps.lock.Servers {
		if slices.Contains(s.Names, upstream) {
			return s
		}
	}
	if !create {
		return nil
	}
	s := &pin.Server{Identity: id, Names: []string{upstream}, Tools: map[string]pin.Object{}}
	ps.lock.Add(s)
	return s
}

func (ps *pinStore) save() error {
	if ps.path == "" {
		return nil
	}
	tmp := ps.path + ".tmp"
	ps.lock.Generated = time.Now().UTC().Truncate(time.Second)
	if err := ps.lock.WriteFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, ps.path); err != nil {
		return err
	}
	if st, err := os.Stat(ps.path); err == nil {
		ps.modTime = st.ModTime()
	}
	return nil
}

// check compares one live tool with its pin. It returns nil when the tool
// may be offered (pinning it on first sight in first-seen mode, which sets
// dirty).
func (ps *pinStore) check(upstream, tool string, cur pin.Object, dirty *bool) *Quarantined {
	q := &Quarantined{Name: upstream + "." + tool, Upstream: upstream, Tool: tool, Seen: cur.SHA256, Approvable: true}
	s := ps.server(upstream, !ps.enforce)
	if s == nil {
		q.Kind = "unpinned_upstream"
		q.Reason = fmt.Sprintf("upstream %s (%s) is not in the lockfile: quarantined until an operator approves its tools or re-runs mcpsoc pin", upstream, ps.ids[upstream].Key())
		return q
	}
	if s.Tools == nil {
		s.Tools = map[string]pin.Object{}
	}
	old, ok := s.Tools[tool]
	switch {
	case !ok && ps.enforce:
		q.Kind = "added"
		q.Reason = "tool is not in the lockfile (added since it was pinned): quarantined until an operator approves it"
		return q
	case !ok:
		s.Tools[tool] = cur
		*dirty = true
		return nil
	case old.SHA256 == cur.SHA256:
		return nil
	}
	ch := pin.CompareObject("tool", tool, old, cur)
	q.Kind, q.Pinned, q.Diff = "changed", old.SHA256, ch.Diff
	what := "since it was first seen"
	if ps.enforce {
		what = "from the lockfile"
	}
	q.Reason = fmt.Sprintf("definition changed %s (%s; pinned %s, now %s): quarantined until an operator approves it",
		what, strings.Join(ch.Components, ", "), old.SHA256[:12], cur.SHA256[:12])
	return q
}

// approve pins cur as the accepted definition of upstream.tool and writes
// the file.
func (ps *pinStore) approve(upstream, tool string, cur pin.Object) error {
	s := ps.server(upstream, true)
	if s.Tools == nil {
		s.Tools = map[string]pin.Object{}
	}
	s.Tools[tool] = cur
	return ps.save()
}

// sigState is the outcome of checking one upstream's signed manifest.
type sigState struct {
	manifest *mcpsign.Manifest // verified manifest, nil when none verified
	problem  string            // why the upstream is not verified
}

// verifyManifests checks each configured manifest against the trust store
// once at start; upstreams without one get a problem in require/flag modes.
func verifyManifests(cfg SignaturesConfig, upstreams []config.MCPServer) (map[string]sigState, error) {
	out := map[string]sigState{}
	if cfg.Mode == "off" {
		return out, nil
	}
	ts, err := mcpsign.ReadTrustStore(cfg.TrustStore)
	if err != nil {
		return nil, fmt.Errorf("content.signatures.trust_store: %w", err)
	}
	for _, u := range upstreams {
		path, ok := cfg.Manifests[u.Name]
		if !ok {
			out[u.Name] = sigState{problem: "no signed manifest is configured for this upstream"}
			continue
		}
		s, err := mcpsign.ReadSigned(path)
		if err != nil {
			out[u.Name] = sigState{problem: "signed manifest unreadable: " + err.Error()}
			continue
		}
		if _, err := ts.Verify(s); err != nil {
			out[u.Name] = sigState{problem: "manifest signature does not verify: " + err.Error()}
			continue
		}
		m := s.Manifest
		out[u.Name] = sigState{manifest: &m}
	}
	return out, nil
}

// PinUpstreams connects to every enabled upstream of cfg, lists what it
// offers and returns a lockfile in `mcpsoc pin`'s format, keyed by the same
// identities, for content.lockfile. Upstreams that could not be reached
// are named in the error; the others are in the lockfile.
func PinUpstreams(ctx context.Context, cfg *Config, clientVersion string) (*pin.Lockfile, error) {
	mgr := mcpx.NewManager(cfg.Upstreams, &mcpx.ManagerOptions{ClientName: "mcpsoc-gateway-pin", ClientVersion: clientVersion})
	mgr.Start(ctx)
	defer mgr.Close()
	if err := mgr.WaitReady(ctx); err != nil {
		return nil, err
	}
	servers := map[string]*mcpsec.Server{}
	var missing []string
	for _, st := range mgr.Servers() {
		if st.State != mcpx.StateUp {
			missing = append(missing, st.Name+": "+st.LastError)
			continue
		}
		servers[st.Name] = &mcpsec.Server{Name: st.Name}
	}
	for _, t := range mgr.Tools() {
		s := servers[t.Server]
		if s == nil {
			continue
		}
		mt, err := secTool(t.Tool)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		s.Tools = append(s.Tools, mt)
	}
	lf := pin.New()
	for _, u := range cfg.Upstreams {
		s := servers[u.Name]
		if s == nil {
			continue
		}
		ps, err := pin.Snapshot(upstreamIdentity(u), []string{u.Name}, s)
		if err != nil {
			return nil, fmt.Errorf("pinning %s: %w", u.Name, err)
		}
		lf.Add(ps)
	}
	if len(missing) > 0 {
		return lf, fmt.Errorf("not pinned: %s", strings.Join(missing, "; "))
	}
	return lf, nil
}
