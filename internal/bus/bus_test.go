package bus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/bus"
	"github.com/mcpsoc/mcpsoc/internal/testenv"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// modes returns the bus options to test: embedded always, external when a
// NATS server with JetStream listens on 127.0.0.1:4222.
func modes(t *testing.T) map[string]func(dir string) bus.Options {
	var b [4]byte
	_, _ = rand.Read(b[:])
	stream := "TEST_" + hex.EncodeToString(b[:])
	m := map[string]func(string) bus.Options{
		"embedded": func(dir string) bus.Options {
			return bus.Options{DataDir: dir, Stream: stream, Subject: "test." + stream}
		},
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:4222", time.Second); err == nil {
		c.Close()
		m["external"] = func(string) bus.Options {
			return bus.Options{URL: "nats://127.0.0.1:4222", Stream: stream, Subject: "test." + stream}
		}
		t.Cleanup(func() { deleteStream(t, stream) })
	} else {
		t.Run("external", func(t *testing.T) { testenv.Missing(t, "NATS with JetStream on 127.0.0.1:4222") })
	}
	return m
}

// deleteStream removes a test stream from the shared NATS server.
func deleteStream(t *testing.T, stream string) {
	nc, err := nats.Connect("nats://127.0.0.1:4222")
	if err != nil {
		t.Log(err)
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err == nil {
		err = js.DeleteStream(context.Background(), stream)
	}
	if err != nil {
		t.Logf("deleting test stream %s: %v", stream, err)
	}
}

func open(t *testing.T, opts bus.Options) *bus.Bus {
	t.Helper()
	b, err := bus.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// consumeAll reads until n distinct ids arrived or the deadline passes.
func consumeAll(t *testing.T, b *bus.Bus, consumer string, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	var ids []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Consume(ctx, consumer, 100, func(_ context.Context, batch []bus.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			for _, d := range batch {
				ids = append(ids, d.ID)
			}
			if len(ids) >= n {
				cancel()
			}
			return nil
		})
	}()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return ids
}

// consumeRecords reads records as "message-id data" until n arrived or
// 20 seconds passed.
func consumeRecords(b *bus.Bus, consumer string, maxRecords, n int) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []string
	_ = b.Consume(ctx, consumer, maxRecords, func(_ context.Context, ds []bus.Delivery) error {
		for _, d := range ds {
			got = append(got, d.ID+" "+string(d.Data))
		}
		if len(got) >= n {
			cancel()
		}
		return nil
	})
	return got
}

func batchOf(from, to int) []bus.Message {
	var msgs []bus.Message
	for i := from; i < to; i++ {
		msgs = append(msgs, bus.Message{ID: fmt.Sprintf("ev-%05d", i), Source: "test", Data: []byte(fmt.Sprintf(`{"n":%d}`, i))})
	}
	return msgs
}

func TestPublishDedupConsume(t *testing.T) {
	for mode, opts := range modes(t) {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			o := opts(dir)
			reg := prometheus.NewRegistry()
			o.Registerer = reg
			b := open(t, o)
			ctx := context.Background()
			if err := b.Publish(ctx, batchOf(0, 500)); err != nil {
				t.Fatal(err)
			}
			// A retry of an overlapping range after a "crash" stores only the new ones.
			if err := b.Publish(ctx, batchOf(250, 600)); err != nil {
				t.Fatal(err)
			}
			ids := consumeAll(t, b, "store", 600)
			sort.Strings(ids)
			if len(ids) != 600 || ids[0] != "ev-00000" || ids[599] != "ev-00599" {
				t.Fatalf("consumed %d ids (%v…), want exactly 600 distinct", len(ids), ids[:min(3, len(ids))])
			}
			b.Close()
			if mode != "embedded" {
				return
			}
			// Restart on the same data directory: acknowledged messages are not
			// redelivered, new ones are.
			o.Registerer = nil // the first bus registered its metrics already
			b = open(t, o)
			defer b.Close()
			if err := b.Publish(ctx, batchOf(600, 610)); err != nil {
				t.Fatal(err)
			}
			ids = consumeAll(t, b, "store", 10)
			if len(ids) != 10 || ids[0] != "ev-00600" {
				t.Fatalf("after restart consumed %v, want ev-00600..ev-00609", ids)
			}
		})
	}
}

func TestFailedHandlerRedelivers(t *testing.T) {
	b := open(t, bus.Options{DataDir: t.TempDir(), Stream: "REDELIVER"})
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Publish(ctx, batchOf(0, 5)); err != nil {
		t.Fatal(err)
	}
	calls := 0
	_ = b.Consume(ctx, "flaky", 10, func(_ context.Context, batch []bus.Delivery) error {
		calls++
		if calls == 1 {
			return fmt.Errorf("store unavailable")
		}
		if len(batch) == 5 {
			cancel()
		}
		return nil
	})
	if calls < 2 {
		t.Errorf("handler called %d times, want a redelivery after the failure", calls)
	}
}

// TestSyncAlways: with every message synced, publishing and consuming
// still work (the setting reaches the embedded server).
func TestSyncAlways(t *testing.T) {
	b := open(t, bus.Options{DataDir: t.TempDir(), Stream: "SYNC", Subject: "test.sync", SyncAlways: true})
	defer b.Close()
	if err := b.Publish(context.Background(), batchOf(0, 20)); err != nil {
		t.Fatal(err)
	}
	if ids := consumeAll(t, b, "sync", 20); len(ids) != 20 {
		t.Fatalf("consumed %d", len(ids))
	}
}

func TestPublishRequiresID(t *testing.T) {
	b := open(t, bus.Options{DataDir: t.TempDir(), Stream: "NOID"})
	defer b.Close()
	if err := b.Publish(context.Background(), []bus.Message{{Source: "x", Data: []byte("{}")}}); err == nil {
		t.Error("message without id accepted")
	}
}

// TestRecordsPerMessage: a message carries several newline-ended records,
// each handed to the consumer on its own; a message of an older version
// (one record, no newline) reads the same way, and re-publishing a message
// id drops the whole message.
func TestRecordsPerMessage(t *testing.T) {
	b := open(t, bus.Options{DataDir: t.TempDir(), Stream: "RECORDS", Subject: "test.records"})
	defer b.Close()
	ctx := context.Background()
	batch := bus.Message{ID: "batch-1", Source: "test", Data: []byte("{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n")}
	legacy := bus.Message{ID: "ev-legacy", Source: "test", Data: []byte(`{"n":4}`)}
	if err := b.Publish(ctx, []bus.Message{batch, legacy}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, []bus.Message{batch}); err != nil { // a retry
		t.Fatal(err)
	}
	got := consumeRecords(b, "records", 100, 4)
	want := []string{`batch-1 {"n":1}`, `batch-1 {"n":2}`, `batch-1 {"n":3}`, `ev-legacy {"n":4}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("consumed %q, want %q", got, want)
	}
}

// TestConsumeAsync: a batch is acknowledged only when its done is called
// with nil, possibly after the handler returned; a batch done with an
// error comes back.
func TestConsumeAsync(t *testing.T) {
	b := open(t, bus.Options{DataDir: t.TempDir(), Stream: "ASYNC", Subject: "test.async"})
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Publish(ctx, batchOf(0, 30)); err != nil {
		t.Fatal(err)
	}
	later := make(chan func(error), 16)
	var mu sync.Mutex
	seen := map[string]int{}
	failed := false
	go func() {
		for done := range later {
			mu.Lock()
			fail := !failed
			failed = true
			mu.Unlock()
			if fail {
				done(fmt.Errorf("detection failed"))
			} else {
				done(nil)
			}
		}
	}()
	_ = b.ConsumeAsync(ctx, "async", 10, 2, func(_ context.Context, ds []bus.Delivery, done func(error)) {
		mu.Lock()
		for _, d := range ds {
			seen[d.ID]++
		}
		n := len(seen)
		mu.Unlock()
		later <- done
		if n == 30 {
			// Every id came at least once; stop once the failed batch
			// came back too.
			mu.Lock()
			again := 0
			for _, c := range seen {
				if c > 1 {
					again++
				}
			}
			mu.Unlock()
			if again > 0 {
				cancel()
			}
		}
	})
	close(later)
	mu.Lock()
	defer mu.Unlock()
	again := 0
	for _, c := range seen {
		if c > 1 {
			again++
		}
	}
	if len(seen) != 30 || again == 0 {
		t.Fatalf("consumed %d distinct ids, %d of them again; want 30, with the failed batch again", len(seen), again)
	}
}

// TestBatchSizeInRecords: batches are sized in records, whatever the
// messages carry: big messages do not make a batch of maxRecords messages,
// and single-record messages (an older version's) still fill a batch.
func TestBatchSizeInRecords(t *testing.T) {
	b := open(t, bus.Options{DataDir: t.TempDir(), Stream: "SIZES", Subject: "test.sizes"})
	defer b.Close()
	ctx := context.Background()
	var big []bus.Message
	for i := range 50 {
		var data []byte
		for j := range 100 {
			data = fmt.Appendf(data, "{\"n\":%d}\n", i*100+j)
		}
		big = append(big, bus.Message{ID: fmt.Sprintf("big-%d", i), Source: "test", Data: data})
	}
	if err := b.Publish(ctx, big); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, batchOf(0, 1000)); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var sizes []int
	total := 0
	_ = b.Consume(cctx, "sizes", 500, func(_ context.Context, ds []bus.Delivery) error {
		sizes = append(sizes, len(ds))
		if total += len(ds); total >= 6000 {
			cancel()
		}
		return nil
	})
	if total != 6000 {
		t.Fatalf("consumed %d records, want 6000", total)
	}
	for _, n := range sizes {
		// A batch stops at the first message that takes it to 500
		// records or more; the size estimate may add a few messages.
		if n > 1000 {
			t.Errorf("a batch of %d records; want about 500 (batch sizes %v)", n, sizes)
		}
	}
	t.Logf("batch sizes: %v", sizes)
	if len(sizes) > 30 {
		t.Errorf("%d batches for 6000 records at 500 a batch: batches stay small (%v)", len(sizes), sizes)
	}
}

// TestCompressedPayloads: a large batch is stored compressed (the stream
// holds fewer bytes than were published) and consumed record for record;
// a payload that cannot be decoded is dropped and counted without holding
// back the messages around it. Both modes: an external cluster stores
// what the embedded server would.
func TestCompressedPayloads(t *testing.T) {
	for mode, opts := range modes(t) {
		t.Run(mode, func(t *testing.T) {
			o := opts(t.TempDir())
			reg := prometheus.NewRegistry()
			o.Registerer = reg
			b := open(t, o)
			defer b.Close()
			ctx := context.Background()
			var data []byte
			var want []string
			for i := range 2000 {
				rec := fmt.Sprintf(`{"event":{"dataset":"pfsense.filterlog","id":"%08d"},"source":{"ip":"203.0.%d.%d"}}`, i, i/250, i%250)
				data = append(append(data, rec...), '\n')
				want = append(want, "big "+rec)
			}
			if err := b.Publish(ctx, []bus.Message{{ID: "big", Source: "test", Data: data}}); err != nil {
				t.Fatal(err)
			}
			// Messages a peer published: one whose payload claims S2 but is
			// not, one in an encoding from the future, then a plain one.
			js, _ := jetstream.New(b.Conn())
			for _, m := range []struct{ id, enc, data string }{
				{"corrupt", "s2", "\xff\xff\xff\xff\x0fnot s2 at all"},
				{"future", "zz", "{}"},
				{"plain", "", `{"n":1}`},
			} {
				msg := &nats.Msg{Subject: o.Subject + ".test", Data: []byte(m.data), Header: nats.Header{}}
				if m.enc != "" {
					msg.Header.Set("Mcpsoc-Encoding", m.enc)
					msg.Header.Set("Mcpsoc-Records", "1")
				}
				if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(m.id)); err != nil {
					t.Fatal(err)
				}
			}
			want = append(want, `plain {"n":1}`)
			info, err := js.Stream(ctx, o.Stream)
			if err != nil {
				t.Fatal(err)
			}
			if stored := info.CachedInfo().State.Bytes; stored >= uint64(len(data))/2 {
				t.Errorf("stream holds %d bytes for a %d-byte batch: not compressed", stored, len(data))
			}
			got := consumeRecords(b, "store", 5000, len(want))
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("consumed %d records, want %d; first %q", len(got), len(want), got[:min(2, len(got))])
			}
			if n := testutilCounter(t, reg, "mcpsoc_bus_undecodable_total"); n != 2 {
				t.Errorf("undecodable messages counted %v, want 2", n)
			}
		})
	}
}

func testutilCounter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
