package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

// maxChunk bounds how much of a file is read, parsed and published at once.
const maxChunk = 4 << 20

// Offsets persists how far each tailed file has been stored, so a restart
// neither re-reads nor skips. Keys combine the source name and the file's
// identity (device and inode), which survive renames.
type Offsets struct {
	path string
	mu   sync.Mutex
	m    map[string]offsetEntry
}

type offsetEntry struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	// Generation counts truncations of the file: offsets restart at zero,
	// so record ids include it to stay unique.
	Generation int       `json:"generation"`
	Updated    time.Time `json:"updated"`
}

// OpenOffsets loads the offsets file at path (created on first save).
func OpenOffsets(path string) (*Offsets, error) {
	o := &Offsets{path: path, m: map[string]offsetEntry{}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return o, nil
	case err != nil:
		return nil, fmt.Errorf("reading offsets: %w", err)
	}
	if err := json.Unmarshal(b, &o.m); err != nil {
		return nil, fmt.Errorf("offsets file %s is corrupt: %w", path, err)
	}
	return o, nil
}

func (o *Offsets) get(key string) (offsetEntry, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.m[key]
	return e, ok
}

// commit records offset for key and writes the file atomically.
func (o *Offsets) commit(key, path string, offset int64, generation int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m[key] = offsetEntry{Path: path, Offset: offset, Generation: generation, Updated: time.Now().UTC()}
	b, err := json.MarshalIndent(o.m, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.path), 0o700); err != nil {
		return err
	}
	tmp := o.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing offsets: %w", err)
	}
	return os.Rename(tmp, o.path)
}

// Tailer follows the files matching a file source's globs.
type Tailer struct {
	cfg     config.FileSource
	p       *Pipeline
	src     Source
	offsets *Offsets
	log     *slog.Logger
	files   map[string]*tailed // by identity
}

type tailed struct {
	id     string
	path   string
	f      *os.File
	offset int64
	gen    int  // truncations seen
	gone   bool // no longer matched by the globs (rotated away or deleted)
}

// NewTailer prepares a tailer for cfg; offsets may be shared by tailers.
func (p *Pipeline) NewTailer(cfg config.FileSource, offsets *Offsets) (*Tailer, error) {
	if _, err := parse.New(cfg.Format, nil); err != nil {
		return nil, err
	}
	for _, g := range cfg.Paths {
		if _, err := filepath.Match(g, ""); err != nil {
			return nil, fmt.Errorf("file source %s: bad glob %q: %w", cfg.Name, g, err)
		}
	}
	src := Source{Kind: "file", Name: cfg.Name}
	return &Tailer{cfg: cfg, p: p, src: src, offsets: offsets, log: p.log.With("source", src.ID()), files: map[string]*tailed{}}, nil
}

// Run polls the files until ctx is done.
func (t *Tailer) Run(ctx context.Context) error {
	defer func() {
		for _, f := range t.files {
			f.f.Close()
		}
	}()
	t.log.Info("tailing files", "paths", t.cfg.Paths, "format", t.cfg.Format)
	tick := time.NewTicker(t.cfg.PollInterval)
	defer tick.Stop()
	for {
		t.poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// poll discovers files, then reads every file with unread data.
func (t *Tailer) poll(ctx context.Context) {
	seen := map[string]bool{}
	for _, g := range t.cfg.Paths {
		matches, _ := filepath.Glob(g)
		sort.Strings(matches)
		for _, path := range matches {
			fi, err := os.Stat(path)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			id := fileIdentity(path, fi)
			seen[id] = true
			if tf, ok := t.files[id]; ok {
				tf.path, tf.gone = path, false
				continue
			}
			if err := t.open(id, path, fi); err != nil {
				t.log.Warn("cannot open file", "path", path, "error", err)
			}
		}
	}
	for id, tf := range t.files {
		if !seen[id] {
			tf.gone = true
		}
		if err := t.read(ctx, tf); err != nil {
			if ctx.Err() == nil {
				t.log.Warn("reading file", "path", tf.path, "error", err)
			}
			continue
		}
		if tf.gone {
			// Rotated away or deleted, and read to its end: done with it.
			tf.f.Close()
			delete(t.files, id)
		}
	}
}

func (t *Tailer) open(id, path string, fi os.FileInfo) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	tf := &tailed{id: id, path: path, f: f}
	if e, ok := t.offsets.get(t.key(id)); ok {
		tf.offset, tf.gen = e.Offset, e.Generation
	} else if t.cfg.StartAt == "end" {
		tf.offset = fi.Size()
	}
	t.files[id] = tf
	t.log.Info("following file", "path", path, "offset", tf.offset)
	return nil
}

func (t *Tailer) key(id string) string { return t.src.ID() + "|" + id }

// read publishes the complete lines after the file's offset, a chunk at a
// time, committing the offset after each chunk is stored.
func (t *Tailer) read(ctx context.Context, tf *tailed) error {
	fi, err := tf.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < tf.offset {
		t.log.Warn("file truncated; reading it from the start", "path", tf.path, "size", fi.Size(), "offset", tf.offset)
		tf.offset = 0
		tf.gen++
	}
	buf := make([]byte, 0, 64<<10)
	for fi.Size() > tf.offset && ctx.Err() == nil {
		n := min(fi.Size()-tf.offset, maxChunk)
		buf = buf[:0]
		buf = append(buf, make([]byte, n)...)
		m, err := tf.f.ReadAt(buf, tf.offset)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		buf = buf[:m]
		end := bytes.LastIndexByte(buf, '\n') + 1
		if end == 0 {
			if !tf.gone && int64(len(buf)) < maxChunk {
				return nil // an unfinished last line: wait for its newline
			}
			end = len(buf) // a file that ended without a newline, or one huge line
		}
		if err := t.publish(ctx, tf, buf[:end]); err != nil {
			return err
		}
		tf.offset += int64(end)
		if err := t.offsets.commit(t.key(tf.id), tf.path, tf.offset, tf.gen); err != nil {
			return err
		}
	}
	return nil
}

// publish parses a chunk that starts at tf.offset and stores its events.
// Ids come from the file identity, its truncation generation and the
// record's byte offset, so re-reading after a crash, however the file is
// split into chunks, yields the same ids and the bus drops the replay.
func (t *Tailer) publish(ctx context.Context, tf *tailed, chunk []byte) error {
	norm, err := parse.New(t.cfg.Format, t.p.parseConfig(t.src))
	if err != nil {
		return err
	}
	b := t.p.NewBatch(t.src)
	sc := parse.NewScanner(bytes.NewReader(chunk), norm)
	gen := strconv.Itoa(tf.gen)
	for sc.Scan() {
		ev := sc.Event()
		ev.Put("log.file.path", tf.path)
		b.Add(ev, store.RecordID(tf.offset+sc.Offset(), t.src.ID(), tf.id, gen))
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
