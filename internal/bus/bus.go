// Package bus carries normalized events from ingest sources to their
// consumers (storage, detection) over NATS JetStream. By default it embeds a
// JetStream server in the process, with file storage under the data
// directory; given a URL it uses an external NATS cluster instead. Both ways
// run the same code: only how the connection is made differs.
//
// A message carries one or more records (encoded events), each ended by a
// newline; a record never contains a newline itself (event JSON escapes
// it). Publish, deduplication, delivery and acknowledgement are per message,
// so a source publishes a whole batch of events as one message and pays
// those costs once for the batch. A message written by an older version,
// one record without a newline, reads the same way.
//
// A payload of at least minCompress bytes is stored compressed (S2 block
// format) when that saves an eighth or more; the message then carries
// headers naming the encoding and its record count (see payload). The
// store and the bus each write every event to disk, and on this kind of
// machine the bytes written, not the work of compressing them, dominate.
// Older messages, uncompressed and without these headers, read as before.
//
// A publish returns only once JetStream has stored every message, so a
// source may acknowledge its input (HTTP 2xx, a file offset commit) when
// Publish returns nil. Messages carry an id; JetStream drops a message whose
// id it saw within the duplicate window, so a source that re-sends the same
// batch after a crash or a failed publish does not duplicate it.
package bus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure Open. Zero values take defaults.
type Options struct {
	// URL of an external NATS server or cluster ("nats://host:4222",
	// comma-separated for several). Empty embeds a JetStream server.
	URL string
	// DataDir holds the embedded server's file storage (DataDir/bus).
	DataDir string
	// Stream names the JetStream stream (default MCPSOC_EVENTS).
	Stream string
	// Subject is the subject prefix of event messages (default
	// "mcpsoc.events"); the source kind is appended. Streams on one NATS
	// server must not share subjects.
	Subject string
	// MaxBytes and MaxAge bound what the stream retains (defaults 10 GiB, 7
	// days); storage keeps the events, the bus only buffers them.
	MaxBytes int64
	MaxAge   time.Duration
	// DuplicateWindow is how long message ids are remembered (default 10m).
	DuplicateWindow time.Duration
	// SyncAlways makes the embedded server fsync every message before
	// acknowledging it, so an acknowledged event survives a power loss, not
	// only a crash of the process. Ignored for an external cluster, which
	// has its own setting.
	SyncAlways bool
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Bus is a connection to the event stream. It is safe for concurrent use.
type Bus struct {
	opts    Options
	log     *slog.Logger
	ns      *server.Server // embedded server, nil when external
	nc      *nats.Conn
	js      jetstream.JetStream
	metrics *metrics
}

// Open starts the embedded server (or connects to opts.URL) and makes sure
// the event stream exists.
func Open(ctx context.Context, opts Options) (*Bus, error) {
	if opts.Stream == "" {
		opts.Stream = "MCPSOC_EVENTS"
	}
	if opts.Subject == "" {
		opts.Subject = "mcpsoc.events"
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 10 << 30
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 7 * 24 * time.Hour
	}
	if opts.DuplicateWindow <= 0 {
		opts.DuplicateWindow = 10 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{opts: opts, log: log.With("component", "bus"), metrics: newMetrics(opts.Registerer)}
	var err error
	if opts.URL == "" {
		err = b.startEmbedded()
	} else {
		b.nc, err = nats.Connect(opts.URL, nats.Name("mcpsoc"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(false))
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	if b.js, err = jetstream.New(b.nc); err != nil {
		b.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	_, err = b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       opts.Stream,
		Subjects:   []string{opts.Subject + ".>"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
		MaxBytes:   opts.MaxBytes,
		MaxAge:     opts.MaxAge,
		Duplicates: opts.DuplicateWindow,
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("creating stream %s: %w", opts.Stream, err)
	}
	mode := "embedded"
	if opts.URL != "" {
		mode = "external"
	}
	b.log.Info("bus ready", "mode", mode, "stream", opts.Stream)
	return b, nil
}

func (b *Bus) startEmbedded() error {
	if b.opts.DataDir == "" {
		return errors.New("bus: embedded mode needs a data directory")
	}
	dir := filepath.Join(b.opts.DataDir, "bus")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("bus storage: %w", err)
	}
	ns, err := server.NewServer(&server.Options{
		ServerName:             "mcpsoc-embedded",
		DontListen:             true, // in-process connections only: nothing to secure on the network
		JetStream:              true,
		StoreDir:               dir,
		NoSigs:                 true,
		NoLog:                  true,
		DisableJetStreamBanner: true,
		// Room for a maximal record (1 MiB) twice over (original and
		// message) plus its fields.
		MaxPayload: 8 << 20,
		SyncAlways: b.opts.SyncAlways,
	})
	if err != nil {
		return fmt.Errorf("embedded bus: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return errors.New("embedded bus did not start within 30s")
	}
	b.ns = ns
	b.nc, err = nats.Connect("", nats.InProcessServer(ns), nats.Name("mcpsoc"))
	if err != nil {
		return fmt.Errorf("connecting to the embedded bus: %w", err)
	}
	return nil
}

// MaxPayload is the largest message the bus accepts.
func (b *Bus) MaxPayload() int64 { return b.nc.MaxPayload() }

// Close drains the connection and stops the embedded server.
func (b *Bus) Close() error {
	if b.nc != nil {
		_ = b.nc.Drain()
		b.nc.Close()
	}
	if b.ns != nil {
		b.ns.Shutdown()
		b.ns.WaitForShutdown()
	}
	return nil
}

// Message is one bus message to publish: one or more records.
type Message struct {
	// ID identifies the message for deduplication; the same ID published
	// twice within the duplicate window is stored once. A message of many
	// records needs an id derived from all of them (see ingest.Batch), so
	// that only a true re-send of the same records is dropped.
	ID string
	// Source is the kind of source ("syslog", "file", "http"); it becomes
	// the last subject token.
	Source string
	// Data holds the records, each followed by a newline (a last record
	// without one is accepted). Records must not contain a newline.
	Data []byte
}

// Publish stores msgs in the stream and returns once every one is
// persisted (or known to be a duplicate). On error some messages may have
// been stored; re-publishing them with the same ids is safe.
func (b *Bus) Publish(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		if m.ID == "" {
			return errors.New("bus: message without an id")
		}
		f, err := b.js.PublishMsgAsync(encode(b.opts.Subject+"."+subjectToken(m.Source), m.Data), jetstream.WithMsgID(m.ID))
		if err != nil {
			return fmt.Errorf("publishing: %w", err)
		}
		futures = append(futures, f)
	}
	dups := 0
	for _, f := range futures {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				dups++
			}
		case err := <-f.Err():
			b.metrics.publishErrors.Inc()
			return fmt.Errorf("publishing: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.metrics.published.Add(float64(len(msgs) - dups))
	b.metrics.duplicates.Add(float64(dups))
	return nil
}

func subjectToken(s string) string {
	if s == "" {
		return "unknown"
	}
	out := []byte(s)
	for i, c := range out {
		if c == '.' || c == '*' || c == '>' || c == ' ' || c < 0x21 || c > 0x7e {
			out[i] = '_'
		}
	}
	return string(out)
}

// Delivery is one consumed record.
type Delivery struct {
	// ID is the id of the message that carried the record (shared by all
	// the records of that message).
	ID string
	// Data is the record without its newline.
	Data []byte
}

// Handler processes a batch of deliveries. Returning nil acknowledges the
// messages that carried them; an error leaves them all to be redelivered.
type Handler func(ctx context.Context, batch []Delivery) error

// AsyncHandler processes a batch of deliveries and calls done exactly
// once, possibly after it returned, from any goroutine: done(nil)
// acknowledges the messages that carried the batch, done(err) leaves them
// to be redelivered. The batch stays valid until done is called.
type AsyncHandler func(ctx context.Context, batch []Delivery, done func(error))

// splitRecords appends the records of one message to ds.
func splitRecords(ds []Delivery, id string, data []byte) []Delivery {
	for len(data) > 0 {
		rec := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			rec, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(rec) > 0 {
			ds = append(ds, Delivery{ID: id, Data: rec})
		}
	}
	return ds
}

// Payload encoding: the headers of a compressed message, and the bounds of
// compression.
const (
	encodingHeader = "Mcpsoc-Encoding"
	recordsHeader  = "Mcpsoc-Records"
	encodingS2     = "s2"
	// Payloads below minCompress go as they are: a single small record
	// gains little.
	minCompress = 1 << 10
	// maxDecoded bounds what a compressed payload may expand to, so a
	// message on a shared cluster cannot make a consumer allocate without
	// limit. Publishers stay under the server's max payload before
	// compression (8 MiB embedded), far below it.
	maxDecoded = 64 << 20
)

// encode builds the message that stores data on subject, compressed when
// that pays.
func encode(subject string, data []byte) *nats.Msg {
	m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	if len(data) < minCompress || len(data) > maxDecoded {
		return m
	}
	c := s2.Encode(nil, data)
	if len(c) > len(data)-len(data)/8 {
		return m
	}
	m.Data = c
	m.Header.Set(encodingHeader, encodingS2)
	m.Header.Set(recordsHeader, strconv.Itoa(countRecords(data)))
	return m
}

// countRecords counts the records of an uncompressed payload.
func countRecords(data []byte) int {
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// payload returns the records of a message as they were published.
func payload(h nats.Header, data []byte) ([]byte, error) {
	switch enc := h.Get(encodingHeader); enc {
	case "":
		return data, nil
	case encodingS2:
		n, err := s2.DecodedLen(data)
		if err != nil {
			return nil, fmt.Errorf("s2 payload: %w", err)
		}
		if n > maxDecoded {
			return nil, fmt.Errorf("s2 payload expands to %d bytes, more than %d", n, maxDecoded)
		}
		out, err := s2.Decode(make([]byte, n), data)
		if err != nil {
			return nil, fmt.Errorf("s2 payload: %w", err)
		}
		return out, nil
	default:
		// A newer version's encoding: drain the bus before downgrading.
		return nil, fmt.Errorf("unknown payload encoding %q", enc)
	}
}

// measure reports, without decoding, how many records a message carries
// and its payload's decoded size (its own size when that is unknown).
func measure(h nats.Header, data []byte) (records, size int) {
	if h.Get(encodingHeader) == "" {
		return countRecords(data), len(data)
	}
	records, _ = strconv.Atoi(h.Get(recordsHeader))
	size = len(data)
	if n, err := s2.DecodedLen(data); err == nil && n <= maxDecoded {
		size = n
	}
	return max(records, 1), size
}

// ackWait is how long a delivered message may stay unacknowledged before
// JetStream redelivers it. A batch being handled is kept alive with
// in-progress signals, so this only bounds how late a batch in flight when
// the process died is delivered again after a restart.
const ackWait = 30 * time.Second

// Consume runs a durable consumer named name until ctx is done, handing
// batches of about maxRecords records to h (whole messages: a batch may
// exceed maxRecords by the records of its last message). The messages of a
// batch are acknowledged after h succeeds, so a crash between storing and
// acknowledging only causes a redelivery (consumers must be idempotent;
// the store is).
func (b *Bus) Consume(ctx context.Context, name string, maxRecords int, h Handler) error {
	return b.ConsumeAsync(ctx, name, maxRecords, 1, func(ctx context.Context, batch []Delivery, done func(error)) {
		done(h(ctx, batch))
	})
}

// ConsumeAsync is Consume for a handler that finishes a batch after it
// returns: up to pending batches may be handed out and not yet done, so a
// consumer can run stages of its work on different batches at once (store
// one batch while detection works on the one before). Each batch is
// acknowledged only when its done(nil) is called. ConsumeAsync returns
// once ctx is done and every batch handed out is done.
func (b *Bus) ConsumeAsync(ctx context.Context, name string, maxRecords, pending int, h AsyncHandler) error {
	pending = max(pending, 1)
	cons, err := b.js.CreateOrUpdateConsumer(ctx, b.opts.Stream, jetstream.ConsumerConfig{
		Durable: name,
		// Explicit: acknowledging one message must never acknowledge an
		// earlier one. With ack-all, a batch in flight when the process
		// died was acknowledged by the first batch after the restart,
		// unstored (the crash test caught it).
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   ackWait,
		// Batches handed out and not done, the one fetched ahead and the
		// one being fetched, with room to spare.
		MaxAckPending: maxRecords * (pending + 3),
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("consumer %s: %w", name, err)
	}
	log := b.log.With("consumer", name)
	// The next batch is fetched while the handler works on the current
	// one, so the bus's side of the work overlaps the consumer's.
	fetched := make(chan []jetstream.Msg, 1)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(fetched)
		f := &fetcher{cons: cons, maxRecords: maxRecords, perMsg: 64}
		for fctx.Err() == nil {
			msgs, err := f.fetch()
			if err != nil {
				if fctx.Err() != nil {
					return
				}
				log.Warn("fetching", "error", err)
				sleep(fctx, time.Second)
				continue
			}
			if len(msgs) == 0 {
				continue
			}
			select {
			case fetched <- msgs:
			case <-fctx.Done():
				return
			}
		}
	}()

	// slots holds one token per batch that may be handed out; a done
	// returns its token with the batch's outcome.
	slots := make(chan error, pending)
	for range pending {
		slots <- nil
	}
	backoff := 100 * time.Millisecond
	for msgs := range fetched {
		if err := <-slots; err != nil {
			// A batch failed: wait before handing out the next, so a
			// failing store is not hammered.
			sleep(ctx, backoff)
			backoff = min(backoff*2, 30*time.Second)
		} else {
			backoff = 100 * time.Millisecond
		}
		var ds []Delivery
		for _, m := range msgs {
			data, err := payload(m.Headers(), m.Data())
			if err != nil {
				// It can never be read: redelivering it would only
				// repeat this. Counted and logged, like a record that is
				// not an event.
				b.metrics.undecodable.Inc()
				log.Error("bus message cannot be decoded; dropped", "message", m.Headers().Get(jetstream.MsgIDHeader), "error", err)
				_ = m.Term()
				continue
			}
			ds = splitRecords(ds, m.Headers().Get(jetstream.MsgIDHeader), data)
		}
		stop := keepAlive(msgs)
		var once sync.Once
		retry := backoff
		done := func(err error) {
			once.Do(func() {
				stop()
				if err != nil {
					log.Warn("handler failed; batch will be redelivered", "error", err, "messages", len(msgs), "retry_in", retry)
					for _, m := range msgs {
						_ = m.NakWithDelay(retry)
					}
				} else {
					// Acknowledgements are sent without waiting for
					// confirmation (waiting cost a round trip per
					// message); one that is lost means a redelivery,
					// which consumers absorb.
					for _, m := range msgs {
						if err := m.Ack(); err != nil && ctx.Err() == nil {
							log.Warn("acknowledging", "error", err)
							break
						}
					}
					b.metrics.consumed.WithLabelValues(name).Add(float64(len(ds)))
				}
				slots <- err
			})
		}
		h(ctx, ds, done)
	}
	// Wait for the batches still being handled.
	for range pending {
		<-slots
	}
	return nil
}

// DeleteConsumer removes the durable consumer name if it exists, and
// reports whether it did and how many messages it had not acknowledged.
func (b *Bus) DeleteConsumer(ctx context.Context, name string) (pending uint64, existed bool, err error) {
	cons, err := b.js.Consumer(ctx, b.opts.Stream, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("consumer %s: %w", name, err)
	}
	if info := cons.CachedInfo(); info != nil {
		pending = info.NumPending + uint64(info.NumAckPending)
	}
	if err := b.js.DeleteConsumer(ctx, b.opts.Stream, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return pending, true, fmt.Errorf("deleting consumer %s: %w", name, err)
	}
	return pending, true, nil
}

// Fetch limits. Messages are fetched by count, but a batch is sized in
// records: a fetch asks for the records still wanted divided by the
// records per message seen so far, at most maxFetchMsgs messages at a time,
// and the batch stops growing at maxFetchBytes. A backlog of big messages
// after a run of small ones thus costs at most maxFetchMsgs messages of
// overshoot, and one of single-event messages (an older version's) a few
// dozen fetches per batch.
const (
	maxFetchMsgs  = 128
	maxFetchBytes = 64 << 20
)

// fetcher gathers batches for one consumer.
type fetcher struct {
	cons       jetstream.Consumer
	maxRecords int
	perMsg     float64 // records per message, a running estimate
}

// fetch returns about maxRecords records' worth of messages: at once what
// the consumer has pending, or else the first message to arrive within
// half a second together with whatever is pending after it. A plain
// Fetch(n) waits until n messages are there or its wait ends, which holds
// back a partial batch for the whole wait.
func (f *fetcher) fetch() ([]jetstream.Msg, error) {
	var msgs []jetstream.Msg
	recs, size := 0, 0
	collect := func(batch jetstream.MessageBatch) int {
		n := 0
		for m := range batch.Messages() {
			msgs = append(msgs, m)
			r, s := measure(m.Headers(), m.Data())
			recs += max(1, r)
			size += s
			n++
		}
		return n
	}
	// pending adds what is there without waiting, until the batch is full.
	pending := func() error {
		for recs < f.maxRecords && size < maxFetchBytes {
			want := min(max(1, int(float64(f.maxRecords-recs)/f.perMsg)), maxFetchMsgs)
			batch, err := f.cons.FetchNoWait(want)
			if err != nil {
				return err
			}
			if collect(batch) < want {
				return nil // nothing more pending
			}
		}
		return nil
	}
	if err := pending(); err != nil && len(msgs) == 0 {
		return nil, err
	}
	if len(msgs) == 0 {
		batch, err := f.cons.Fetch(1, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			return nil, err
		}
		if collect(batch) == 0 {
			return nil, nil
		}
		_ = pending() // on error, the ones already fetched go out; the rest next time
	}
	f.perMsg = (f.perMsg + float64(recs)/float64(len(msgs))) / 2
	return msgs, nil
}

// keepAlive tells JetStream, every third of ackWait, that msgs are still
// being worked on, until the returned function is called.
func keepAlive(msgs []jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					_ = m.InProgress()
				}
			}
		}
	}()
	return func() { close(done) }
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
