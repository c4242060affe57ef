package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
)

// DefaultConnectTimeout bounds starting a server and listing everything it
// offers. Heavy first-time uvx/npx installs take tens of seconds; the
// security reference (§4) asks for at least 60 s.
const DefaultConnectTimeout = 60 * time.Second

// ConnectOptions control connecting to one server for a scan.
type ConnectOptions struct {
	// Timeout bounds the whole connect-and-list; zero is DefaultConnectTimeout.
	Timeout time.Duration
	// LookupEnv resolves ${VAR} references in env and headers; nil uses
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// HTTPClient is used for remote servers; nil uses a client with the
	// timeout.
	HTTPClient *http.Client
	// ClientName and ClientVersion are sent in initialize.
	ClientName, ClientVersion string
}

// Posture is what an unauthenticated probe of a remote server learned.
type Posture struct {
	// Unauthenticated is true when initialize without credentials succeeded.
	Unauthenticated bool `json:"unauthenticated"`
	// Status is the HTTP status of the unauthenticated attempt (0 when it
	// did not get that far).
	Status int `json:"status,omitempty"`
	// WWWAuthenticate is the challenge the server sent, if any.
	WWWAuthenticate string `json:"wwwAuthenticate,omitempty"`
	// ResourceMetadata is the RFC 9728 metadata URL found, if any.
	ResourceMetadata string `json:"resourceMetadata,omitempty"`
	// AuthorizationServers are those the metadata names.
	AuthorizationServers []string `json:"authorizationServers,omitempty"`
}

// Connect starts (stdio) or reaches (http, sse) one server, lists its
// instructions, tools, prompts, resources and resource templates, and returns
// them in mcpsec's shape. A stdio server gets a minimal environment: PATH,
// HOME, LANG, TMPDIR (and the Windows basics) plus the entry's own env.
func Connect(ctx context.Context, e Entry, opts *ConnectOptions) (*mcpsec.Server, error) {
	o := withConnectDefaults(opts)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var transport mcp.Transport
	var proc *exec.Cmd
	switch e.Transport {
	case "stdio":
		if e.Command == "" {
			return nil, errors.New("stdio entry without a command")
		}
		cmd := exec.CommandContext(ctx, expandVars(e.Command, o.LookupEnv), expandAll(e.Args, o.LookupEnv)...)
		cmd.Env = minimalEnv(e.Env, o.LookupEnv)
		if e.Cwd != "" {
			cmd.Dir = expandVars(e.Cwd, o.LookupEnv)
		}
		cmd.Stderr = io.Discard
		cmd.WaitDelay = 2 * time.Second
		ownProcessGroup(cmd)
		proc = cmd
		transport = &mcp.CommandTransport{Command: cmd, TerminateDuration: shutdownGrace}
	case "http", "sse":
		hc := withHeaders(o.HTTPClient, e.Headers, o.LookupEnv)
		u := expandVars(e.URL, o.LookupEnv)
		if e.Transport == "sse" {
			transport = &mcp.SSEClientTransport{Endpoint: u, HTTPClient: hc}
		} else {
			transport = &mcp.StreamableClientTransport{Endpoint: u, HTTPClient: hc, MaxRetries: -1, DisableStandaloneSSE: true}
		}
	default:
		return nil, fmt.Errorf("unknown transport %q", e.Transport)
	}
	if proc != nil {
		// Whatever happens, nothing the server spawned outlives the scan.
		defer killGroup(proc)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: o.ClientName, Version: o.ClientVersion}, nil)
	cs, err := client.Connect(ctx, transport, nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connecting: timed out after %s", o.Timeout)
		}
		return nil, fmt.Errorf("connecting: %w", err)
	}
	defer cs.Close()
	return listAll(ctx, cs, e.Name)
}

// shutdownGrace is how long a scanned stdio server may take to exit after its
// stdin is closed, and again after SIGTERM, before it is killed. The scanner
// only lists; many servers (server-everything on Node) ignore EOF, and a
// longer grace adds straight to every scan.
const shutdownGrace = 150 * time.Millisecond

// listAll lists a connected server's tools, prompts, resources and resource
// templates. The four lists are requested at once over the one session: on a
// busy machine each round trip waits for the server's turn on a core, so
// pipelining them saves three waits per server.
func listAll(ctx context.Context, cs *mcp.ClientSession, name string) (*mcpsec.Server, error) {
	s := &mcpsec.Server{Name: name}
	ir := cs.InitializeResult()
	if ir != nil {
		s.Instructions = ir.Instructions
		if ir.ServerInfo != nil {
			if err := remarshal(ir.ServerInfo, &s.Info); err != nil {
				return nil, err
			}
		}
	}
	var caps *mcp.ServerCapabilities
	if ir != nil {
		caps = ir.Capabilities
	}
	var (
		wg   sync.WaitGroup
		errs [4]error
	)
	run := func(i int, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f()
		}()
	}
	if caps == nil || caps.Tools != nil {
		run(0, func() error {
			for t, err := range cs.Tools(ctx, nil) {
				if err != nil {
					return fmt.Errorf("listing tools: %w", err)
				}
				var x mcpsec.Tool
				if err := remarshal(t, &x); err != nil {
					return err
				}
				s.Tools = append(s.Tools, x)
			}
			return nil
		})
	}
	if caps != nil && caps.Prompts != nil {
		run(1, func() error {
			for p, err := range cs.Prompts(ctx, nil) {
				if err != nil {
					return fmt.Errorf("listing prompts: %w", err)
				}
				var x mcpsec.Prompt
				if err := remarshal(p, &x); err != nil {
					return err
				}
				s.Prompts = append(s.Prompts, x)
			}
			return nil
		})
	}
	if caps != nil && caps.Resources != nil {
		run(2, func() error {
			for r, err := range cs.Resources(ctx, nil) {
				if err != nil {
					return fmt.Errorf("listing resources: %w", err)
				}
				var x mcpsec.Resource
				if err := remarshal(r, &x); err != nil {
					return err
				}
				s.Resources = append(s.Resources, x)
			}
			return nil
		})
		run(3, func() error {
			for r, err := range cs.ResourceTemplates(ctx, nil) {
				if err != nil {
					return fmt.Errorf("listing resource templates: %w", err)
				}
				var x mcpsec.Resource
				if err := remarshal(r, &x); err != nil {
					return err
				}
				s.ResourceTemplates = append(s.ResourceTemplates, x)
			}
			return nil
		})
	}
	wg.Wait()
	// The first failure in the order the lists are documented.
	for _, err := range errs {
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

func remarshal(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, to)
}

func withConnectDefaults(opts *ConnectOptions) ConnectOptions {
	var o ConnectOptions
	if opts != nil {
		o = *opts
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultConnectTimeout
	}
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: o.Timeout}
	}
	if o.ClientName == "" {
		o.ClientName = "mcpsoc-scan"
	}
	if o.ClientVersion == "" {
		o.ClientVersion = "dev"
	}
	return o
}

// minimalEnv is what a scanned stdio server sees: the few variables a
// runtime needs to start, never the scanner's own secrets, plus the
// entry's env with ${VAR} references resolved.
func minimalEnv(entry map[string]string, lookup func(string) (string, bool)) []string {
	keep := []string{"PATH", "HOME", "LANG", "TMPDIR", "USER"}
	if runtime.GOOS == "windows" {
		keep = append(keep, "SystemRoot", "SystemDrive", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "TEMP", "TMP", "PATHEXT", "ComSpec")
	}
	var env []string
	for _, k := range keep {
		if v, ok := lookup(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for _, k := range sortedKeys(entry) {
		env = append(env, k+"="+expandVars(entry[k], lookup))
	}
	return env
}

var varRe = regexp.MustCompile(`\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]{0,100})(?::-([^}]{0,200}))?\}`)

// expandVars resolves ${VAR}, ${env:VAR} and ${VAR:-default} as Claude Code
// and VS Code do. ${input:…} and unknown variables stay as written.
func expandVars(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return varRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRe.FindStringSubmatch(m)
		if v, ok := lookup(sub[1]); ok {
			return v
		}
		if strings.Contains(m, ":-") {
			return sub[2]
		}
		return m
	})
}

func expandAll(in []string, lookup func(string) (string, bool)) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expandVars(s, lookup)
	}
	return out
}

// headerTransport adds the configured headers to every request.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	return t.base.RoundTrip(r)
}

func withHeaders(hc *http.Client, headers map[string]string, lookup func(string) (string, bool)) *http.Client {
	if len(headers) == 0 {
		return hc
	}
	h := make(map[string]string, len(headers))
	for k, v := range headers {
		h[k] = expandVars(v, lookup)
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c := *hc
	c.Transport = &headerTransport{base: base, headers: h}
	return &c
}

// statusRecorder remembers the first response status and challenge.
type statusRecorder struct {
	base   http.RoundTripper
	status int
	wwwA   string
}

func (t *statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil && t.status == 0 {
		t.status = resp.StatusCode
		t.wwwA = resp.Header.Get("WWW-Authenticate")
	}
	return resp, err
}

var resourceMetadataRe = regexp.MustCompile(`resource_metadata="([^"]{1,1000})"`)

// Probe checks a remote server's authentication posture: it sends
// initialize with no credentials at all (through the SDK, like any client),
// records the status and challenge, and looks for RFC 9728
// protected-resource metadata: the challenge's resource_metadata, then the
// path-specific and root well-known URLs.
func Probe(ctx context.Context, e Entry, opts *ConnectOptions) (*Posture, error) {
	o := withConnectDefaults(opts)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	raw := expandVars(e.URL, o.LookupEnv)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad server URL")
	}
	// Credentials in the URL itself would defeat the probe: strip them.
	bare := *u
	bare.User = nil
	bare.RawQuery = ""
	rec := &statusRecorder{base: o.HTTPClient.Transport}
	if rec.base == nil {
		rec.base = http.DefaultTransport
	}
	hc := *o.HTTPClient
	hc.Transport = rec
	var transport mcp.Transport
	if e.Transport == "sse" {
		transport = &mcp.SSEClientTransport{Endpoint: bare.String(), HTTPClient: &hc}
	} else {
		transport = &mcp.StreamableClientTransport{Endpoint: bare.String(), HTTPClient: &hc, MaxRetries: -1, DisableStandaloneSSE: true}
	}
	p := &Posture{}
	cs, cerr := mcp.NewClient(&mcp.Implementation{Name: o.ClientName, Version: o.ClientVersion}, nil).Connect(ctx, transport, nil)
	if cerr == nil {
		p.Unauthenticated = true
		cs.Close()
	}
	p.Status, p.WWWAuthenticate = rec.status, rec.wwwA
	if cerr != nil && rec.status == 0 {
		return p, fmt.Errorf("probing without credentials: %w", cerr)
	}
	var candidates []string
	if m := resourceMetadataRe.FindStringSubmatch(p.WWWAuthenticate); m != nil {
		candidates = append(candidates, m[1])
	}
	wk := url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/.well-known/oauth-protected-resource"}
	if path := strings.TrimSuffix(u.Path, "/"); path != "" {
		withPath := wk
		withPath.Path += path
		candidates = append(candidates, withPath.String())
	}
	candidates = append(candidates, wk.String())
	for _, c := range candidates {
		if servers, ok := fetchPRM(ctx, o.HTTPClient, c); ok {
			p.ResourceMetadata, p.AuthorizationServers = c, servers
			break
		}
	}
	return p, nil
}

func fetchPRM(ctx context.Context, hc *http.Client, u string) ([]string, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false
	}
	var doc struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil || doc.Resource == "" {
		return nil, false
	}
	return doc.AuthorizationServers, true
}
