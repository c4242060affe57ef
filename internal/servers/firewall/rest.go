package firewall

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// restBackend blocks addresses by adding them to an alias on an OPNsense
// or pfSense appliance over its REST API; the appliance's own rules drop
// traffic from the alias. Neither API has per-entry timeouts, so the TTLs
// are ours: each block's expiry is kept in a JSON file under data_dir, and
// expired entries are removed from the alias by a sweep (every
// sweep_interval, and before every read and change).
//
// OPNsense: GET /api/firewall/alias/getAliasUUID/{alias} (status only),
// GET /api/firewall/alias_util/list/{alias}, POST
// /api/firewall/alias_util/add/{alias} and .../delete/{alias} with
// {"address": ip}, then POST /api/firewall/alias/reconfigure; HTTP basic
// auth with the API key and secret. The alias should be of type "External
// (advanced)", whose content lives in the pf table only.
//
// pfSense (the pfSense-API package, v2): GET
// /api/v2/firewall/aliases?name={alias}, PATCH /api/v2/firewall/alias with
// the alias id and its full address and detail lists, then POST
// /api/v2/firewall/apply; the key in the X-API-Key header.
type restBackend struct {
	flavor  string // BackendOPNsense or BackendPFSense
	base    *url.URL
	alias   string
	key     string
	secret  string
	client  *http.Client
	size    int
	now     func() time.Time
	track   *expiry
	sweepMu sync.Mutex // serializes sweeps with changes
	stop    chan struct{}
	done    chan struct{}
}

// expiry is the persisted TTL book of a REST backend.
type expiry struct {
	path string
	mu   sync.Mutex
	m    map[string]tracked
}

type tracked struct {
	TTLSeconds int64     `json:"ttl_seconds"`
	Expires    time.Time `json:"expires"`
	Reason     string    `json:"reason,omitempty"`
}

func loadExpiry(path string) (*expiry, error) {
	e := &expiry{path: path, m: map[string]tracked{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return e, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading block expiry file: %w", err)
	}
	var doc struct {
		Blocks map[string]tracked `json:"blocks"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("block expiry file %s: %w", path, err)
	}
	for k, v := range doc.Blocks {
		if _, err := netip.ParseAddr(k); err != nil {
			return nil, fmt.Errorf("block expiry file %s: %q is not an address", path, k)
		}
		e.m[k] = v
	}
	return e, nil
}

// save writes the book atomically (temporary file, sync, rename).
func (e *expiry) save() error {
	b, err := json.MarshalIndent(struct {
		Blocks map[string]tracked `json:"blocks"`
	}{e.m}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(e.path), ".blocks-*.tmp")
	if err != nil {
		return fmt.Errorf("saving block expiry: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, e.path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving block expiry: %w", werr)
	}
	return nil
}

func (e *expiry) get(a string) (tracked, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.m[a]
	return t, ok
}

func (e *expiry) set(a string, t tracked) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[a] = t
	return e.save()
}

func (e *expiry) del(a string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.m[a]; !ok {
		return nil
	}
	delete(e.m, a)
	return e.save()
}

// due lists the addresses whose blocks have ended.
func (e *expiry) due(now time.Time) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for a, t := range e.m {
		if !now.Before(t.Expires) {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

func newREST(cfg Config, now func() time.Time) (*restBackend, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("backend %s needs url (the appliance's https:// base address)", cfg.Backend)
	}
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("url %q is not an http(s) base address", cfg.URL)
	}
	if u.Scheme == "http" && !cfg.AllowHTTP {
		return nil, fmt.Errorf("url %q is plain http: the API key would travel in clear; use https (allow_http permits it for a lab)", cfg.URL)
	}
	if !cfg.APIKey.IsSet() {
		return nil, fmt.Errorf("backend %s needs api_key", cfg.Backend)
	}
	if cfg.Backend == BackendOPNsense && !cfg.APISecret.IsSet() {
		return nil, errors.New("backend opnsense needs api_secret (the key's secret)")
	}
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("backend %s needs data_dir: block TTLs are tracked in a file there", cfg.Backend)
	}
	if err := checkAlias(cfg.Alias); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	tr, err := loadExpiry(filepath.Join(cfg.DataDir, fmt.Sprintf("firewall-%s-%s.json", cfg.Backend, cfg.Alias)))
	if err != nil {
		return nil, err
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	tr2 := http.DefaultTransport.(*http.Transport).Clone()
	tr2.TLSClientConfig = tlsCfg
	return &restBackend{flavor: cfg.Backend, base: u, alias: cfg.Alias, key: cfg.APIKey.Value(), secret: cfg.APISecret.Value(),
		client: &http.Client{Transport: tr2, Timeout: cfg.Timeout}, size: cfg.MaxElements, now: now, track: tr}, nil
}

// checkAlias accepts names both appliances allow: letters, digits and _,
// at most 31 characters.
func checkAlias(name string) error {
	if name == "" || len(name) > 31 {
		return fmt.Errorf("alias %q must be 1-31 characters", name)
	}
	for _, c := range name {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("alias %q: only letters, digits and _", name)
		}
	}
	return nil
}

// startSweeper removes expired entries every interval until close.
func (b *restBackend) startSweeper(every time.Duration) {
	b.stop, b.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(b.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), b.client.Timeout*4)
				b.sweep(ctx)
				cancel()
			}
		}
	}()
}

func (b *restBackend) close() {
	if b.stop != nil {
		close(b.stop)
		<-b.done
		b.stop = nil
	}
}

func (b *restBackend) kind() string              { return b.flavor }
func (b *restBackend) setName(netip.Addr) string { return b.alias }
func (b *restBackend) complete(st state) bool    { return st.Present }
func (b *restBackend) where() string {
	return fmt.Sprintf("%s alias %s at %s", b.flavor, b.alias, b.base.Redacted())
}

// apiError is a non-success answer from the appliance.
type apiError struct {
	method, path string
	status       int
	body         string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.method, e.path, e.status, e.body)
}

// do sends one request and decodes a JSON answer into out.
func (b *restBackend) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		bs, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(bs)
	}
	u := b.base.String() + path
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.flavor == BackendOPNsense {
		req.SetBasicAuth(b.key, b.secret)
	} else {
		req.Header.Set("X-API-Key", b.key)
	}
	res, err := b.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &UnavailableError{Backend: b.flavor, Reason: fmt.Sprintf("%s %s did not answer: %v", method, path, errors.Unwrap(err)), Err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return &UnavailableError{Backend: b.flavor, Reason: fmt.Sprintf("reading the answer to %s %s: %v", method, path, err), Err: err}
	}
	if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
		return &UnavailableError{Backend: b.flavor, Reason: fmt.Sprintf("%s %s: HTTP %d: the API key was refused", method, path, res.StatusCode)}
	}
	if res.StatusCode/100 != 2 {
		return &apiError{method: method, path: path, status: res.StatusCode, body: clip(strings.TrimSpace(string(raw)), 300)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not the documented JSON: %v", method, path, err)
		}
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// OPNsense alias_util answers.
type opnList struct {
	Total int `json:"total"`
	Rows  []struct {
		IP string `json:"ip"`
	} `json:"rows"`
}

type opnStatus struct {
	Status string `json:"status"`
}

// pfSense-API answers.
type pfAlias struct {
	ID      int      `json:"id"`
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Address []string `json:"address"`
	Detail  []string `json:"detail"`
}

type pfEnvelope[T any] struct {
	Code       int    `json:"code"`
	Status     string `json:"status"`
	ResponseID string `json:"response_id"`
	Message    string `json:"message"`
	Data       T      `json:"data"`
}

func (b *restBackend) opnPath(op string) string {
	return "/api/firewall/alias_util/" + op + "/" + url.PathEscape(b.alias)
}

// fetch reads the alias's addresses (and, for pfSense, its id and details).
func (b *restBackend) fetch(ctx context.Context) (addrs, details []string, id string, err error) {
	if b.flavor == BackendOPNsense {
		var l opnList
		if err := b.do(ctx, http.MethodGet, b.opnPath("list"), nil, &l); err != nil {
			return nil, nil, "", fmt.Errorf("reading alias %s: %w", b.alias, err)
		}
		for _, r := range l.Rows {
			addrs = append(addrs, r.IP)
		}
		return addrs, nil, "", nil
	}
	var env pfEnvelope[[]pfAlias]
	if err := b.do(ctx, http.MethodGet, "/api/v2/firewall/aliases?name="+url.QueryEscape(b.alias), nil, &env); err != nil {
		return nil, nil, "", fmt.Errorf("reading alias %s: %w", b.alias, err)
	}
	for _, a := range env.Data {
		if a.Name == b.alias {
			if a.Type != "host" && a.Type != "network" {
				return nil, nil, "", fmt.Errorf("alias %s is of type %q; block lists need a host alias", b.alias, a.Type)
			}
			return a.Address, a.Detail, strconv.Itoa(a.ID), nil
		}
	}
	return nil, nil, "", fmt.Errorf("alias %s does not exist on the pfSense appliance: create a host alias of that name and a block rule using it", b.alias)
}

func (b *restBackend) version(ctx context.Context) (string, error) {
	if _, _, _, err := b.fetch(ctx); err != nil {
		return "", err
	}
	if b.flavor == BackendOPNsense {
		// alias_util lists an unknown alias as empty; ask for its uuid.
		var raw json.RawMessage
		if err := b.do(ctx, http.MethodGet, "/api/firewall/alias/getAliasUUID/"+url.PathEscape(b.alias), nil, &raw); err != nil {
			return "", fmt.Errorf("looking up alias %s: %w", b.alias, err)
		}
		var u struct {
			UUID string `json:"uuid"`
		}
		json.Unmarshal(raw, &u) // an unknown name is answered with [] (PHP's empty array)
		if u.UUID == "" {
			return "", fmt.Errorf("alias %s does not exist on the OPNsense appliance: create it (type External (advanced)) and a block rule using it", b.alias)
		}
		return "OPNsense REST API (alias_util), alias uuid " + u.UUID, nil
	}
	return "pfSense-API v2", nil
}

// list sweeps expired blocks, then reads the alias. Entries we did not add
// show without a TTL.
func (b *restBackend) list(ctx context.Context) (state, error) {
	b.sweep(ctx)
	return b.read(ctx)
}

func (b *restBackend) read(ctx context.Context) (state, error) {
	addrs, details, id, err := b.fetch(ctx)
	if err != nil {
		return state{}, err
	}
	st := state{Present: true, Sets: map[string]setState{}, ref: id}
	now := b.now()
	for i, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			continue // networks and host names are not blocks we manage
		}
		a = a.Unmap()
		e := element{Addr: a}
		if i < len(details) {
			e.Comment = details[i]
		}
		if t, ok := b.track.get(a.String()); ok {
			e.Timeout = time.Duration(t.TTLSeconds) * time.Second
			e.Expires = max(t.Expires.Sub(now).Truncate(time.Second), 0)
			e.Comment = t.Reason
		}
		ss := st.Sets[setFor(a)]
		ss.Size = b.size
		ss.Elems = append(ss.Elems, e)
		st.Sets[setFor(a)] = ss
	}
	for _, s := range []string{set4, set6} {
		if _, ok := st.Sets[s]; !ok {
			st.Sets[s] = setState{Size: b.size}
		}
	}
	return st, nil
}

// sweep removes the blocks whose TTL has passed from the alias and the
// book. Failures leave them for the next sweep.
func (b *restBackend) sweep(ctx context.Context) {
	b.sweepMu.Lock()
	defer b.sweepMu.Unlock()
	due := b.track.due(b.now())
	if len(due) == 0 {
		return
	}
	st, err := b.read(ctx)
	if err != nil {
		return
	}
	for _, s := range due {
		a, _ := netip.ParseAddr(s)
		if _, ok := st.find(a); ok {
			if err := b.exec(ctx, st, b.unblockPlan(st, a)); err != nil {
				continue
			}
			st.remove(a)
		}
		b.track.del(s)
	}
}

// request is one planned API call.
type request struct {
	method, path string
	body         any
}

func (r request) String() string {
	s := r.method + " " + r.path
	if r.body != nil {
		b, _ := json.Marshal(r.body)
		s += " " + string(b)
	}
	return s
}

func (b *restBackend) detail(ttl time.Duration, reason string) string {
	return "mcpsoc " + comment(ttl, reason)
}

// pfPatch is the PATCH of the whole alias with addrs and details.
func (b *restBackend) pfPatch(st state, keep func(element) bool, add *element) []request {
	id, _ := strconv.Atoi(st.ref)
	addrs, details := []string{}, []string{}
	for _, e := range st.blocks() {
		if !keep(e) {
			continue
		}
		addrs = append(addrs, e.Addr.String())
		// Our entries carry their TTL in the detail; others keep theirs.
		if t, ok := b.track.get(e.Addr.String()); ok {
			details = append(details, b.detail(time.Duration(t.TTLSeconds)*time.Second, t.Reason))
		} else {
			details = append(details, e.Comment)
		}
	}
	if add != nil {
		addrs = append(addrs, add.Addr.String())
		details = append(details, add.Comment)
	}
	return []request{
		{http.MethodPatch, "/api/v2/firewall/alias", map[string]any{"id": id, "address": addrs, "detail": details}},
		{http.MethodPost, "/api/v2/firewall/apply", map[string]any{}},
	}
}

func (b *restBackend) blockPlan(st state, a netip.Addr, ttl time.Duration, reason string) []request {
	if b.flavor == BackendOPNsense {
		var rs []request
		if _, had := st.find(a); !had {
			rs = append(rs, request{http.MethodPost, b.opnPath("add"), map[string]string{"address": a.String()}})
		}
		return append(rs, request{http.MethodPost, "/api/firewall/alias/reconfigure", map[string]any{}})
	}
	return b.pfPatch(st, func(e element) bool { return e.Addr != a }, &element{Addr: a, Comment: b.detail(ttl, reason)})
}

func (b *restBackend) unblockPlan(st state, a netip.Addr) []request {
	if b.flavor == BackendOPNsense {
		return []request{
			{http.MethodPost, b.opnPath("delete"), map[string]string{"address": a.String()}},
			{http.MethodPost, "/api/firewall/alias/reconfigure", map[string]any{}},
		}
	}
	return b.pfPatch(st, func(e element) bool { return e.Addr != a }, nil)
}

func renderReqs(rs []request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// exec sends the planned requests in order and checks each answer.
func (b *restBackend) exec(ctx context.Context, _ state, rs []request) error {
	for _, r := range rs {
		if b.flavor == BackendOPNsense {
			var s opnStatus
			if err := b.do(ctx, r.method, r.path, r.body, &s); err != nil {
				return err
			}
			if s.Status != "done" && s.Status != "ok" {
				return fmt.Errorf("%s %s: the appliance answered status %q", r.method, r.path, s.Status)
			}
			continue
		}
		var env pfEnvelope[json.RawMessage]
		if err := b.do(ctx, r.method, r.path, r.body, &env); err != nil {
			return err
		}
		if env.Code != 200 || env.Status != "ok" {
			return fmt.Errorf("%s %s: the appliance answered %d %s: %s", r.method, r.path, env.Code, env.ResponseID, env.Message)
		}
	}
	return nil
}

func (b *restBackend) blockCommands(st state, a netip.Addr, ttl time.Duration, reason string) []string {
	return renderReqs(b.blockPlan(st, a, ttl, reason))
}

func (b *restBackend) unblockCommands(st state, a netip.Addr) []string {
	return renderReqs(b.unblockPlan(st, a))
}

func (b *restBackend) block(ctx context.Context, st state, a netip.Addr, ttl time.Duration, reason string) error {
	b.sweepMu.Lock()
	defer b.sweepMu.Unlock()
	// The TTL is recorded first: if the process dies after the API call,
	// the block still expires.
	if err := b.track.set(a.String(), tracked{TTLSeconds: int64(ttl / time.Second), Expires: b.now().Add(ttl).UTC(), Reason: reason}); err != nil {
		return err
	}
	return b.exec(ctx, st, b.blockPlan(st, a, ttl, reason))
}

func (b *restBackend) unblock(ctx context.Context, st state, a netip.Addr) error {
	b.sweepMu.Lock()
	defer b.sweepMu.Unlock()
	if err := b.exec(ctx, st, b.unblockPlan(st, a)); err != nil {
		return err
	}
	return b.track.del(a.String())
}
