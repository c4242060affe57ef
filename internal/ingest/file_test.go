package ingest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/bus"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/ingest"
)

// counter consumes the bus in the background and counts distinct event ids.
type counter struct {
	mu  sync.Mutex
	ids map[string]int
	bad int
}

func countEvents(t *testing.T, b *bus.Bus) *counter {
	c := &counter{ids: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		_ = b.Consume(ctx, "count", 500, func(_ context.Context, batch []bus.Delivery) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, d := range batch {
				var ev event.Event
				id, ok := "", false
				if ev.UnmarshalJSON(d.Data) == nil {
					id, ok = ev.GetString("event.id")
				}
				if !ok {
					c.bad++
					continue
				}
				c.ids[id]++
			}
			return nil
		})
	}()
	return c
}

// waitCount waits until exactly n distinct events were stored, each once.
func (c *counter) waitCount(t *testing.T, n int) { c.wait(t, n, false) }

// waitDistinct waits until exactly n distinct event ids were stored,
// some possibly more than once.
func (c *counter) waitDistinct(t *testing.T, n int) { c.wait(t, n, true) }

func (c *counter) wait(t *testing.T, n int, dupsOK bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c.mu.Lock()
		got, dup, bad := len(c.ids), 0, c.bad
		for _, k := range c.ids {
			if k > 1 {
				dup++
			}
		}
		c.mu.Unlock()
		if bad > 0 {
			t.Fatalf("%d bus records are not events with an id", bad)
		}
		if dup > 0 && !dupsOK {
			t.Fatalf("%d events delivered more than once", dup)
		}
		if got == n {
			time.Sleep(300 * time.Millisecond) // and nothing more arrives
			c.mu.Lock()
			got = len(c.ids)
			c.mu.Unlock()
			if got == n {
				return
			}
		}
		if got > n || time.Now().After(deadline) {
			t.Fatalf("stored %d events, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func appendLines(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := from; i < to; i++ {
		fmt.Fprintf(f, "Nov 21 13:00:%02d clamd[77]: /srv/upload/f%d.exe: Win.Test.EICAR_HDB-1 FOUND\n", i%60, i)
	}
}

func startTailer(t *testing.T, p *ingest.Pipeline, dir string, glob string) context.CancelFunc {
	t.Helper()
	off, err := ingest.OpenOffsets(filepath.Join(dir, "offsets.json"))
	if err != nil {
		t.Fatal(err)
	}
	tl, err := p.NewTailer(config.FileSource{Name: "clam", Paths: []string{glob}, Format: "auto",
		StartAt: "beginning", PollInterval: 20 * time.Millisecond}, off)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); tl.Run(ctx) }()
	return func() { cancel(); <-done }
}

func TestTailGrowRotateTruncate(t *testing.T) {
	p, b := newPipeline(t)
	c := countEvents(t, b)
	dir := t.TempDir()
	log := filepath.Join(dir, "clamd.log")
	appendLines(t, log, 0, 100)
	stop := startTailer(t, p, dir, log)
	defer stop()
	c.waitCount(t, 100)

	// An unfinished line waits for its newline.
	f, _ := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("Nov 21 13:01:00 clamd[77]: /srv/upload/partial.exe: Win.Test")
	time.Sleep(200 * time.Millisecond)
	c.waitCount(t, 100)
	f.WriteString(".EICAR_HDB-1 FOUND\n")
	f.Close()
	c.waitCount(t, 101)

	// Rotation: the file is renamed, the writer still appends to it for a
	// moment, then a new file takes the name.
	os.Rename(log, log+".1")
	appendLines(t, log+".1", 1000, 1005)
	appendLines(t, log, 2000, 2007)
	c.waitCount(t, 113)

	// copytruncate: the file is emptied in place and written again.
	os.Truncate(log, 0)
	appendLines(t, log, 3000, 3003)
	c.waitCount(t, 116)
}

func TestTailRestartResumesAndReplayDeduplicates(t *testing.T) {
	p, b := newPipeline(t)
	c := countEvents(t, b)
	dir := t.TempDir()
	log := filepath.Join(dir, "clamd.log")
	appendLines(t, log, 0, 40)
	stop := startTailer(t, p, dir, log)
	c.waitCount(t, 40)
	stop()

	appendLines(t, log, 40, 60)
	stop = startTailer(t, p, dir, log)
	c.waitCount(t, 60) // resumed at the saved offset: nothing re-read, nothing skipped
	stop()

	// The offsets are lost (a crash before the commit reached the disk):
	// the file is read again in other chunks than before, so the bus
	// messages differ, but every replayed event carries the id it had:
	// the store skips it.
	os.Remove(filepath.Join(dir, "offsets.json"))
	stop = startTailer(t, p, dir, log)
	defer stop()
	c.waitDistinct(t, 60)
}
