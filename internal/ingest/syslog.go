package ingest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

// Syslog is one syslog listener. Create it with ListenSyslog and run it
// with Serve.
type Syslog struct {
	cfg config.SyslogSource
	p   *Pipeline
	src Source
	log *slog.Logger

	udp net.PacketConn
	tcp net.Listener
}

// ListenSyslog binds the listener described by cfg.
func (p *Pipeline) ListenSyslog(cfg config.SyslogSource) (*Syslog, error) {
	s := &Syslog{cfg: cfg, p: p, src: Source{Kind: "syslog", Name: cfg.Name}}
	s.log = p.log.With("source", s.src.ID())
	if _, err := parse.New(cfg.Format, nil); err != nil {
		return nil, err
	}
	var err error
	switch cfg.Protocol {
	case "udp":
		s.udp, err = net.ListenPacket("udp", cfg.Listen)
	case "tcp":
		s.tcp, err = net.Listen("tcp", cfg.Listen)
		if err == nil && cfg.TLS.Enabled() {
			var tc *tls.Config
			if tc, err = tlsConfig(cfg); err != nil {
				s.tcp.Close()
				return nil, err
			}
			s.tcp = tls.NewListener(s.tcp, tc)
		}
	default:
		return nil, fmt.Errorf("syslog %s: unknown protocol %q", cfg.Name, cfg.Protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("syslog %s: %w", cfg.Name, err)
	}
	return s, nil
}

func tlsConfig(cfg config.SyslogSource) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("syslog %s: tls: %w", cfg.Name, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("syslog %s: client CA: %w", cfg.Name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("syslog %s: no certificate in %s", cfg.Name, cfg.ClientCAFile)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// Addr is the bound address.
func (s *Syslog) Addr() net.Addr {
	if s.udp != nil {
		return s.udp.LocalAddr()
	}
	return s.tcp.Addr()
}

// Serve receives until ctx is done.
func (s *Syslog) Serve(ctx context.Context) error {
	s.log.Info("syslog listening", "protocol", s.cfg.Protocol, "addr", s.Addr().String(), "format", s.cfg.Format)
	stop := context.AfterFunc(ctx, func() {
		if s.udp != nil {
			s.udp.Close()
		} else {
			s.tcp.Close()
		}
	})
	defer stop()
	if s.udp != nil {
		return s.serveUDP(ctx)
	}
	return s.serveTCP(ctx)
}

// serveUDP batches datagrams: a batch is published when it is full or
// when no datagram arrived for a moment.
func (s *Syslog) serveUDP(ctx context.Context) error {
	norm, _ := parse.New(s.cfg.Format, s.p.parseConfig(s.src))
	b := s.p.NewBatch(s.src)
	prefix := nonce()
	var seq int64
	buf := make([]byte, 65536)
	ev := new(event.Event) // reused: Add encodes it at once
	for {
		deadline := time.Time{}
		if b.Len() > 0 {
			deadline = time.Now().Add(20 * time.Millisecond)
		}
		_ = s.udp.SetReadDeadline(deadline)
		n, _, err := s.udp.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.flush(ctx, b)
				continue
			}
			s.flush(context.WithoutCancel(ctx), b)
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("syslog %s: %w", s.cfg.Name, err)
		}
		norm.ParseInto(ev, trimRecord(buf[:n]))
		b.Add(ev, store.RecordID(seq, s.src.ID(), prefix))
		seq++
		if b.Len() >= 1000 {
			s.flush(ctx, b)
		}
	}
}

// flush publishes a UDP batch; UDP senders cannot be told to retry, so a
// batch the bus refuses is retried here until it is stored or we stop.
func (s *Syslog) flush(ctx context.Context, b *Batch) {
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		err := b.Flush(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Warn("bus refused a syslog batch; retrying", "error", err, "events", b.Len())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (s *Syslog) serveTCP(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	var connSeq int64
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("syslog %s: %w", s.cfg.Name, err)
		}
		connSeq++
		id := nonce() + "-" + itoa(connSeq)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c, id)
		}()
	}
}

// serveConn reads one TCP stream. It publishes what is already buffered
// before reading further, so the sender is slowed by TCP flow control, not
// by an unbounded queue, and nothing read is lost when the bus refuses:
// the connection is closed instead and the sender reconnects.
func (s *Syslog) serveConn(ctx context.Context, c net.Conn, connID string) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	log := s.log.With("remote", c.RemoteAddr().String())
	norm, _ := parse.New(s.cfg.Format, s.p.parseConfig(s.src))
	r := bufio.NewReaderSize(c, 64<<10)
	b := s.p.NewBatch(s.src)
	// One event and one frame buffer serve the whole connection: Add
	// encodes the event into the batch at once, and the parser copies what
	// it keeps of the frame.
	ev := new(event.Event)
	var scratch []byte
	var seq int64
	for {
		msg, err := readFrame(r, s.p.maxRecord+1, &scratch)
		if len(msg) > 0 {
			norm.ParseInto(ev, trimRecord(msg))
			b.Add(ev, store.RecordID(seq, s.src.ID(), connID))
			seq++
		}
		if err != nil || r.Buffered() == 0 || b.Len() >= 1000 {
			if ferr := b.Flush(context.WithoutCancel(ctx)); ferr != nil {
				log.Error("bus refused syslog events; closing the connection so the sender retries", "error", ferr, "events", b.Len())
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				log.Warn("syslog connection ended", "error", err)
			}
			return
		}
	}
}

// readFrame reads one message with RFC 6587 framing: octet counting
// ("LEN SP MSG") when the frame starts with a digit, otherwise a line. A
// message over limit bytes is cut there and the rest of it skipped; the
// parser, whose record limit is one byte less, flags it as truncated. The
// message is valid until the next read from r: it is r's own buffer when
// the line is in it whole, else *scratch, which is reused.
func readFrame(r *bufio.Reader, limit int, scratch *[]byte) ([]byte, error) {
	first, err := r.Peek(1)
	if err != nil {
		return nil, err
	}
	if first[0] >= '1' && first[0] <= '9' {
		if n, ok := octetCount(r); ok {
			m := min(n, limit)
			if cap(*scratch) < m {
				*scratch = make([]byte, m)
			}
			msg := (*scratch)[:m]
			if _, err := io.ReadFull(r, msg); err != nil {
				return msg, err
			}
			if n > len(msg) {
				if _, err := r.Discard(n - len(msg)); err != nil {
					return msg, err
				}
			}
			return msg, nil
		}
	}
	chunk, err := r.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return chunk[:min(len(chunk), limit)], err
	}
	line := (*scratch)[:0]
	defer func() { *scratch = line[:0] }()
	for {
		if len(line)+len(chunk) <= limit {
			line = append(line, chunk...)
		} else if len(line) < limit {
			line = append(line, chunk[:limit-len(line)]...)
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
		chunk, err = r.ReadSlice('\n')
	}
}

// octetCount consumes "LEN " when the buffered input starts with one.
func octetCount(r *bufio.Reader) (int, bool) {
	head, _ := r.Peek(11)
	n := 0
	for i, c := range head {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int(c-'0')
		case c == ' ' && i > 0:
			_, _ = r.Discard(i + 1)
			return n, true
		default:
			return 0, false
		}
	}
	return 0, false
}

// trimRecord drops the line terminator and NUL padding some senders add.
func trimRecord(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case '\n', '\r', 0:
			b = b[:len(b)-1]
			continue
		}
		break
	}
	return b
}
