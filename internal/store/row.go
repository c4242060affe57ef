package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
)

// ID returns the id the stores key an event by. An event that carries a
// valid id in event.id gets that id: the ingest sources assign one that
// names the record at its source (a file's identity and byte offset, a push
// request's idempotency key and position, a syslog connection and
// sequence), so a replay after a crash maps to the same id while two
// identical lines stay two events.
//
// Otherwise the id is a content hash: the first 128 bits, in hex, of
// SHA-256 over the source id, the original record and @timestamp (RFC 3339,
// nanoseconds, UTC), each length-prefixed. Ingest time is left out on
// purpose: a record re-read after a crash gets a new ingest time but must
// get the same id. An event without an original record (one MCPSoc made
// itself, such as a gateway audit event) hashes its whole JSON encoding
// instead, which is deterministic (sorted keys). Without event.id, two
// byte-identical records from the same source with the same timestamp are
// one event.
func ID(ev *event.Event) string {
	if v, ok := ev.Get("event.id"); ok {
		if id, ok := v.(string); ok && ValidID(id) {
			return id
		}
	}
	h := sha256.New()
	var n [8]byte
	put := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	if ev.Original != "" {
		put("v1")
		put(ev.Provenance.SourceID)
		put(ev.Original)
		ts := ""
		if !ev.Timestamp.IsZero() {
			ts = ev.Timestamp.UTC().Format(time.RFC3339Nano)
		}
		put(ts)
	} else {
		put("v1-json")
		put(string(ev.AppendJSON(nil)))
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// RecordID derives the id of the record at position pos of a stream, for
// sources that name their records (package ingest): the parts identify the
// stream (a source, a syslog connection, a push request's idempotency key,
// a file's identity and generation), pos is the record's sequence number
// or byte offset in it. The id is 20 hex digits of SHA-256 over the parts
// and pos's bits above 48, then pos's low 48 bits as 12 hex digits. A
// replay names the same record with the same id, records of one stream
// differ in their last digits, and the SQLite store gives ids that end in
// consecutive positions consecutive keys (see keyer in store/sqlite), so
// one stream's rows fill its key index in order.
func RecordID(pos int64, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(pos)>>48)
	h.Write(n[:])
	var sum [sha256.Size]byte
	var id [32]byte
	hex.Encode(id[:20], h.Sum(sum[:0])[:10])
	binary.BigEndian.PutUint64(n[:], uint64(pos))
	hex.Encode(id[20:], n[2:])
	return string(id[:])
}

// ValidID reports whether s has the shape of an id, so lookups of garbage
// never reach the database.
func ValidID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Row is an event as the stores write it: the hot columns (see
// query.HotColumns) plus the whole event as JSON. Empty strings, port 0,
// severity 0 and invalid addresses are absent (NULL).
type Row struct {
	ID       string
	Time     time.Time // @timestamp truncated to microseconds, UTC
	Kind     string
	Dataset  string
	Module   string
	Action   string
	Outcome  string
	Severity int64
	SrcIP    netip.Addr
	SrcPort  int
	DstIP    netip.Addr
	DstPort  int
	HostName string
	UserName string
	RuleID   string
	Message  string
	Data     []byte // ECS JSON
}

// MakeRow extracts the row of ev, appending the JSON to buf[:0]. An event
// without @timestamp is stored at its ingest time, or now when it has
// neither, so that every row sorts and partitions by time.
func MakeRow(ev *event.Event, buf []byte) Row {
	return makeRow(ev, ev.AppendJSON(buf[:0]))
}

// Encoded is an event together with its ECS JSON encoding, as the bus
// carries it. JSON must be the encoding Event was decoded from (or
// AppendJSON of Event); a store writes it as it is instead of encoding the
// event a second time, which was a sixth of the cost of an append.
type Encoded struct {
	Event *event.Event
	JSON  []byte
	// Prepared is a store's own form of the event, filled in by that
	// store's PrepareEncoded (see Preparer); nil when nobody prepared it.
	Prepared any
}

// Preparer is implemented by a store that can do part of an append's work
// ahead of AppendEncoded, on the caller's goroutine: serve's bus consumer
// prepares a batch while the store's single writer appends the one
// before, so that work leaves the writer. Prepared values are only for
// the store that made them.
type Preparer interface {
	PrepareEncoded(events []Encoded)
}

// MakeRowEncoded is MakeRow for an event whose JSON is at hand.
func MakeRowEncoded(e Encoded) Row {
	if len(e.JSON) == 0 {
		return MakeRow(e.Event, nil)
	}
	return makeRow(e.Event, e.JSON)
}

func makeRow(ev *event.Event, data []byte) Row {
	ts := ev.Timestamp
	if ts.IsZero() {
		ts = ev.Provenance.IngestTime
	}
	if ts.IsZero() {
		ts = time.Now()
	}
	r := Row{
		ID:       ID(ev),
		Time:     ts.UTC().Truncate(time.Microsecond),
		Kind:     ev.Kind,
		Dataset:  ev.Dataset,
		Module:   ev.Module,
		Action:   ev.Action,
		Outcome:  ev.Outcome,
		Severity: ev.Severity,
		SrcIP:    ev.Source.IP.Unmap(),
		SrcPort:  ev.Source.Port,
		DstIP:    ev.Destination.IP.Unmap(),
		DstPort:  ev.Destination.Port,
		RuleID:   ev.Rule.ID,
		Message:  ev.Message,
		Data:     data,
	}
	r.HostName, _ = ev.GetString("host.name")
	r.UserName, _ = ev.GetString("user.name")
	return r
}

// Cursor is a position in the newest-first order: the last row of a page.
type Cursor struct {
	Micros int64 // @timestamp in microseconds since the epoch
	ID     string
}

// Encode renders c as an opaque URL-safe token.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.Micros, 10) + "." + c.ID))
}

// DecodeCursor parses a token made by Cursor.Encode.
func DecodeCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	ts, id, ok := strings.Cut(string(b), ".")
	if !ok || !ValidID(id) {
		return Cursor{}, ErrBadCursor
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{Micros: n, ID: id}, nil
}

// CheckTimeRange applies the time-range guard: total is the (possibly
// approximate) number of stored events.
func CheckTimeRange(o *Options, req SearchRequest, total int64) error {
	limit := int64(DefaultTimeRangeRequiredAbove)
	if o != nil && o.TimeRangeRequiredAbove != 0 {
		limit = o.TimeRangeRequiredAbove
	}
	if limit < 0 || total <= limit || !req.From.IsZero() || req.Query.TimeBounded() {
		return nil
	}
	return fmt.Errorf("%w: the store holds about %d events (more than %d); give a start time (--from, ?from=) or an @timestamp lower bound such as @timestamp>=now-24h", ErrTimeRangeRequired, total, limit)
}

// DecodeRecord turns a stored id and JSON document back into a Record.
func DecodeRecord(id string, data []byte) (Record, error) {
	ev := new(event.Event)
	if err := ev.UnmarshalJSON(data); err != nil {
		return Record{}, fmt.Errorf("decoding stored event %s: %w", id, err)
	}
	return Record{ID: id, Event: ev}, nil
}
