package mcpx

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
)

// waitForRedirect listens on the redirect URL's loopback address until the
// browser arrives with the authorization code, or the wait times out.
func waitForRedirect(ctx context.Context, redirect, authURL string, wait time.Duration) (*auth.AuthorizationResult, error) {
	u, err := url.Parse(redirect)
	if err != nil {
		return nil, fmt.Errorf("redirect URL: %w", err)
	}
	if !isLoopbackName(u.Hostname()) {
		return nil, fmt.Errorf("redirect URL %s is not loopback: cannot receive the authorization code here", redirect)
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("listening for the OAuth redirect: %w", err)
	}
	got := make(chan *auth.AuthorizationResult, 1)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != u.Path {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if e := q.Get("error"); e != "" {
			fmt.Fprintf(w, "Authorization failed: %s. You can close this window.", html.EscapeString(e))
			got <- nil
			return
		}
		fmt.Fprint(w, "MCPSoc is authorized. You can close this window.")
		select {
		case got <- &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	slog.Default().Warn("MCP server requires authorization: open this URL in a browser", "url", authURL)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case r := <-got:
		if r == nil {
			return nil, errors.New("authorization was refused")
		}
		return r, nil
	case <-t.C:
		return nil, errors.New("timed out waiting for the OAuth redirect")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
