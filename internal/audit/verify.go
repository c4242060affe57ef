package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Head identifies the last record of a chain.
type Head struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// ChainError names the first record that breaks the chain.
type ChainError struct {
	// Line is the 1-based line number in the file.
	Line int
	// Seq is the sequence number the record claims (0 when it could not be
	// parsed).
	Seq uint64
	// Reason says what is wrong, in words an operator can act on.
	Reason string
}

func (e *ChainError) Error() string {
	if e.Seq > 0 {
		return fmt.Sprintf("line %d (seq %d): %s", e.Line, e.Seq, e.Reason)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// VerifyOptions tunes Verify. The zero value checks the chain only.
type VerifyOptions struct {
	// ExpectHead, when set, must equal the chain's head: a mismatch reports
	// records cut off the end (or appended after the head was anchored).
	ExpectHead *Head
}

// Verify reads a whole log and checks every record: canonical form, hash,
// sequence (starting at 1, no gaps or repeats) and the link to the previous
// record. It returns the head (whose Seq is the number of records) when the
// chain is intact, or a *ChainError naming the first bad record. Read errors are
// returned as they are.
func Verify(r io.Reader, opts *VerifyOptions) (Head, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head := Head{Hash: GenesisPrev}
	line := 0
	for {
		raw, err := readLine(br)
		if errors.Is(err, io.EOF) && raw == nil {
			break
		}
		line++
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, errLineTooLong) {
			return head, err
		}
		if errors.Is(err, errLineTooLong) {
			return head, &ChainError{Line: line, Reason: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}
		}
		if errors.Is(err, io.EOF) {
			// A final line without its newline: a torn write or an edit.
			return head, &ChainError{Line: line, Reason: "last line is not newline-terminated (torn write or edit)"}
		}
		rec, cerr := checkRecord(raw, head)
		if cerr != nil {
			cerr.Line = line
			return head, cerr
		}
		head = Head{Seq: rec.Seq, Hash: rec.Hash}
	}
	if opts != nil && opts.ExpectHead != nil && *opts.ExpectHead != head {
		return head, &ChainError{Line: line, Seq: head.Seq,
			Reason: fmt.Sprintf("head is seq %d hash %s, expected seq %d hash %s (records missing at or appended after the end)",
				head.Seq, head.Hash, opts.ExpectHead.Seq, opts.ExpectHead.Hash)}
	}
	return head, nil
}

// checkRecord verifies one line against the head before it.
func checkRecord(raw []byte, prev Head) (*Record, *ChainError) {
	rec, err := ParseRecord(raw)
	if err != nil {
		return nil, &ChainError{Reason: err.Error()}
	}
	ce := func(format string, a ...any) *ChainError {
		return &ChainError{Seq: rec.Seq, Reason: fmt.Sprintf(format, a...)}
	}
	want, err := computeHash(rec)
	if err != nil {
		return nil, ce("cannot encode record: %v", err)
	}
	if rec.Hash != want {
		return nil, ce("hash mismatch: record content was altered")
	}
	if rec.Seq != prev.Seq+1 {
		switch {
		case rec.Seq <= prev.Seq:
			return nil, ce("sequence goes back from %d to %d (records reordered or duplicated)", prev.Seq, rec.Seq)
		default:
			return nil, ce("sequence jumps from %d to %d (records deleted)", prev.Seq, rec.Seq)
		}
	}
	if rec.Prev != prev.Hash {
		return nil, ce("prev hash does not match the preceding record (records inserted, deleted or reordered)")
	}
	return rec, nil
}

var errLineTooLong = errors.New("line too long")

// readLine returns the next line without its newline. At the end of input it
// returns (nil, io.EOF); a final unterminated line comes back with io.EOF.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > MaxLineBytes+1 {
			// Drain the rest of the line so a caller could continue.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			return []byte{}, errLineTooLong
		}
		buf = append(buf, frag...)
		switch {
		case err == nil:
			return bytes.TrimSuffix(buf, []byte{'\n'}), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) == 0 {
				return nil, io.EOF
			}
			return buf, io.EOF
		default:
			return nil, err
		}
	}
}
