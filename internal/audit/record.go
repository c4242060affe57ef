package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"time"
)

// hashDomain separates audit-record hashes from every other SHA-256 the
// product computes over JSON.
const hashDomain = "mcpsoc.audit.v1\n"

// GenesisPrev is the prev hash of the first record of a chain.
const GenesisPrev = "0000000000000000000000000000000000000000000000000000000000000000"

// MaxLineBytes bounds one record line. Verify reports a longer line as bad
// rather than buffering it without limit.
const MaxLineBytes = 1 << 20

// Event is what a caller records. Every field is optional except Kind; the
// gateway fills the call fields, other writers use Kind and Detail.
type Event struct {
	// Kind names the event, dotted: "gateway.call", "gateway.list",
	// "gateway.auth", "audit.recovered".
	Kind string `json:"kind"`
	// Subject is the authenticated principal ("" when unauthenticated).
	Subject string `json:"subject,omitempty"`
	// Session is the MCP session id, if any.
	Session string `json:"session,omitempty"`
	// Method is the JSON-RPC method.
	Method string `json:"method,omitempty"`
	// Upstream and Tool name the target of a call.
	Upstream string `json:"upstream,omitempty"`
	Tool     string `json:"tool,omitempty"`
	// Args are the call arguments with secrets redacted (never the raw
	// values of redacted fields); ArgsHash is the hex SHA-256 of the
	// original, unredacted arguments, so a later dispute can be settled
	// by whoever still holds them.
	Args     json.RawMessage `json:"args,omitempty"`
	ArgsHash string          `json:"args_hash,omitempty"`
	// Decision is "allow", "deny" or "error"; Reason says why.
	Decision string `json:"decision,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// LatencyMicros is the wall time the request took at the gateway.
	LatencyMicros int64 `json:"latency_us,omitempty"`
	// ResultBytes and ResultHash describe the result returned to the
	// client (size of its JSON and hex SHA-256 of it).
	ResultBytes int64  `json:"result_bytes,omitempty"`
	ResultHash  string `json:"result_hash,omitempty"`
	// Remote is the client's network address.
	Remote string `json:"remote,omitempty"`
	// Detail carries kind-specific data as a JSON object.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// Record is one line of the log: an Event with its place in the chain.
type Record struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Event
	Prev string `json:"prev"`
	Hash string `json:"hash,omitempty"`
}

// computeHash returns the record hash over the canonical encoding of r
// without its hash field.
func computeHash(r *Record) (string, error) {
	c := *r
	c.Hash = ""
	body, err := json.Marshal(&c)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashAndEncode computes r's hash, sets it, and returns r's canonical line
// (newline included) with one encoding: Hash is the last field and hex, so
// the line is the hashed body with `,"hash":"…"` before its closing brace.
// event, when not nil, is r.Event's members from appendEvent.
func hashAndEncode(r *Record, event []byte) ([]byte, error) {
	return appendLine(nil, r, event)
}

// appendLine is hashAndEncode appending to dst (on error dst is returned
// unchanged): the writer builds lines straight into its queue.
func appendLine(dst []byte, r *Record, event []byte) ([]byte, error) {
	r.Hash = ""
	start := len(dst)
	ok := false
	if event == nil {
		event, ok = appendEvent(make([]byte, 0, 256), &r.Event)
	} else {
		ok = true
	}
	if ok {
		if dst, ok = appendRecordBody(dst, r, event); !ok {
			dst = dst[:start]
		}
	}
	if !ok {
		body, err := json.Marshal(r)
		if err != nil {
			return dst[:start], err
		}
		dst = append(dst, body...)
	}
	h := hashers.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(hashDomain))
	h.Write(dst[start:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	hashers.Put(h)
	dst = append(dst[:len(dst)-1], `,"hash":"`...)
	at := len(dst)
	dst = hex.AppendEncode(dst, sum[:])
	r.Hash = string(dst[at:])
	return append(dst, "\"}\n"...), nil
}

var hashers = sync.Pool{New: func() any { return sha256.New() }}

// encode returns the canonical line of r, newline included.
func encode(r *Record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ErrNotCanonical means a line parses but is not byte-for-byte the
// canonical encoding of what it contains.
var ErrNotCanonical = errors.New("record is not in canonical form")

// ParseRecord decodes one line (without its newline) strictly: exactly one
// JSON object, no unknown fields, and byte-identical to its canonical
// re-encoding. It does not check the hash; Verify does.
func ParseRecord(line []byte) (*Record, error) {
	if len(line) > MaxLineBytes {
		return nil, fmt.Errorf("record longer than %d bytes", MaxLineBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("malformed record: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("malformed record: trailing data after the object")
	}
	again, err := json.Marshal(&r)
	if err != nil {
		return nil, fmt.Errorf("malformed record: %w", err)
	}
	if !bytes.Equal(again, line) {
		return nil, ErrNotCanonical
	}
	return &r, nil
}

// HashBytes is the lowercase hex SHA-256 of b, the form used for ArgsHash
// and ResultHash.
func HashBytes(b []byte) string {
	s := sha256.Sum256(b)
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], s[:])
	return string(h[:])
}
