package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/bus"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/ingest"
)

const key = "ingest-key-0123456789abcdef"

func newPipeline(t *testing.T) (*ingest.Pipeline, *bus.Bus) {
	t.Helper()
	b, err := bus.Open(context.Background(), bus.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return ingest.NewPipeline(b, nil), b
}

// stored reads events from the bus until n arrived or a quiet second passed.
func stored(t *testing.T, b *bus.Bus, n int) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var mu sync.Mutex
	var out []map[string]any
	last := time.Now()
	go func() {
		for ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			if len(out) >= n && time.Since(last) > time.Second {
				cancel()
			}
			mu.Unlock()
		}
	}()
	_ = b.Consume(ctx, "test", 500, func(_ context.Context, batch []bus.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range batch {
			var ev map[string]any
			if err := json.Unmarshal(d.Data, &ev); err != nil {
				t.Errorf("bad event JSON %s: %v", d.Data, err)
			}
			out = append(out, ev)
		}
		last = time.Now()
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	return out
}

func field(ev map[string]any, path string) any {
	var cur any = ev
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

const filterlogLine = "<134>Nov 21 13:00:01 fw filterlog[1234]: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,203.0.113.7,192.0.2.10,51234,22,0,S,1234567890,,64240,,mss;sackOK;TS;nop;wscale\n"

func push(t *testing.T, h http.Handler, body []byte, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/ingest?source=fw", bytes.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestPushRejections(t *testing.T) {
	p, _ := newPipeline(t)
	h := p.PushHandler(ingest.PushOptions{Keys: []config.Secret{config.NewSecret(key)}, MaxBodyBytes: 64 << 10})
	bomb := gz(bytes.Repeat([]byte("A"), 1<<20)) // small compressed, 1 MiB inflated
	cases := []struct {
		name    string
		body    []byte
		headers []string
		want    int
	}{
		{"no key", []byte(filterlogLine), nil, 401},
		{"wrong key", []byte(filterlogLine), []string{"Authorization", "Bearer not-the-key-123456"}, 401},
		{"oversized", bytes.Repeat([]byte(filterlogLine), 1000), []string{"X-API-Key", key}, 413},
		{"gzip bomb", bomb, []string{"X-API-Key", key, "Content-Encoding", "gzip"}, 413},
		{"bad gzip", []byte("not gzip"), []string{"X-API-Key", key, "Content-Encoding", "gzip"}, 400},
		{"unknown encoding", []byte(filterlogLine), []string{"X-API-Key", key, "Content-Encoding", "br"}, 415},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if rec := push(t, h, tc.body, tc.headers...); rec.Code != tc.want {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
		})
	}
	req := httptest.NewRequest(http.MethodPost, "/api/v1/ingest?format=nope", strings.NewReader(filterlogLine))
	req.Header.Set("X-API-Key", key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "filterlog") {
		t.Errorf("unknown format: %d %s (want 400 listing the formats)", rec.Code, rec.Body)
	}
}

func TestPushStoresOnceWithIdempotencyKey(t *testing.T) {
	p, b := newPipeline(t)
	h := p.PushHandler(ingest.PushOptions{Keys: []config.Secret{config.NewSecret(key)}, BatchSize: 7})
	body := gz([]byte(strings.Repeat(filterlogLine, 20) + "garbage that no parser understands\n"))
	for range 2 { // the client retries after a lost response
		rec := push(t, h, body, "Authorization", "Bearer "+key, "Content-Encoding", "gzip", "Idempotency-Key", "batch-1")
		var res ingest.PushResult
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &res) != nil || res.Accepted != 21 || res.PipelineErrors != 1 {
			t.Fatalf("push: %d %s", rec.Code, rec.Body)
		}
	}
	evs := stored(t, b, 21)
	if len(evs) != 21 {
		t.Fatalf("stored %d events, want 21 (the retry must not duplicate)", len(evs))
	}
	kinds := map[any]int{}
	for _, ev := range evs {
		kinds[field(ev, "event.kind")]++
		if field(ev, "event.id") == nil || field(ev, "mcpsoc.source") != "http:fw" {
			t.Errorf("event without id or provenance: %v", ev)
		}
	}
	if kinds["pipeline_error"] != 1 {
		t.Errorf("kinds = %v, want one pipeline_error", kinds)
	}
}

func TestSyslogTCPFraming(t *testing.T) {
	p, b := newPipeline(t)
	s, err := p.ListenSyslog(config.SyslogSource{Name: "fw", Protocol: "tcp", Listen: "127.0.0.1:0", Format: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx)
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.TrimSuffix(filterlogLine, "\n")
	var stream bytes.Buffer
	for i := range 10 {
		if i%2 == 0 {
			fmt.Fprintf(&stream, "%d %s", len(msg), msg) // RFC 6587 octet counting
		} else {
			stream.WriteString(msg + "\n") // newline framing
		}
	}
	long := "<13>Nov 21 13:00:02 host app: " + strings.Repeat("x", 3<<20) + "\n"
	stream.WriteString(long)
	stream.WriteString(msg + "\n")
	if _, err := c.Write(stream.Bytes()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	evs := stored(t, b, 12)
	if len(evs) != 12 {
		t.Fatalf("stored %d events, want 12", len(evs))
	}
	blocks, truncated := 0, 0
	for _, ev := range evs {
		if field(ev, "source.ip") == "203.0.113.7" && field(ev, "destination.port") == 22.0 {
			blocks++
		}
		if field(ev, "event.truncated") == true {
			truncated++
		}
	}
	if blocks != 11 || truncated != 1 {
		t.Errorf("parsed %d filterlog blocks (want 11) and %d truncated records (want 1)", blocks, truncated)
	}
}

func TestSyslogUDP(t *testing.T) {
	p, b := newPipeline(t)
	s, err := p.ListenSyslog(config.SyslogSource{Name: "fw", Protocol: "udp", Listen: "127.0.0.1:0", Format: "syslog"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx)
	c, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 50 {
		fmt.Fprintf(c, "<38>1 2026-11-21T13:00:%02dZ bastion sshd 4242 - - Failed password for root from 198.51.100.%d port 40000 ssh2", i%60, i)
		time.Sleep(time.Millisecond)
	}
	evs := stored(t, b, 50)
	if len(evs) != 50 {
		t.Fatalf("stored %d events, want 50", len(evs))
	}
	if h := field(evs[0], "host.name"); h != "bastion" {
		t.Errorf("host.name = %v", h)
	}
}
