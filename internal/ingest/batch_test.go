package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/bus"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/ingest"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// recorder is a Publisher that keeps copies of what it was given, with a
// small message limit so that batches split.
type recorder struct {
	max  int64
	msgs []bus.Message
	fail bool
}

func (r *recorder) MaxPayload() int64 { return r.max }

func (r *recorder) Publish(_ context.Context, msgs []bus.Message) error {
	if r.fail {
		return fmt.Errorf("bus unavailable")
	}
	for _, m := range msgs {
		m.Data = bytes.Clone(m.Data)
		r.msgs = append(r.msgs, m)
	}
	return nil
}

// TestBatchMessages: a batch becomes as few messages as the message limit
// allows, each holding whole events one per line; the message ids depend
// only on the events' ids, so the same records published again (a retry)
// give the same messages, and a failed flush keeps them for the retry.
func TestBatchMessages(t *testing.T) {
	build := func(r *recorder) {
		p := ingest.NewPipeline(r, nil)
		norm, err := parse.New("auto", nil)
		if err != nil {
			t.Fatal(err)
		}
		b := p.NewBatch(ingest.Source{Kind: "test", Name: "t"})
		ev := new(event.Event)
		for i := range 100 {
			norm.ParseInto(ev, []byte(filterlogLine))
			b.Add(ev, fmt.Sprintf("rec-%03d", i))
		}
		if b.Len() != 100 {
			t.Fatalf("Len = %d", b.Len())
		}
		r.fail = true
		if err := b.Flush(context.Background()); err == nil {
			t.Fatal("flush succeeded against a failing bus")
		}
		if b.Len() != 100 {
			t.Fatalf("a failed flush dropped events: Len = %d", b.Len())
		}
		r.fail = false
		if err := b.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if b.Len() != 0 {
			t.Fatalf("Len after flush = %d", b.Len())
		}
	}
	// 40 KiB messages: the limit leaves 4 KiB for headers, so about 36 KiB
	// of events each.
	r1, r2 := &recorder{max: 40 << 10}, &recorder{max: 40 << 10}
	build(r1)
	build(r2)
	if len(r1.msgs) != len(r2.msgs) {
		t.Fatalf("%d messages, then %d for the same records", len(r1.msgs), len(r2.msgs))
	}
	if len(r1.msgs) < 2 {
		t.Fatalf("100 events in %d message(s); want several under a 40 KiB limit", len(r1.msgs))
	}
	events, ids := 0, map[string]bool{}
	for i, m := range r1.msgs {
		if int64(len(m.Data)) > r1.max-4<<10 {
			t.Errorf("message %d is %d bytes, over the limit", i, len(m.Data))
		}
		// The ingest time differs between the two; the message ids do not.
		if m.ID != r2.msgs[i].ID {
			t.Errorf("message %d has id %s, then %s when the same records are published again", i, m.ID, r2.msgs[i].ID)
		}
		if ids[m.ID] {
			t.Errorf("message id %s used twice", m.ID)
		}
		ids[m.ID] = true
		if !bytes.HasSuffix(m.Data, []byte("\n")) {
			t.Errorf("message %d does not end with a newline", i)
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(m.Data, []byte("\n")), []byte("\n")) {
			var ev event.Event
			if err := ev.UnmarshalJSON(line); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if id, _ := ev.GetString("event.id"); id != fmt.Sprintf("rec-%03d", events) {
				t.Fatalf("event %d has id %q", events, id)
			}
			events++
		}
	}
	if events != 100 {
		t.Fatalf("%d events in the messages, want 100", events)
	}
}
