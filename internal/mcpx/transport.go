package mcpx

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// inheritedEnv are the only variables a stdio server gets from our own
// environment; everything else must be declared in its config entry, so a
// server never sees the SOC's credentials by accident.
var inheritedEnv = []string{"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "USER", "SYSTEMROOT"}

// stdioCommand builds the process for a stdio server entry.
func stdioCommand(spec config.MCPServer, stderr io.Writer) *exec.Cmd {
	cmd := exec.Command(spec.Command, spec.Args...)
	cmd.Dir = spec.Cwd
	env := make([]string, 0, len(inheritedEnv)+len(spec.Env))
	for _, k := range inheritedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+spec.Env[k].Value())
	}
	cmd.Env = env
	cmd.Stderr = stderr
	setProcessGroup(cmd)
	return cmd
}

// stderrLogger returns a writer that logs each line a server writes to its
// standard error under the server's name. Lines are capped at 4 KiB.
func stderrLogger(log *slog.Logger) (io.WriteCloser, func()) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 0, 4096), 64<<10)
		for sc.Scan() {
			line := sc.Text()
			if len(line) > 4096 {
				line = line[:4096] + "…"
			}
			log.Info("server stderr", "line", line)
		}
		// Drain whatever remains (an over-long line) so the child never blocks.
		_, _ = io.Copy(io.Discard, pr)
	}()
	return pw, func() { <-done }
}

// headerTransport adds configured headers and a bearer token to every
// request of a remote server. Values are secrets and never logged.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]config.Secret
	bearer  config.Secret
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(t.headers) == 0 && !t.bearer.IsSet() {
		return t.base.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	for k, v := range t.headers {
		r.Header.Set(k, v.Value())
	}
	if t.bearer.IsSet() {
		r.Header.Set("Authorization", "Bearer "+t.bearer.Value())
	}
	return t.base.RoundTrip(r)
}

// httpTransport builds the Streamable HTTP client transport for an entry.
func httpTransport(spec config.MCPServer, fetch auth.AuthorizationCodeFetcher) (*mcp.StreamableClientTransport, error) {
	// Each remote server gets its own connection pool, sized to the calls
	// it may have in flight: the default transport keeps two idle
	// connections per host, so concurrent calls would keep dialing.
	pool := http.DefaultTransport.(*http.Transport).Clone()
	pool.MaxIdleConnsPerHost = max(spec.MaxConcurrency, config.DefaultMaxConcurrency) + 2
	pool.MaxIdleConns = pool.MaxIdleConnsPerHost
	ht := &headerTransport{base: pool, headers: spec.Headers}
	if spec.Auth != nil {
		ht.bearer = spec.Auth.BearerToken
	}
	client := &http.Client{Transport: ht}
	t := &mcp.StreamableClientTransport{Endpoint: spec.URL, HTTPClient: client, MaxRetries: 2}
	if spec.Auth != nil && spec.Auth.OAuth != nil {
		h, err := oauthHandler(spec.Auth.OAuth, client, fetch)
		if err != nil {
			return nil, err
		}
		t.OAuthHandler = h
	}
	return t, nil
}

// DefaultRedirectURL is where the authorization server sends the browser
// back when a server entry names none; the manager listens there during an
// authorization.
const DefaultRedirectURL = "http://127.0.0.1:33418/oauth/callback"

func oauthHandler(o *config.OAuth, client *http.Client, fetch auth.AuthorizationCodeFetcher) (auth.OAuthHandler, error) {
	redirect := o.RedirectURL
	if redirect == "" {
		redirect = DefaultRedirectURL
	}
	if fetch == nil {
		fetch = loopbackCodeFetcher(redirect)
	}
	cfg := &auth.AuthorizationCodeHandlerConfig{
		RedirectURL:              redirect,
		AuthorizationCodeFetcher: fetch,
		Client:                   client,
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{
				ClientName:   "MCPSoc",
				RedirectURIs: []string{redirect},
			},
		},
	}
	if o.ClientMetadataURL != "" {
		cfg.ClientIDMetadataDocumentConfig = &auth.ClientIDMetadataDocumentConfig{URL: o.ClientMetadataURL}
	}
	if o.ClientID != "" {
		creds := &oauthex.ClientCredentials{ClientID: o.ClientID}
		if o.ClientSecret.IsSet() {
			creds.ClientSecretAuth = &oauthex.ClientSecretAuth{ClientSecret: o.ClientSecret.Value()}
		}
		cfg.PreregisteredClient = creds
	}
	if len(o.Scopes) > 0 {
		want := o.Scopes
		cfg.ScopeFilter = func([]string) []string { return want }
	}
	h, err := auth.NewAuthorizationCodeHandler(cfg)
	if err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	return h, nil
}

// loopbackCodeFetcher completes an authorization-code flow for an operator:
// it logs the authorization URL to open in a browser and waits, up to five
// minutes, for the redirect on the loopback callback address.
func loopbackCodeFetcher(redirect string) auth.AuthorizationCodeFetcher {
	return func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		return waitForRedirect(ctx, redirect, args.URL, 5*time.Minute)
	}
}
