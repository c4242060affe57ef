// Package reliability holds the crash test of the event pipeline: a real
// 'mcpsoc serve' process is killed with SIGKILL while events stream in over
// HTTP push and TCP syslog, then restarted on the same data directory.
package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

const key = "reliability-key-0123456789"

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type server struct {
	bin, cfg, data, api string
	cmd                 *exec.Cmd
	log                 *bytes.Buffer
}

func (s *server) start(t *testing.T) {
	t.Helper()
	s.log = &bytes.Buffer{}
	s.cmd = exec.Command(s.bin, "serve", "--config", s.cfg, "--data", s.data, "--listen", s.api)
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + s.api + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not become ready:\n%s", s.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
}

// pusher sends numbered batches over HTTP; a batch counts as acknowledged
// when the server answered 200. A failed batch is retried with the same
// Idempotency-Key until it is acknowledged.
type pusher struct {
	base  string
	mu    sync.Mutex
	acked map[int]bool
}

func (p *pusher) run(ctx context.Context, t *testing.T) {
	client := &http.Client{Timeout: 5 * time.Second}
	for batch := 0; ctx.Err() == nil; batch++ {
		var body bytes.Buffer
		for i := 0; i < 50; i++ {
			fmt.Fprintf(&body, "<13>1 2026-11-21T12:00:00Z pusher app - - reliability http seq=%d\n", batch*50+i)
		}
		for ctx.Err() == nil {
			req, _ := http.NewRequest(http.MethodPost, p.base+"/api/v1/ingest?format=syslog&source=rel", bytes.NewReader(body.Bytes()))
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Idempotency-Key", "batch-"+strconv.Itoa(batch))
			resp, err := client.Do(req)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					p.mu.Lock()
					for i := 0; i < 50; i++ {
						p.acked[batch*50+i] = true
					}
					p.mu.Unlock()
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// syslogSender streams numbered lines over TCP, reconnecting after the
// server dies. It records the lines sent on connections that the server
// closed cleanly (those it must have stored in full).
//
// A killed process's sockets are closed by the kernel, and a socket with
// nothing left unread closes with a FIN: the sender sees the same EOF as a
// clean close. So a connection whose EOF may come from the kill (one open
// when kills went up) proves nothing and is not counted.
type syslogSender struct {
	addr     string
	mu       sync.Mutex
	complete map[int]bool
	kills    atomic.Int32 // incremented before every SIGKILL
}

func (s *syslogSender) run(ctx context.Context) {
	seq := 0
	for ctx.Err() == nil {
		kills := s.kills.Load()
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		w := bufio.NewWriter(c)
		var sent []int
		failed := false
		for ctx.Err() == nil && len(sent) < 2000 {
			if _, err := fmt.Fprintf(w, "<13>1 2026-11-21T12:00:00Z sender app - - reliability tcp seq=%d\n", seq); err != nil {
				failed = true
				break
			}
			sent = append(sent, seq)
			seq++
			if seq%100 == 0 {
				if err := w.Flush(); err != nil {
					failed = true
					break
				}
				time.Sleep(5 * time.Millisecond) // about 20k lines/s: sustained, bounded
			}
		}
		if !failed && w.Flush() == nil && closeWrite(c) == nil {
			// The server read to EOF and closed: everything was stored.
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == io.EOF && s.kills.Load() == kills {
				s.mu.Lock()
				for _, n := range sent {
					s.complete[n] = true
				}
				s.mu.Unlock()
			}
		}
		c.Close()
	}
}

func closeWrite(c net.Conn) error { return c.(*net.TCPConn).CloseWrite() }

var seqRE = regexp.MustCompile(`reliability (http|tcp) seq=(\d+)`)

// stored pages through every reliability event and counts each seq.
func stored(t *testing.T, base string) (httpSeen, tcpSeen map[int]int) {
	t.Helper()
	httpSeen, tcpSeen = map[int]int{}, map[int]int{}
	v := url.Values{"q": {`"reliability"`}, "limit": {"1000"}}
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/events?"+v.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Events []struct {
				Event struct {
					Message string `json:"message"`
				} `json:"event"`
			} `json:"events"`
			Next string `json:"next"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			m := seqRE.FindStringSubmatch(e.Event.Message)
			if m == nil {
				continue
			}
			n, _ := strconv.Atoi(m[2])
			if m[1] == "http" {
				httpSeen[n]++
			} else {
				tcpSeen[n]++
			}
		}
		if page.Next == "" {
			return
		}
		v.Set("cursor", page.Next)
	}
}

func TestKillDuringIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	dir := t.TempDir()
	s := &server{bin: testenv.GoBinary(t, "./cmd/mcpsoc"), data: filepath.Join(dir, "data"), api: freeAddr(t), cfg: filepath.Join(dir, "mcpsoc.yaml")}
	syslogAddr := freeAddr(t)
	os.WriteFile(s.cfg, []byte(fmt.Sprintf("ingest:\n  api_keys: [%q]\n  syslog:\n    - {name: rel, protocol: tcp, listen: %q, format: syslog}\nstore:\n  time_range_required_above: -1\n  segment_rows: 2000\n", key, syslogAddr)), 0o600)
	s.start(t)
	defer func() {
		if s.cmd.ProcessState == nil {
			s.kill()
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	p := &pusher{base: "http://" + s.api, acked: map[int]bool{}}
	ss := &syslogSender{addr: syslogAddr, complete: map[int]bool{}}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.run(ctx, t) }()
	go func() { defer wg.Done(); ss.run(ctx) }()

	time.Sleep(1500 * time.Millisecond)
	ss.kills.Add(1)
	s.kill() // SIGKILL mid-stream
	p.mu.Lock()
	ackedAtKill := len(p.acked)
	p.mu.Unlock()
	s.start(t)
	time.Sleep(1500 * time.Millisecond)
	cancel()
	wg.Wait()

	p.mu.Lock()
	defer p.mu.Unlock()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ackedAtKill == 0 || len(p.acked) <= ackedAtKill || len(ss.complete) == 0 {
		t.Fatalf("the test did not stream across the crash: %d acked before the kill, %d in all, %d syslog lines on clean connections",
			ackedAtKill, len(p.acked), len(ss.complete))
	}
	// Wait for the store to catch up with every acknowledged event, for as
	// long as it makes progress. A batch the killed process had fetched but
	// not acknowledged is redelivered after the bus's 30 s ack wait.
	const patience = 45 * time.Second
	deadline, lastStored := time.Now().Add(patience), 0
	for {
		httpSeen, tcpSeen := stored(t, "http://"+s.api)
		if n := len(httpSeen) + len(tcpSeen); n > lastStored {
			lastStored, deadline = n, time.Now().Add(patience)
		}
		missing := 0
		for n := range p.acked {
			if httpSeen[n] == 0 {
				missing++
			}
		}
		for n := range ss.complete {
			if tcpSeen[n] == 0 {
				missing++
			}
		}
		dups := 0
		for _, c := range httpSeen {
			if c > 1 {
				dups++
			}
		}
		for _, c := range tcpSeen {
			if c > 1 {
				dups++
			}
		}
		if dups > 0 {
			t.Fatalf("%d events stored more than once", dups)
		}
		if missing == 0 {
			// Segments of 2,000 events: the kill lands among rolls and
			// seals, which is what this checks besides the bus.
			segs, _ := filepath.Glob(filepath.Join(s.data, "events.segments", "*.db"))
			if len(segs) < 3 {
				t.Fatalf("the store has %d segment files; the stream should have filled several", len(segs))
			}
			t.Logf("acknowledged over HTTP: %d (%d before the kill), syslog lines on clean connections: %d; stored: %d http, %d tcp in %d segment files; none lost, none twice",
				len(p.acked), ackedAtKill, len(ss.complete), len(httpSeen), len(tcpSeen), len(segs))
			return
		}
		if time.Now().After(deadline) {
			mh, mt, lo, hi := 0, 0, -1, -1
			for n := range p.acked {
				if httpSeen[n] == 0 {
					mh++
					if lo < 0 || n < lo {
						lo = n
					}
					hi = max(hi, n)
				}
			}
			for n := range ss.complete {
				if tcpSeen[n] == 0 {
					mt++
				}
			}
			t.Fatalf("%d acknowledged events are missing from the store: %d http (seq %d..%d; %d acked before the kill of %d), %d tcp of %d; stored %d http, %d tcp\nserver log:\n%s",
				missing, mh, lo, hi, ackedAtKill, len(p.acked), mt, len(ss.complete), len(httpSeen), len(tcpSeen), s.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
