package parse

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"github.com/mcpsoc/mcpsoc/internal/event"
)

// Stats counts what a Scanner read and produced.
type Stats struct {
	Lines          int64 // physical lines read, blank ones included
	Events         int64 // events produced (pipeline errors included)
	PipelineErrors int64 // events of kind pipeline_error
	Truncated      int64 // records cut at the size limit
}

// Scanner reads records from an io.Reader and normalizes them, one event
// per Scan. Lines are records, except for formats implementing MultiLiner
// (and "auto", which asks every registered MultiLiner), whose records are
// gathered from the line that Begins one to the line that Ends it; a new
// beginning or the end of input also closes a record, so a cut-off
// transaction is still parsed; an opener directly after the first line of a
// record belongs to it (a header line followed by the body's opener). Lines
// longer than the record limit are
// truncated without buffering the excess. Blank lines outside multi-line
// records are skipped.
//
// A Scanner is not safe for concurrent use.
type Scanner struct {
	n       *Normalizer
	r       *bufio.Reader
	ev      *event.Event
	err     error
	stats   Stats
	buf     []byte
	pending []byte
	hasPend bool
	pendLen int
	eof     bool

	pos       int64 // bytes consumed from the input
	lineStart int64 // input offset of the line next returned last
	pendStart int64 // input offset of the pending line
	recStart  int64 // input offset of the current record
}

// NewScanner returns a Scanner reading r with n.
func NewScanner(r io.Reader, n *Normalizer) *Scanner {
	return &Scanner{n: n, r: bufio.NewReaderSize(r, 64<<10)}
}

// Scan advances to the next event. It returns false at the end of input or
// on a read error (see Err).
func (s *Scanner) Scan() bool {
	for {
		line, size, ok := s.next()
		if !ok {
			return false
		}
		s.recStart = s.lineStart
		if m := s.n.opener(line); m != nil {
			s.emit(s.gather(m, line, size))
			return true
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		s.ev = new(event.Event)
		s.n.parse(s.ev, line, size)
		s.count()
		return true
	}
}

type gathered struct {
	text []byte
	size int
}

// gather collects a multi-line record that starts with first.
func (s *Scanner) gather(m MultiLiner, first []byte, size int) gathered {
	max := s.n.cfg.maxRecord()
	acc := append([]byte(nil), first...)
	total := size
	for nLines := 1; ; nLines++ {
		line, lsize, ok := s.next()
		if !ok {
			break
		}
		// A second opener right after the first joins it: evtx_dump writes a
		// "Record N" header line and then the "{" that opens the JSON.
		if m.Begins(line) && nLines > 1 {
			s.pending = append(s.pending[:0], line...)
			s.pendLen = lsize
			s.pendStart = s.lineStart
			s.hasPend = true
			break
		}
		total += 1 + lsize
		if len(acc)+1+len(line) <= max {
			acc = append(acc, '\n')
			acc = append(acc, line...)
		}
		if m.Ends(line) {
			break
		}
	}
	return gathered{acc, total}
}

func (s *Scanner) emit(g gathered) {
	s.ev = new(event.Event)
	s.n.parse(s.ev, g.text, g.size)
	s.count()
}

func (s *Scanner) count() {
	s.stats.Events++
	if s.ev.IsPipelineError() {
		s.stats.PipelineErrors++
	}
	if v, ok := s.ev.Get("event.truncated"); ok && v == true {
		s.stats.Truncated++
	}
}

// next returns the next physical line without its end-of-line bytes and its
// size before any truncation. The slice is valid until the next call.
func (s *Scanner) next() (line []byte, size int, ok bool) {
	if s.hasPend {
		s.hasPend = false
		s.lineStart = s.pendStart
		return s.pending, s.pendLen, true
	}
	if s.eof {
		return nil, 0, false
	}
	max := s.n.cfg.maxRecord()
	s.buf = s.buf[:0]
	size = 0
	s.lineStart = s.pos
	var prev byte // last byte of the previous chunk
	for {
		chunk, err := s.r.ReadSlice('\n')
		size += len(chunk)
		s.pos += int64(len(chunk))
		if room := max + 1 - len(s.buf); room > 0 {
			s.buf = append(s.buf, chunk[:min(len(chunk), room)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(chunk) > 0 {
				prev = chunk[len(chunk)-1]
			}
			continue
		}
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.err = err
			}
			if size == 0 {
				return nil, 0, false
			}
			break
		}
		// The chunk ends with the newline: do not count it, nor a CR before it.
		size--
		before := prev
		if len(chunk) >= 2 {
			before = chunk[len(chunk)-2]
		}
		if before == '\r' {
			size--
		}
		break
	}
	s.stats.Lines++
	line = s.buf
	if len(line) > size {
		line = line[:size] // drop the newline (and CR) we copied
	}
	return line, size, true
}

// Offset returns the byte offset in the input of the first line of the
// record behind the last successful Scan. Sources use it to give a record
// the same identity however the input is split into reads.
func (s *Scanner) Offset() int64 { return s.recStart }

// Event returns the event produced by the last successful Scan.
func (s *Scanner) Event() *event.Event { return s.ev }

// Err returns the first read error, nil at a clean end of input.
func (s *Scanner) Err() error { return s.err }

// Stats returns the counts so far.
func (s *Scanner) Stats() Stats { return s.stats }
