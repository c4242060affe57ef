package av

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNotConfigured is returned by every clamd operation of a server started
// without a clamd address.
var ErrNotConfigured = errors.New("clamd is not configured: start the server with --clamd unix:/path/to/clamd.sock or --clamd tcp:host:3310 (servers.av.clamd in the YAML config)")

// UnreachableError reports that clamd could not be reached or dropped the
// connection before answering.
type UnreachableError struct {
	Addr string
	Err  error
}

func (e *UnreachableError) Error() string {
	hint := ""
	switch {
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		hint = " (connection refused: is clamd running?)"
	case errors.Is(e.Err, syscall.ENOENT):
		hint = " (no socket file: is clamd running and is LocalSocket this path?)"
	case errors.Is(e.Err, syscall.EACCES):
		hint = " (permission denied on the socket)"
	case errors.Is(e.Err, context.DeadlineExceeded), isTimeout(e.Err):
		hint = " (timed out)"
	}
	return fmt.Sprintf("clamd at %s is not reachable: %v%s", e.Addr, e.Err, hint)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// ProtocolError reports a reply that is not what the clamd protocol says
// the command answers.
type ProtocolError struct {
	Command string
	Reply   string
}

func (e *ProtocolError) Error() string {
	r := e.Reply
	if len(r) > 200 {
		r = r[:200] + "…"
	}
	return fmt.Sprintf("unexpected reply from clamd to %s: %q", e.Command, r)
}

// ErrStreamTooLarge is returned when clamd closes an INSTREAM session
// because the data exceeds its StreamMaxLength.
var ErrStreamTooLarge = errors.New("clamd refused the data: it exceeds clamd's StreamMaxLength (raise StreamMaxLength in clamd.conf or scan a smaller file)")

// ScanError is an ERROR reply to a scan: clamd received the request but
// could not scan (unreadable file, limits, internal error).
type ScanError struct{ Msg string }

func (e *ScanError) Error() string { return "clamd could not scan: " + e.Msg }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Clamd is a client of clamd's socket protocol. Each call opens its own
// connection (clamd serves one command per connection unless IDSESSION is
// used, which buys nothing for our call rates), so a Clamd is safe for
// concurrent use.
type Clamd struct {
	network, address string
	// DialTimeout bounds connecting; Timeout bounds a whole command,
	// including the scan itself. Zero values mean 5 s and 2 min (clamd's
	// own default MaxScanTime is 120 s).
	DialTimeout time.Duration
	Timeout     time.Duration
	// ChunkSize is the INSTREAM chunk size; 0 means 64 KiB.
	ChunkSize int
}

// ParseAddress parses "unix:/path", "tcp:host:port", a bare absolute path
// (a Unix socket) or a bare host:port.
func ParseAddress(s string) (network, address string, err error) {
	switch {
	case s == "":
		return "", "", errors.New("empty clamd address")
	case strings.HasPrefix(s, "unix:"):
		network, address = "unix", strings.TrimPrefix(s, "unix:")
		if address == "" {
			return "", "", fmt.Errorf("clamd address %q: empty socket path", s)
		}
	case strings.HasPrefix(s, "tcp:"):
		network, address = "tcp", strings.TrimPrefix(s, "tcp:")
	case strings.HasPrefix(s, "/"):
		network, address = "unix", s
	default:
		network, address = "tcp", s
	}
	if network == "tcp" {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return "", "", fmt.Errorf("clamd address %q: want unix:/path or tcp:host:port: %w", s, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 || host == "" {
			return "", "", fmt.Errorf("clamd address %q: want tcp:host:port with a port in 1-65535", s)
		}
	}
	return network, address, nil
}

// NewClamd returns a client for addr (see ParseAddress).
func NewClamd(addr string) (*Clamd, error) {
	network, address, err := ParseAddress(addr)
	if err != nil {
		return nil, err
	}
	return &Clamd{network: network, address: address}, nil
}

// Addr returns the address in "unix:/path" or "tcp:host:port" form.
func (c *Clamd) Addr() string { return c.network + ":" + c.address }

func (c *Clamd) dial(ctx context.Context) (net.Conn, error) {
	dt := c.DialTimeout
	if dt <= 0 {
		dt = 5 * time.Second
	}
	d := net.Dialer{Timeout: dt}
	conn, err := d.DialContext(ctx, c.network, c.address)
	if err != nil {
		return nil, &UnreachableError{Addr: c.Addr(), Err: err}
	}
	to := c.Timeout
	if to <= 0 {
		to = 2 * time.Minute
	}
	deadline := time.Now().Add(to)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	return conn, nil
}

// roundTrip sends a z-command, optionally streams body with INSTREAM
// framing, and reads the NUL-terminated replies until clamd closes the
// connection. Cancelling ctx closes the connection.
func (c *Clamd) roundTrip(ctx context.Context, cmd string, body io.Reader) ([]string, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	if _, err := conn.Write([]byte("z" + cmd + "\x00")); err != nil {
		return nil, c.ioErr(ctx, err)
	}
	var sendErr error
	if body != nil {
		sendErr = c.stream(conn, body)
		var se *sourceError
		if errors.As(sendErr, &se) {
			return nil, se.err
		}
	}
	// Read even after a failed send: clamd answers "INSTREAM size limit
	// exceeded" and then closes, which the writer sees as EPIPE/ECONNRESET.
	data, rerr := io.ReadAll(conn)
	if len(data) == 0 {
		if sendErr != nil {
			return nil, c.ioErr(ctx, sendErr)
		}
		if rerr != nil {
			return nil, c.ioErr(ctx, rerr)
		}
		return nil, &UnreachableError{Addr: c.Addr(), Err: fmt.Errorf("connection closed without a reply to %s", cmd)}
	}
	if rerr != nil && !errors.Is(rerr, syscall.ECONNRESET) {
		return nil, c.ioErr(ctx, rerr)
	}
	data = bytes.TrimRight(data, "\x00\n")
	var out []string
	for _, r := range bytes.Split(data, []byte{0}) {
		out = append(out, string(r))
	}
	if len(out) == 1 && strings.HasPrefix(out[0], "INSTREAM size limit exceeded") {
		return nil, ErrStreamTooLarge
	}
	if len(out) == 1 && out[0] == "UNKNOWN COMMAND" {
		return nil, &ProtocolError{Command: cmd, Reply: out[0]}
	}
	return out, nil
}

func (c *Clamd) ioErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("clamd %s: %w", c.Addr(), ctx.Err())
	}
	return &UnreachableError{Addr: c.Addr(), Err: err}
}

// sourceError marks a failure reading the data to scan, as opposed to a
// failure talking to clamd.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }

func (c *Clamd) stream(w io.Writer, r io.Reader) error {
	size := c.ChunkSize
	if size <= 0 {
		size = 64 << 10
	}
	buf := make([]byte, 4+size)
	for {
		n, err := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf[:4], uint32(n))
			if _, werr := w.Write(buf[:4+n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return &sourceError{fmt.Errorf("reading the data to scan: %w", err)}
		}
	}
	_, err := w.Write([]byte{0, 0, 0, 0})
	return err
}

func (c *Clamd) single(ctx context.Context, cmd string) (string, error) {
	out, err := c.roundTrip(ctx, cmd, nil)
	if err != nil {
		return "", err
	}
	if len(out) != 1 {
		return "", &ProtocolError{Command: cmd, Reply: strings.Join(out, "\\0")}
	}
	return out[0], nil
}

// Ping sends PING and expects PONG.
func (c *Clamd) Ping(ctx context.Context) error {
	r, err := c.single(ctx, "PING")
	if err != nil {
		return err
	}
	if r != "PONG" {
		return &ProtocolError{Command: "PING", Reply: r}
	}
	return nil
}

// VersionInfo is clamd's VERSION reply, parsed.
type VersionInfo struct {
	Raw string `json:"raw" jsonschema:"the reply as clamd sent it"`
	// Engine is the ClamAV version ("1.4.6").
	Engine string `json:"engine" jsonschema:"ClamAV engine version"`
	// Database is the signature database version, 0 when clamd has no
	// official database (a locally built one).
	Database int `json:"database,omitempty" jsonschema:"official signature database version (absent with local databases only)"`
	// DatabaseTime is the database build time as clamd prints it.
	DatabaseTime string `json:"database_time,omitempty" jsonschema:"build time of the official database"`
}

// Version sends VERSION: "ClamAV 1.4.6" or "ClamAV 1.4.6/27000/Thu Nov 20 09:30:00 2026".
func (c *Clamd) Version(ctx context.Context) (VersionInfo, error) {
	r, err := c.single(ctx, "VERSION")
	if err != nil {
		return VersionInfo{}, err
	}
	rest, ok := strings.CutPrefix(r, "ClamAV ")
	if !ok {
		return VersionInfo{}, &ProtocolError{Command: "VERSION", Reply: r}
	}
	v := VersionInfo{Raw: r}
	parts := strings.SplitN(rest, "/", 3)
	v.Engine = parts[0]
	if len(parts) > 1 {
		n, err := strconv.Atoi(parts[1])
		if err != nil {
			return VersionInfo{}, &ProtocolError{Command: "VERSION", Reply: r}
		}
		v.Database = n
	}
	if len(parts) > 2 {
		v.DatabaseTime = parts[2]
	}
	return v, nil
}

// Stats is clamd's STATS reply with the numbers parsed.
type Stats struct {
	Pools       int               `json:"pools" jsonschema:"number of thread pools"`
	State       string            `json:"state" jsonschema:"pool state (VALID PRIMARY when serving)"`
	ThreadsLive int               `json:"threads_live" jsonschema:"threads currently scanning"`
	ThreadsIdle int               `json:"threads_idle" jsonschema:"idle threads"`
	ThreadsMax  int               `json:"threads_max" jsonschema:"MaxThreads"`
	IdleTimeout int               `json:"idle_timeout_seconds" jsonschema:"idle thread timeout in seconds"`
	QueueItems  int               `json:"queue_items" jsonschema:"requests waiting for a thread"`
	MemStats    map[string]string `json:"memstats,omitempty" jsonschema:"MEMSTATS fields as clamd prints them (N/A on glibc without mallinfo)"`
	Raw         string            `json:"raw" jsonschema:"the reply as clamd sent it"`
}

// Stats sends STATS and parses the pool, thread and queue counters.
func (c *Clamd) Stats(ctx context.Context) (Stats, error) {
	out, err := c.roundTrip(ctx, "STATS", nil)
	if err != nil {
		return Stats{}, err
	}
	raw := strings.Join(out, "\n")
	s, err := parseStats(raw)
	if err != nil {
		return Stats{}, err
	}
	return s, nil
}

func parseStats(raw string) (Stats, error) {
	s := Stats{Raw: raw}
	var sawPools, sawEnd bool
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		key, val, _ := strings.Cut(line, ":")
		val = strings.TrimSpace(val)
		f := strings.Fields(val)
		switch key {
		case "POOLS":
			n, err := strconv.Atoi(val)
			if err != nil {
				return Stats{}, &ProtocolError{Command: "STATS", Reply: raw}
			}
			s.Pools, sawPools = n, true
		case "STATE":
			s.State = val
		case "THREADS":
			// "live 1  idle 0 max 10 idle-timeout 30"
			for i := 0; i+1 < len(f); i += 2 {
				n, err := strconv.Atoi(f[i+1])
				if err != nil {
					continue
				}
				switch f[i] {
				case "live":
					s.ThreadsLive = n
				case "idle":
					s.ThreadsIdle = n
				case "max":
					s.ThreadsMax = n
				case "idle-timeout":
					s.IdleTimeout = n
				}
			}
		case "QUEUE":
			if len(f) > 0 {
				s.QueueItems, _ = strconv.Atoi(f[0])
			}
		case "MEMSTATS":
			s.MemStats = map[string]string{}
			for i := 0; i+1 < len(f); i += 2 {
				s.MemStats[f[i]] = f[i+1]
			}
		case "END":
			sawEnd = true
		}
	}
	if !sawPools || !sawEnd {
		return Stats{}, &ProtocolError{Command: "STATS", Reply: raw}
	}
	return s, nil
}

// Verdict is the outcome of scanning one stream or file.
type Verdict struct {
	Infected  bool
	Signature string
}

// parseVerdict reads "name: OK", "name: Sig FOUND" or "name: reason ERROR".
func parseVerdict(cmd, reply string) (Verdict, error) {
	i := strings.LastIndex(reply, ": ")
	if i < 0 {
		return Verdict{}, &ProtocolError{Command: cmd, Reply: reply}
	}
	res := reply[i+2:]
	switch {
	case res == "OK":
		return Verdict{}, nil
	case strings.HasSuffix(res, " FOUND"):
		sig := strings.TrimSuffix(res, " FOUND")
		if sig == "" {
			return Verdict{}, &ProtocolError{Command: cmd, Reply: reply}
		}
		return Verdict{Infected: true, Signature: sig}, nil
	case strings.HasSuffix(res, " ERROR"):
		return Verdict{}, &ScanError{Msg: strings.TrimSuffix(res, " ERROR")}
	}
	return Verdict{}, &ProtocolError{Command: cmd, Reply: reply}
}

// Instream scans the data read from r with INSTREAM. The caller bounds the
// size; clamd closes the session past its StreamMaxLength
// (ErrStreamTooLarge).
func (c *Clamd) Instream(ctx context.Context, r io.Reader) (Verdict, error) {
	out, err := c.roundTrip(ctx, "INSTREAM", r)
	if err != nil {
		return Verdict{}, err
	}
	if len(out) != 1 || !strings.HasPrefix(out[0], "stream: ") {
		return Verdict{}, &ProtocolError{Command: "INSTREAM", Reply: strings.Join(out, "\\0")}
	}
	return parseVerdict("INSTREAM", out[0])
}
