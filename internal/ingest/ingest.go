// Package ingest owns MCPSoc's event sources: syslog over UDP and TCP,
// tailed files and HTTP push. Each source parses records with the parse
// package and publishes the resulting ECS events to the bus, and
// acknowledges its input (the next TCP read, an HTTP 2xx, a file offset
// commit) only after the bus has stored them: an acknowledged event is
// never lost. It does not store or detect anything itself.
package ingest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/bus"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/prometheus/client_golang/prometheus"

	_ "github.com/mcpsoc/mcpsoc/internal/parse/builtin" // every log format
)

// Publisher stores messages durably; Publish returns once they are stored.
// *bus.Bus implements it.
type Publisher interface {
	Publish(ctx context.Context, msgs []bus.Message) error
	// MaxPayload is the largest message it accepts.
	MaxPayload() int64
}

var _ Publisher = (*bus.Bus)(nil)

// Pipeline publishes parsed events for every source. It is safe for
// concurrent use; each source holds its own Batch.
type Pipeline struct {
	pub Publisher
	log *slog.Logger
	m   *metrics
	now func() time.Time
	// maxRecord is the record size limit that keeps events within the
	// bus's message limit.
	maxRecord int
	// maxMessage is the size a bus message is filled to with encoded
	// events; an event larger than that travels alone.
	maxMessage int
}

// PipelineOptions configure NewPipeline. Nil means defaults.
type PipelineOptions struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// NewPipeline returns a pipeline publishing to pub.
func NewPipeline(pub Publisher, opts *PipelineOptions) *Pipeline {
	if opts == nil {
		opts = &PipelineOptions{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// An event carries its record up to twice (event.original and message)
	// plus fields: records are cut so that every event fits the bus.
	maxRecord := int(min(int64(parse.DefaultMaxRecordBytes), pub.MaxPayload()/3))
	// Room is left for the message's headers (its id).
	maxMessage := int(max(min(pub.MaxPayload()-4<<10, maxMessageBytes), 1))
	return &Pipeline{pub: pub, log: log.With("component", "ingest"), m: newMetrics(opts.Registerer), now: time.Now,
		maxRecord: maxRecord, maxMessage: maxMessage}
}

// parseConfig is the parser configuration for one source.
func (p *Pipeline) parseConfig(src Source) *parse.Config {
	return &parse.Config{SourceID: src.ID(), MaxRecordBytes: p.maxRecord}
}

// Source identifies where events come from.
type Source struct {
	// Kind is the source type: syslog, file, http.
	Kind string
	// Name is the configured name; Kind:Name becomes the events'
	// provenance source id.
	Name string
}

// ID is the provenance source id, "kind:name".
func (s Source) ID() string { return s.Kind + ":" + s.Name }

// maxMessageBytes bounds a bus message built from a batch; the bus may
// accept more (8 MiB embedded), but bigger messages save nothing more and
// make every consumer fetch hold more.
const maxMessageBytes = 1 << 20

// Batch collects one source's events until Flush publishes them. Events
// are encoded straight into the bus messages being built: a batch of 1,000
// filterlog events is one message, so its publish, deduplication, delivery
// and acknowledgement are paid once, not per event. A Batch is used by one
// goroutine at a time.
type Batch struct {
	p   *Pipeline
	src Source
	// msgs are the messages filled and waiting for Flush.
	msgs []bus.Message
	// cur holds the records of the message being filled, curN of them,
	// whose ids are hashed into ids for the message id.
	cur  []byte
	curN int
	ids  hash.Hash
	// n counts the events waiting, in msgs and cur.
	n int
	// spare holds the buffers of published messages for reuse.
	spare [][]byte
	enc   event.Encoder

	bytes, errors, trunc int
}

// NewBatch starts an empty batch for src.
func (p *Pipeline) NewBatch(src Source) *Batch {
	return &Batch{p: p, src: src, ids: sha256.New()}
}

// Add appends ev under id, which must identify the record stably when the
// source can re-send it (a file offset, an idempotency key): the bus
// message id is derived from the ids of the events it carries, so a
// re-sent batch is dropped by the bus, and the store skips an event whose
// id it holds.
func (b *Batch) Add(ev *event.Event, id string) {
	ev.Put("event.id", id)
	if ev.Provenance.SourceID == "" {
		ev.Provenance.SourceID = b.src.ID()
	}
	if ev.Provenance.IngestTime.IsZero() {
		ev.Provenance.IngestTime = b.p.now()
	}
	if ev.IsPipelineError() {
		b.errors++
	}
	if v, ok := ev.Get("event.truncated"); ok && v == true {
		b.trunc++
	}
	if b.cur == nil {
		b.cur = b.buffer()
	}
	start := len(b.cur)
	b.cur = append(b.enc.AppendJSON(b.cur, ev), '\n')
	if b.curN > 0 && len(b.cur) > b.p.maxMessage {
		// The event does not fit: the message closes before it and the
		// event starts the next one.
		next := append(b.buffer(), b.cur[start:]...)
		b.cur = b.cur[:start]
		b.closeMessage()
		b.cur = next
	}
	b.ids.Write([]byte(id))
	b.ids.Write([]byte{0})
	b.curN++
	b.n++
	b.bytes += len(ev.Original)
}

// buffer returns an empty message buffer, reusing a published one.
func (b *Batch) buffer() []byte {
	if n := len(b.spare); n > 0 {
		buf := b.spare[n-1]
		b.spare = b.spare[:n-1]
		return buf
	}
	return make([]byte, 0, min(64<<10, b.p.maxMessage+1))
}

// closeMessage turns the records in cur into a message. Its id hashes the
// ids of its events in order: publishing the same events again (a retry of
// a failed flush, an HTTP retry with the same Idempotency-Key, a file chunk
// read again after a crash) gives the same id.
func (b *Batch) closeMessage() {
	if b.curN == 0 {
		return
	}
	var sum [sha256.Size]byte
	id := hex.EncodeToString(b.ids.Sum(sum[:0])[:16])
	b.msgs = append(b.msgs, bus.Message{ID: id, Source: b.src.Kind, Data: b.cur})
	b.cur, b.curN = nil, 0
	b.ids.Reset()
}

// Len is the number of events waiting.
func (b *Batch) Len() int { return b.n }

// Flush publishes the waiting events and returns once the bus has stored
// them; only then may the source acknowledge their input. On error nothing
// is acknowledged and the batch keeps its events for a retry, in the same
// messages under the same ids.
func (b *Batch) Flush(ctx context.Context) error {
	b.closeMessage()
	if len(b.msgs) == 0 {
		return nil
	}
	if err := b.p.pub.Publish(ctx, b.msgs); err != nil {
		b.p.m.publishFailures.WithLabelValues(b.src.ID()).Inc()
		return err
	}
	id := b.src.ID()
	b.p.m.events.WithLabelValues(id).Add(float64(b.n))
	b.p.m.bytes.WithLabelValues(id).Add(float64(b.bytes))
	b.p.m.pipelineErrors.WithLabelValues(id).Add(float64(b.errors))
	b.p.m.truncated.WithLabelValues(id).Add(float64(b.trunc))
	for i := range b.msgs {
		// A buffer that grew far past a message's size (one huge
		// event) is not kept.
		if cap(b.msgs[i].Data) <= 2*b.p.maxMessage {
			b.spare = append(b.spare, b.msgs[i].Data[:0])
		}
	}
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	b.n, b.bytes, b.errors, b.trunc = 0, 0, 0, 0
	return nil
}

// nonce returns a random prefix for ids of records that are never re-sent.
func nonce() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Seed parses r with format and publishes every record as coming from src,
// returning once all are stored. It serves one-shot loads such as the demo
// scenario; record ids are random, so a second Seed stores the records again.
func (p *Pipeline) Seed(ctx context.Context, src Source, format string, r io.Reader) error {
	norm, err := parse.New(format, p.parseConfig(src))
	if err != nil {
		return err
	}
	b := p.NewBatch(src)
	prefix := nonce()
	sc := parse.NewScanner(r, norm)
	for sc.Scan() {
		b.Add(sc.Event(), store.RecordID(sc.Offset(), src.ID(), prefix))
		if b.Len() >= 1000 {
			if err := b.Flush(ctx); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return b.Flush(ctx)
}
