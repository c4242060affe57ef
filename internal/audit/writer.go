package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// SyncPolicy says when the writer calls fsync.
type SyncPolicy int

const (
	// SyncInterval (the default) fsyncs at most every SyncOptions.Interval
	// (default 200ms) from a background goroutine, and on Close: a power
	// loss can lose at most that window, a process crash loses nothing
	// that Append returned for (each record is written to the kernel before
	// Append returns).
	SyncInterval SyncPolicy = iota
	// SyncAlways fsyncs before Append returns: nothing acknowledged is ever
	// lost, at the price of one disk flush per record.
	SyncAlways
	// SyncNever leaves flushing to the operating system (tests, tmpfs).
	SyncNever
)

// ParseSyncPolicy maps "interval", "always" and "never" to a SyncPolicy.
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch s {
	case "", "interval":
		return SyncInterval, nil
	case "always":
		return SyncAlways, nil
	case "never":
		return SyncNever, nil
	}
	return 0, fmt.Errorf("unknown audit sync policy %q (want interval, always or never)", s)
}

// Options tunes Open. Nil means defaults.
type Options struct {
	Sync SyncPolicy
	// Interval is the fsync period under SyncInterval; 0 means 200ms.
	Interval time.Duration
	// Now returns the record time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Writer appends records to one log file. It is safe for concurrent use;
// records are chained in the order Append calls obtain the lock.
//
// Appends are group-committed: each record is hashed and queued under mu,
// then whichever caller gets wmu first writes every queued line with one
// write (and, under SyncAlways, one fsync); the callers whose records that
// write carried return without writing. Append still returns only once its
// own record has been handed to the operating system (or synced), so the
// durability promises of the sync policies are unchanged.
type Writer struct {
	mu      sync.Mutex
	f       *os.File
	head    Head // head of the chain, including queued records
	pending []byte
	now     func() time.Time
	policy  SyncPolicy
	closed  bool
	err     error // sticky write error: the chain cannot continue safely

	wmu     sync.Mutex // serializes writes and syncs
	written Head       // head of what has been written
	spare   []byte
	dirty   bool // written since the last fsync (under wmu)

	stop chan struct{}
	done chan struct{}
}

// eventBufs holds buffers for encoding events outside the lock.
var eventBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func putEventBuf(eb *[]byte, buf []byte) {
	if cap(buf) <= 64<<10 { // a rare huge record does not stay pooled
		*eb = buf[:0]
		eventBufs.Put(eb)
	}
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("audit log closed")

// Open opens (creating with mode 0600 if needed) the log at path, verifies
// the existing chain and positions the writer after its head. A torn final
// line is cut off and the recovery recorded; any other break in the chain
// is returned as a *ChainError and nothing is written.
func Open(path string, opts *Options) (*Writer, error) {
	if opts == nil {
		opts = &Options{}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening audit log: %w", err)
	}
	w := &Writer{f: f, now: opts.Now, policy: opts.Sync}
	if w.now == nil {
		w.now = time.Now
	}
	torn, err := w.recover()
	if err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, fmt.Errorf("opening audit log: %w", err)
	}
	if torn != nil {
		detail, _ := json.Marshal(map[string]any{"dropped_bytes": len(torn), "dropped_hash": HashBytes(torn)})
		if _, err := w.Append(Event{Kind: "audit.recovered", Reason: "torn final line removed on open", Detail: detail}); err != nil {
			f.Close()
			return nil, err
		}
	}
	if w.policy == SyncInterval {
		iv := opts.Interval
		if iv <= 0 {
			iv = 200 * time.Millisecond
		}
		w.stop, w.done = make(chan struct{}), make(chan struct{})
		go w.syncLoop(iv)
	}
	return w, nil
}

// recover verifies the file and truncates a torn final line, returning the
// dropped bytes.
func (w *Writer) recover() ([]byte, error) {
	data, err := io.ReadAll(w.f)
	if err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	var torn []byte
	if n := len(data); n > 0 && data[n-1] != '\n' {
		cut := bytes.LastIndexByte(data, '\n') + 1
		torn = append([]byte(nil), data[cut:]...)
		data = data[:cut]
	}
	head, err := Verify(bytes.NewReader(data), nil)
	if err != nil {
		return nil, fmt.Errorf("audit log %s does not verify, refusing to extend it: %w", w.f.Name(), err)
	}
	if torn != nil {
		if err := w.f.Truncate(int64(len(data))); err != nil {
			return nil, fmt.Errorf("truncating torn audit record: %w", err)
		}
	}
	w.head, w.written = head, head
	return torn, nil
}

// Append chains ev after the current head, writes it and returns the new
// record. After a write error the writer refuses further records (a partial
// write would otherwise be extended); Close and reopen to recover.
func (w *Writer) Append(ev Event) (*Record, error) {
	if ev.Kind == "" {
		return nil, errors.New("audit: event without kind")
	}
	// The event's members are encoded before taking the lock; only what
	// depends on the chain's position (sequence, time, prev, hash) is done
	// under it.
	eb := eventBufs.Get().(*[]byte)
	buf, ok := appendEvent((*eb)[:0], &ev)
	defer putEventBuf(eb, buf)
	event := buf
	if !ok {
		event = nil // appendLine falls back to json.Marshal, which says why
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, ErrClosed
	}
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return nil, err
	}
	rec := &Record{Seq: w.head.Seq + 1, Time: w.now().UTC(), Event: ev, Prev: w.head.Hash}
	// The line is built at the end of the queue, and cut off again if it
	// cannot go out.
	start := len(w.pending)
	var err error
	w.pending, err = appendLine(w.pending, rec, event)
	if err != nil {
		w.pending = w.pending[:start]
		w.mu.Unlock()
		return nil, fmt.Errorf("audit: encoding record: %w", err)
	}
	if n := len(w.pending) - start; n > MaxLineBytes {
		w.pending = w.pending[:start]
		w.mu.Unlock()
		return nil, fmt.Errorf("audit: record of %d bytes exceeds %d", n, MaxLineBytes)
	}
	w.head = Head{Seq: rec.Seq, Hash: rec.Hash}
	w.mu.Unlock()
	if err := w.flush(rec.Seq); err != nil {
		return nil, err
	}
	return rec, nil
}

// flush returns once the record numbered seq has been written (by this
// caller, with every record queued so far, or by another one before it).
func (w *Writer) flush(seq uint64) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.written.Seq >= seq {
		return nil
	}
	w.mu.Lock()
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	batch, head := w.pending, w.head
	w.pending = w.spare[:0]
	w.mu.Unlock()
	err := w.writeBatch(batch)
	w.spare = batch[:0]
	if err != nil {
		w.mu.Lock()
		if w.err == nil {
			w.err = err
		}
		w.mu.Unlock()
		return err
	}
	w.written = head
	return nil
}

// writeBatch writes queued lines (wmu held).
func (w *Writer) writeBatch(batch []byte) error {
	if _, err := w.f.Write(batch); err != nil {
		return fmt.Errorf("audit: writing record: %w", err)
	}
	if w.policy == SyncAlways {
		if err := w.f.Sync(); err != nil {
			return fmt.Errorf("audit: syncing record: %w", err)
		}
		return nil
	}
	w.dirty = true
	return nil
}

// Err reports why the writer cannot append (a past write or sync error,
// or ErrClosed), or nil when it can. Callers that must not act without an
// audit record check it first.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	return w.err
}

// Head returns the head of the records written so far, for anchoring
// outside the file.
func (w *Writer) Head() Head {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.written
}

func (w *Writer) syncLoop(iv time.Duration) {
	defer close(w.done)
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			// fsync outside wmu: it covers everything written before it
			// starts, and appends need not wait for the disk meanwhile.
			w.wmu.Lock()
			dirty := w.dirty
			w.dirty = false
			w.wmu.Unlock()
			if dirty {
				if err := w.f.Sync(); err != nil {
					w.mu.Lock()
					if w.err == nil {
						w.err = fmt.Errorf("audit: syncing: %w", err)
					}
					w.mu.Unlock()
				}
			}
		}
	}
}

// Close stops the sync loop, fsyncs and closes the file. It is safe to call
// more than once.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	if w.stop != nil {
		close(w.stop)
		<-w.done
	}
	// Records queued by Appends that have not flushed yet still go out.
	w.wmu.Lock()
	w.mu.Lock()
	batch, head := w.pending, w.head
	w.pending = nil
	failed := w.err != nil
	w.mu.Unlock()
	var errs []error
	if len(batch) > 0 && !failed {
		if err := w.writeBatch(batch); err != nil {
			errs = append(errs, err)
		} else {
			w.written = head
		}
	}
	w.wmu.Unlock()
	if w.policy != SyncNever {
		errs = append(errs, w.f.Sync())
	}
	errs = append(errs, w.f.Close())
	return errors.Join(errs...)
}
