package mcpx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
)

// rawServer accepts connections on loopback and hands each request to
// handle, which answers (or not) on the connection and says whether to keep
// it open. It counts the requests it read.
func rawServer(t *testing.T, handle func(n int64, c net.Conn) (keep bool)) (url string, requests *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	requests = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if !handle(requests.Add(1), c) {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/mcp", requests
}

const okBody = `{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`

func answer(c net.Conn) {
	fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(okBody), okBody)
}

// TestRawClientDropsClosedIdleConnection: a server that closes a kept-alive
// connection after answering does not fail the next call, which goes on a
// fresh connection.
func TestRawClientDropsClosedIdleConnection(t *testing.T) {
	url, n := rawServer(t, func(_ int64, c net.Conn) bool { answer(c); return false })
	rc := newRawClient(url, nil, config.Secret{}, 4)
	defer rc.close()
	for i := range 3 {
		if _, _, err := rc.post(context.Background(), time.Time{}, "echo", []byte(`{}`)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		time.Sleep(20 * time.Millisecond) // let the close reach us
	}
	if n.Load() != 3 {
		t.Errorf("server read %d requests, want 3", n.Load())
	}
}

// TestRawClientNeverRepeatsASentCall: a server that reads a call and drops
// the connection without answering may have acted on it, so the call fails
// rather than being sent again.
func TestRawClientNeverRepeatsASentCall(t *testing.T) {
	url, n := rawServer(t, func(k int64, c net.Conn) bool {
		if k == 1 {
			answer(c) // the first call leaves a kept-alive connection
			return true
		}
		return false // the second is read, then the connection drops
	})
	rc := newRawClient(url, nil, config.Secret{}, 4)
	defer rc.close()
	if _, _, err := rc.post(context.Background(), time.Time{}, "delete_file", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rc.post(context.Background(), time.Time{}, "delete_file", []byte(`{}`)); err == nil {
		t.Fatal("a call the server dropped unanswered succeeded")
	}
	time.Sleep(50 * time.Millisecond)
	if n.Load() != 2 {
		t.Errorf("server read %d requests, want 2: a sent call was repeated", n.Load())
	}
}

// TestReadResponse: the forwarding path's response reader delimits bodies
// as HTTP/1.1 does and refuses what it cannot delimit safely.
func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		status   int
		body, ct string
		close    bool
		bad      bool
	}{
		{name: "length", in: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", status: 200, body: "{}", ct: "application/json"},
		{name: "chunked with trailer", in: "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n3\r\n[1]\r\n0\r\nX-T: 1\r\n\r\n", status: 200, body: "{}[1]"},
		{name: "informational first", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x"},
		{name: "close", in: "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", status: 200, close: true},
		{name: "HTTP/1.0", in: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x", close: true},
		{name: "HTTP/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x"},
		{name: "until close", in: "HTTP/1.1 200 OK\r\n\r\nall of it", status: 200, body: "all of it", close: true},
		{name: "no reason", in: "HTTP/1.1 500\r\nContent-Length: 3\r\n\r\nbad", status: 500, body: "bad"},
		{name: "bare LF", in: "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", status: 200, body: "x"},
		{name: "short body", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", bad: true},
		{name: "two lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", bad: true},
		{name: "length and chunked", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", bad: true},
		{name: "gzip coding", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", bad: true},
		{name: "folded header", in: "HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nContent-Length: 0\r\n\r\n", bad: true},
		{name: "space before colon", in: "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", bad: true},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH\r\n\r\n", bad: true},
		{name: "too large", in: fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", maxForwardResponse+1), bad: true},
		{name: "empty", in: "", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := readResponse(bufio.NewReader(strings.NewReader(tc.in)))
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", resp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.status != tc.status || string(resp.body) != tc.body || resp.contentType != tc.ct || resp.close != tc.close {
				t.Fatalf("got status %d body %q type %q close %v", resp.status, resp.body, resp.contentType, resp.close)
			}
		})
	}
}

// TestRawClientTimeout: a call the server never answers ends with the
// context's deadline, and its connection is not used again: the next call
// gets its answer on a fresh one.
func TestRawClientTimeout(t *testing.T) {
	url, n := rawServer(t, func(k int64, c net.Conn) bool {
		if k == 1 {
			return true // read, never answered
		}
		answer(c)
		return true
	})
	rc := newRawClient(url, nil, config.Secret{}, 4)
	defer rc.close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := rc.post(ctx, time.Time{}, "slow", []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered call: %v, want the deadline", err)
	}
	if _, _, err := rc.post(context.Background(), time.Time{}, "echo", []byte(`{}`)); err != nil {
		t.Fatalf("call after a timeout: %v", err)
	}
	if n.Load() != 2 {
		t.Errorf("server read %d requests, want 2", n.Load())
	}
}

// TestRawClientDeadline: the call's own deadline (the forwarding path's
// timeout) ends an unanswered call the same way, on a connection kept
// alive from an earlier call, whose old deadline must not linger.
func TestRawClientDeadline(t *testing.T) {
	url, n := rawServer(t, func(k int64, c net.Conn) bool {
		if k == 2 {
			return true // read, never answered
		}
		answer(c)
		return true
	})
	rc := newRawClient(url, nil, config.Secret{}, 4)
	defer rc.close()
	if _, _, err := rc.post(context.Background(), time.Now().Add(50*time.Millisecond), "echo", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // past the first call's deadline: the idle peek must not trip on it
	if _, _, err := rc.post(context.Background(), time.Now().Add(100*time.Millisecond), "slow", []byte(`{}`)); !errors.Is(err, errCallTimedOut) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered call: %v, want the call's timeout", err)
	}
	if _, _, err := rc.post(context.Background(), time.Now().Add(time.Second), "echo", []byte(`{}`)); err != nil {
		t.Fatalf("call after a timeout: %v", err)
	}
	if n.Load() != 3 {
		t.Errorf("server read %d requests, want 3", n.Load())
	}
}
