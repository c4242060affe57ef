package mcpx

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
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
		if _, _, err := rc.post(context.Background(), "echo", []byte(`{}`)); err != nil {
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
	if _, _, err := rc.post(context.Background(), "delete_file", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rc.post(context.Background(), "delete_file", []byte(`{}`)); err == nil {
		t.Fatal("a call the server dropped unanswered succeeded")
	}
	time.Sleep(50 * time.Millisecond)
	if n.Load() != 2 {
		t.Errorf("server read %d requests, want 2: a sent call was repeated", n.Load())
	}
}
