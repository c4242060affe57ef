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
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
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
	dialer net.Dialer

	// Idle keep-alive connections, the most recently used last: taking the
	// last one reuses a connection answered moments ago, which needs no
	// peek (see peekAfter), and leaves the others to go idle for good.
	mu      sync.Mutex
	idle    []*rawConn
	maxIdle int
}

type rawConn struct {
	c    net.Conn
	sc   syscall.RawConn // c's, for the idle peek; nil if it has none
	br   *bufio.Reader
	idle time.Time // when it went back to the pool
}

// getIdle takes the most recently used idle connection, or nil.
func (rc *rawClient) getIdle() *rawConn {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := len(rc.idle)
	if n == 0 {
		return nil
	}
	c := rc.idle[n-1]
	rc.idle[n-1] = nil
	rc.idle = rc.idle[:n-1]
	return c
}

// putIdle returns a connection to the pool, or reports false when it is
// full.
func (rc *rawClient) putIdle(c *rawConn) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.idle) >= rc.maxIdle {
		return false
	}
	rc.idle = append(rc.idle, c)
	return true
}

// peekAfter is how long a connection must have been idle before it is
// checked for a close by the server (one system call). A server closes a
// kept-alive connection when it has been idle for its idle timeout or when
// it shuts down; one answered less than this long ago is taken as is, and
// if the server did close it, the call fails as it would had the close
// crossed the check (it is never sent twice).
const peekAfter = time.Millisecond

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
	return &rawClient{addr: host, prefix: b.Bytes(), maxIdle: pool, dialer: net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}}
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
// and its content type. The exchange must end by deadline (zero: no
// limit), or it fails with errCallTimedOut; cancelling ctx ends it too.
func (rc *rawClient) post(ctx context.Context, deadline time.Time, name string, body []byte) ([]byte, string, error) {
	if !validHeader("Mcp-Name", name) {
		return nil, "", errors.New("tool name not allowed in a header")
	}
	// An idle connection the server has closed is dropped before use.
	// A call is sent again only when it was not completely written: once
	// the server may have read it, a tools/call is not repeated (it may
	// not be idempotent), the caller gets the error instead.
	var conn *rawConn
	for conn == nil {
		c := rc.getIdle()
		if c == nil {
			var err error
			if conn, err = rc.dial(ctx, deadline); err != nil {
				return nil, "", err
			}
			break
		}
		// The deadline goes on first: the peek must not trip over the
		// previous call's.
		if c.c.SetDeadline(deadline) == nil && c.br.Buffered() == 0 && (time.Since(c.idle) < peekAfter || c.open()) {
			conn = c
		} else {
			c.c.Close()
		}
	}
	out, ct, reuse, sent, err := rc.exchange(ctx, conn, name, body)
	if err != nil && !sent && ctx.Err() == nil {
		conn.c.Close()
		c, derr := rc.dial(ctx, deadline)
		if derr != nil {
			return nil, "", derr
		}
		conn = c
		out, ct, reuse, _, err = rc.exchange(ctx, conn, name, body)
	}
	if reuse && err == nil {
		conn.idle = time.Now()
		if rc.putIdle(conn) {
			return out, ct, nil
		}
	}
	conn.c.Close()
	return out, ct, err
}

// dial opens a connection with the call's deadline set.
func (rc *rawClient) dial(ctx context.Context, deadline time.Time) (*rawConn, error) {
	d := rc.dialer
	if !deadline.IsZero() {
		d.Deadline = deadline
	}
	c, err := d.DialContext(ctx, "tcp", rc.addr)
	if err != nil {
		if ctx.Err() == nil && !deadline.IsZero() && !time.Now().Before(deadline) {
			return nil, errCallTimedOut
		}
		return nil, err
	}
	if err := c.SetDeadline(deadline); err != nil {
		c.Close()
		return nil, err
	}
	rconn := &rawConn{c: c, br: bufio.NewReaderSize(c, 16<<10)}
	if sc, ok := c.(syscall.Conn); ok {
		rconn.sc, _ = sc.SyscallConn()
	}
	return rconn, nil
}

// errCallTimedOut is a forwarded call that ran past its deadline.
var errCallTimedOut = fmt.Errorf("call timed out: %w", context.DeadlineExceeded)

// exchange writes one request and reads its response. sent reports that
// the request was written whole, so the server may have acted on it.
func (rc *rawClient) exchange(ctx context.Context, conn *rawConn, name string, body []byte) (out []byte, ct string, reuse, sent bool, err error) {
	// The call's timeout is the connection's deadline (set by post), and
	// cancellation puts that deadline in the past; either unblocks reads
	// and writes, and such a connection is not used again (a timed-out
	// exchange fails, and failed exchanges are not reused).
	stop := context.AfterFunc(ctx, func() { conn.c.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() {
			reuse = false
		}
	}()
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
	resp, err := readResponse(conn.br)
	if err != nil {
		return nil, "", false, true, ctxErr(ctx, err)
	}
	if resp.status != http.StatusOK {
		return nil, "", !resp.close, true, fmt.Errorf("server answered HTTP %d: %s", resp.status, bytes.TrimSpace(resp.body[:min(len(resp.body), 512)]))
	}
	return resp.body, resp.contentType, !resp.close, true, nil
}

// rawResponse is what the forwarding path needs of an HTTP response.
type rawResponse struct {
	status      int
	contentType string
	body        []byte
	close       bool // the server will not take another request on the connection
}

// maxResponseHeader bounds the status line and header fields of a response.
const maxResponseHeader = 64 << 10

var errMalformedResponse = errors.New("malformed HTTP response")

// readResponse reads one HTTP/1.x response to a POST, body included:
// informational (1xx) responses are skipped, the body is delimited by
// Content-Length, chunked transfer coding or, without either, the end of
// the connection, and is at most maxForwardResponse bytes. It reads only
// what it needs from the header (status, Content-Type, Content-Length,
// Transfer-Encoding, Connection), without building a header map.
func readResponse(br *bufio.Reader) (*rawResponse, error) {
	for {
		resp, err := readResponseHead(br)
		if err != nil {
			return nil, err
		}
		if resp.status >= 200 {
			return resp, nil
		}
	}
}

// readResponseHead reads the status line, the header and the body.
func readResponseHead(br *bufio.Reader) (*rawResponse, error) {
	budget := maxResponseHeader
	line, err := readLine(br, &budget)
	if err != nil {
		return nil, err
	}
	// HTTP/1.1 200 OK
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return nil, fmt.Errorf("%w: status line %q", errMalformedResponse, line[:min(len(line), 64)])
	}
	http10 := line[7] == '0'
	status := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("%w: status line %q", errMalformedResponse, line[:min(len(line), 64)])
		}
		status = status*10 + int(c-'0')
	}
	resp := &rawResponse{status: status, close: http10}
	length, chunked, haveLength := int64(-1), false, false
	for {
		line, err := readLine(br, &budget)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(k) == 0 || k[len(k)-1] == ' ' || k[len(k)-1] == '\t' || line[0] == ' ' || line[0] == '\t' {
			// Folded lines and spaces before the colon are refused
			// (RFC 9112 section 5).
			return nil, fmt.Errorf("%w: header line %q", errMalformedResponse, line[:min(len(line), 64)])
		}
		v = bytes.TrimSpace(v)
		switch {
		case asciiEqualFold(k, "Content-Length"):
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 || (haveLength && n != length) {
				return nil, fmt.Errorf("%w: Content-Length %q", errMalformedResponse, v)
			}
			length, haveLength = n, true
		case asciiEqualFold(k, "Transfer-Encoding"):
			if !asciiEqualFold(v, "chunked") || chunked {
				return nil, fmt.Errorf("%w: unsupported Transfer-Encoding %q", errMalformedResponse, v)
			}
			chunked = true
		case asciiEqualFold(k, "Connection"):
			for _, t := range bytes.Split(v, []byte{','}) {
				switch t = bytes.TrimSpace(t); {
				case asciiEqualFold(t, "close"):
					resp.close = true
				case asciiEqualFold(t, "keep-alive") && http10:
					resp.close = false
				}
			}
		case asciiEqualFold(k, "Content-Type"):
			if string(v) == "application/json" {
				resp.contentType = "application/json" // no copy for the usual value
			} else {
				resp.contentType = string(v)
			}
		}
	}
	switch {
	case status < 200 || status == http.StatusNoContent || status == http.StatusNotModified:
		return resp, nil // no body
	case chunked:
		// A message with both is refused (RFC 9112 section 6.3).
		if haveLength {
			return nil, fmt.Errorf("%w: both Content-Length and chunked", errMalformedResponse)
		}
		resp.body, err = readAllLimited(httputil.NewChunkedReader(br))
		if err == nil {
			// The trailer section, usually empty.
			for {
				line, lerr := readLine(br, &budget)
				if lerr != nil {
					return nil, lerr
				}
				if len(line) == 0 {
					break
				}
			}
		}
	case haveLength:
		if length > maxForwardResponse {
			return nil, fmt.Errorf("response larger than %d bytes", maxForwardResponse)
		}
		if length <= 64<<10 {
			resp.body = make([]byte, length)
			_, err = io.ReadFull(br, resp.body)
		} else {
			// Grow with what arrives rather than trusting a large length.
			resp.body, err = io.ReadAll(io.LimitReader(br, length))
			if err == nil && int64(len(resp.body)) < length {
				err = io.ErrUnexpectedEOF
			}
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	default:
		resp.close = true
		resp.body, err = readAllLimited(br)
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func readAllLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxForwardResponse+1))
	if err == nil && len(b) > maxForwardResponse {
		err = fmt.Errorf("response larger than %d bytes", maxForwardResponse)
	}
	return b, err
}

// readLine returns one line without its CRLF (or bare LF), counting it
// against the header budget.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*budget -= len(line)
	if *budget < 0 || err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("%w: header too large", errMalformedResponse)
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errCallTimedOut
	}
	return err
}

// close drops the idle connections.
func (rc *rawClient) close() {
	rc.mu.Lock()
	idle := rc.idle
	rc.idle = nil
	rc.mu.Unlock()
	for _, c := range idle {
		c.c.Close()
	}
}
