package mcpx

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/jsonscan"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Forwarding: a tools/call to a Streamable HTTP server that negotiated
// 2026-07-28 (stateless: every request stands alone) can be sent as one
// plain JSON-RPC POST on the server's keep-alive connection pool, without
// the SDK's per-message machinery. The request carries MCPSoc's own
// client identity and no client capabilities in _meta, exactly as the SDK
// client would, plus the routing headers the revision requires. Admission
// (concurrency limit, circuit breaker, timeout, metrics) is the same as
// for SDK calls.

// ErrNoForward means a server cannot take forwarded calls; use CallTool.
var ErrNoForward = errors.New("server does not take forwarded calls")

// forwardPath is how to reach a stateless HTTP server directly.
type forwardPath struct {
	url    string
	client *http.Client
	raw    *rawClient      // plain-HTTP servers: see rawhttp.go
	meta   json.RawMessage // the _meta every forwarded request carries
}

// maxForwardResponse bounds a forwarded call's response body.
const maxForwardResponse = 16 << 20

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// CanForward reports whether calls to server can go through ForwardCall
// now: a Streamable HTTP server without OAuth, connected on 2026-07-28.
func (m *Manager) CanForward(server string) bool {
	c, ok := m.byName[server]
	return ok && c.fwd.Load() != nil
}

// ForwardCall calls tool on server with raw JSON arguments (an object) and
// returns the raw JSON result object. A JSON-RPC error from the server is
// returned as *jsonrpc.Error. It fails with ErrNoForward when the server
// cannot take forwarded calls (see CanForward).
func (m *Manager) ForwardCall(ctx context.Context, server, tool string, args json.RawMessage) (json.RawMessage, error) {
	c, ok := m.byName[server]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownServer, server)
	}
	if !c.hasTool(tool) {
		return nil, fmt.Errorf("%w %q on server %q", ErrUnknownTool, tool, server)
	}
	if c.fwd.Load() == nil {
		return nil, ErrNoForward
	}
	var out json.RawMessage
	// The raw path enforces the call timeout as its connection's deadline
	// (no timer context per call); the http.Client path derives one.
	opts := &CallOptions{connDeadline: true}
	err := c.do(ctx, "tools/call", opts, func(ctx context.Context, _ *mcp.ClientSession, _ any) error {
		fp := c.fwd.Load()
		if fp == nil {
			return ErrNoForward
		}
		if fp.raw == nil {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, opts.deadline)
			defer cancel()
		}
		r, err := fp.call(ctx, opts.deadline, tool, args)
		out = r
		return err
	})
	return out, err
}

func (fp *forwardPath) call(ctx context.Context, deadline time.Time, tool string, args json.RawMessage) (json.RawMessage, error) {
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	name, _ := json.Marshal(tool)
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	buf.WriteString(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":`)
	buf.Write(name)
	buf.WriteString(`,"arguments":`)
	buf.Write(args)
	buf.WriteString(`,"_meta":`)
	buf.Write(fp.meta)
	buf.WriteString(`}}`)
	var msg []byte
	var ct string
	var err error
	if fp.raw != nil {
		var body []byte
		body, ct, err = fp.raw.post(ctx, deadline, tool, buf.Bytes())
		if err != nil {
			return nil, err
		}
		if ct != "application/json" {
			ct, _, _ = mime.ParseMediaType(ct)
		}
		switch ct {
		case "application/json":
			msg = body
		case "text/event-stream":
			if msg, err = responseEvent(bytes.NewReader(body)); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("server answered with content type %q", ct)
		}
	} else if msg, err = fp.viaClient(ctx, tool, buf.Bytes()); err != nil {
		return nil, err
	}
	if len(msg) > maxForwardResponse {
		return nil, fmt.Errorf("response larger than %d bytes", maxForwardResponse)
	}
	id, result, rpcErr, err := responseParts(msg)
	if err != nil {
		return nil, err
	}
	switch {
	case rpcErr != nil:
		return nil, rpcErr
	case string(id) != "1" || len(result) == 0 || result[0] != '{':
		return nil, errors.New("malformed response to tools/call")
	}
	return result, nil
}

var responseNames = []string{"id", "result", "error"}

// responseParts splits a JSON-RPC response into its id, result and error
// in one pass, decoding only an error. A response that encoding/json might
// read differently (escaped or case-variant keys, repeated members) is
// decoded by encoding/json, so both read it the same way.
func responseParts(msg []byte) (id, result json.RawMessage, rpcErr *jsonrpc.Error, err error) {
	if !jsonscan.Valid(msg) {
		return nil, nil, nil, errors.New("decoding response: invalid JSON")
	}
	var vals [3][]byte
	ok, plain := jsonscan.Pick(msg, responseNames, vals[:])
	if !ok || !plain {
		var env struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *jsonrpc.Error  `json:"error"`
		}
		if err := json.Unmarshal(msg, &env); err != nil {
			return nil, nil, nil, fmt.Errorf("decoding response: %w", err)
		}
		return env.ID, env.Result, env.Error, nil
	}
	if e := vals[2]; e != nil && string(e) != "null" {
		rpcErr = new(jsonrpc.Error)
		if err := json.Unmarshal(e, rpcErr); err != nil {
			return nil, nil, nil, fmt.Errorf("decoding response: %w", err)
		}
	}
	return vals[0], vals[1], rpcErr, nil
}

func (fp *forwardPath) viaClient(ctx context.Context, tool string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fp.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	h := req.Header
	h["Content-Type"] = []string{"application/json"}
	h["Accept"] = []string{"application/json, text/event-stream"}
	h["Mcp-Protocol-Version"] = []string{statelessVersion}
	h["Mcp-Method"] = []string{"tools/call"}
	h["Mcp-Name"] = []string{tool}
	resp, err := fp.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	r := io.LimitReader(resp.Body, maxForwardResponse+1)
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(r, 512))
		_, _ = io.Copy(io.Discard, r)
		return nil, fmt.Errorf("server answered HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		return io.ReadAll(r)
	case "text/event-stream":
		return responseEvent(r)
	}
	return nil, fmt.Errorf("server answered with content type %q", ct)
}

// responseEvent reads an SSE stream up to the JSON-RPC response (a message
// with an id); notifications before it are skipped (a forwarded call asks
// for neither progress nor logs).
func responseEvent(r io.Reader) ([]byte, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxForwardResponse)
	var data []byte
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			if len(data) > 0 {
				var probe struct {
					ID json.RawMessage `json:"id"`
				}
				if json.Unmarshal(data, &probe) == nil && len(probe.ID) > 0 && string(probe.ID) != "null" {
					return data, nil
				}
				data = data[:0]
			}
		case bytes.HasPrefix(line, []byte("data:")):
			d := bytes.TrimPrefix(bytes.TrimPrefix(line, []byte("data:")), []byte(" "))
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, d...)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(data) > 0 {
		return data, nil
	}
	return nil, errors.New("event stream ended without a response")
}

// newForwardPath returns the forward path for a connected session, or nil
// when calls must go through the SDK.
func (c *conn) newForwardPath(t mcp.Transport, version string) *forwardPath {
	st, ok := t.(*mcp.StreamableClientTransport)
	if !ok || version < statelessVersion || (c.spec.Auth != nil && c.spec.Auth.OAuth != nil) {
		return nil
	}
	meta, err := json.Marshal(map[string]any{
		"io.modelcontextprotocol/protocolVersion":    version,
		"io.modelcontextprotocol/clientInfo":         map[string]string{"name": c.m.opts.ClientName, "version": c.m.opts.ClientVersion},
		"io.modelcontextprotocol/clientCapabilities": map[string]any{},
	})
	if err != nil {
		return nil
	}
	fp := &forwardPath{url: st.Endpoint, client: st.HTTPClient, meta: meta}
	var bearer config.Secret
	if c.spec.Auth != nil {
		bearer = c.spec.Auth.BearerToken
	}
	fp.raw = newRawClient(st.Endpoint, c.spec.Headers, bearer, max(c.spec.MaxConcurrency, config.DefaultMaxConcurrency))
	return fp
}
