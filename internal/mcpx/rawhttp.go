package mcpx

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
)

// rawClient sends forwarded calls to a plain-HTTP server on its own
// keep-alive connections: the request is written in one piece and the
// response read with http.ReadResponse on the calling goroutine, without
// the per-request goroutine hand-offs of http.Transport. HTTPS servers use
// the http.Client path instead.
type rawClient struct {
	addr   string // host:port
	prefix []byte // request line and fixed headers, up to Content-Length
	idle   chan *rawConn
	dialer net.Dialer
}

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

// newRawClient prepares a client for an http:// URL with the static headers
// (secrets) of the server entry, or returns nil for other URLs.
func newRawClient(u string, headers map[string]config.Secret, bearer config.Secret, pool int) *rawClient {
	pu, err := url.Parse(u)
	if err != nil || pu.Scheme != "http" || pu.User != nil || pu.Host == "" {
		return nil
	}
	host := pu.Host
	if pu.Port() == "" {
		host = net.JoinHostPort(pu.Hostname(), "80")
	}
	path := pu.RequestURI()
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: mcpsoc-gateway\r\n", path, pu.Host)
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := headers[k].Value()
		if !validHeader(k, v) {
			return nil
		}
		fmt.Fprintf(&b, "%s: %s\r\n", http.CanonicalHeaderKey(k), v)
	}
	if bearer.IsSet() {
		if !validHeader("Authorization", bearer.Value()) {
			return nil
		}
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", bearer.Value())
	}
	b.WriteString("Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n")
	b.WriteString("Mcp-Protocol-Version: " + statelessVersion + "\r\nMcp-Method: tools/call\r\n")
	return &rawClient{addr: host, prefix: b.Bytes(), idle: make(chan *rawConn, pool), dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}}
}

func validHeader(k, v string) bool {
	for _, c := range k + v {
		if c == '\r' || c == '\n' || c == 0 {
			return false
		}
	}
	return k != ""
}

// post sends one request with Mcp-Name name and returns the response body
// and its content type.
func (rc *rawClient) post(ctx context.Context, name string, body []byte) ([]byte, string, error) {
	if !validHeader("Mcp-Name", name) {
		return nil, "", errors.New("tool name not allowed in a header")
	}
	// An idle connection the server has closed is dropped before use.
	// A call is sent again only when it was not completely written: once
	// the server may have read it, a tools/call is not repeated (it may
	// not be idempotent), the caller gets the error instead.
	var conn *rawConn
	for conn == nil {
		select {
		case c := <-rc.idle:
			if c.open() {
				conn = c
			} else {
				c.c.Close()
			}
		default:
			c, err := rc.dialer.DialContext(ctx, "tcp", rc.addr)
			if err != nil {
				return nil, "", err
			}
			conn = &rawConn{c: c, br: bufio.NewReaderSize(c, 16<<10)}
		}
	}
	out, ct, reuse, sent, err := rc.exchange(ctx, conn, name, body)
	if err != nil && !sent && ctx.Err() == nil {
		conn.c.Close()
		c, derr := rc.dialer.DialContext(ctx, "tcp", rc.addr)
		if derr != nil {
			return nil, "", derr
		}
		conn = &rawConn{c: c, br: bufio.NewReaderSize(c, 16<<10)}
		out, ct, reuse, _, err = rc.exchange(ctx, conn, name, body)
	}
	if reuse && err == nil {
		select {
		case rc.idle <- conn:
			return out, ct, nil
		default:
		}
	}
	conn.c.Close()
	return out, ct, err
}

// exchange writes one request and reads its response. sent reports that
// the request was written whole, so the server may have acted on it.
func (rc *rawClient) exchange(ctx context.Context, conn *rawConn, name string, body []byte) (out []byte, ct string, reuse, sent bool, err error) {
	// Cancellation closes the connection, which unblocks reads and writes.
	stop := context.AfterFunc(ctx, func() { conn.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		conn.c.SetDeadline(d)
	} else {
		conn.c.SetDeadline(time.Time{})
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	buf.Write(rc.prefix)
	buf.WriteString("Mcp-Name: ")
	buf.WriteString(name)
	buf.WriteString("\r\nContent-Length: ")
	buf.WriteString(strconv.Itoa(len(body)))
	buf.WriteString("\r\n\r\n")
	buf.Write(body)
	if _, err := conn.c.Write(buf.Bytes()); err != nil {
		return nil, "", false, false, ctxErr(ctx, err)
	}
	resp, err := http.ReadResponse(conn.br, nil)
	if err != nil {
		return nil, "", false, true, ctxErr(ctx, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardResponse+1))
	if err != nil {
		return nil, "", false, true, ctxErr(ctx, err)
	}
	if len(b) > maxForwardResponse {
		return nil, "", false, true, fmt.Errorf("response larger than %d bytes", maxForwardResponse)
	}
	reuse = !resp.Close
	if resp.StatusCode != http.StatusOK {
		return nil, "", reuse, true, fmt.Errorf("server answered HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b[:min(len(b), 512)]))
	}
	return b, resp.Header.Get("Content-Type"), reuse, true, nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// close drops the idle connections.
func (rc *rawClient) close() {
	for {
		select {
		case c := <-rc.idle:
			c.c.Close()
		default:
			return
		}
	}
}
