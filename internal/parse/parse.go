// Package parse turns raw log records into normalized events
// (internal/event). It owns the Parser contract, the registry of formats,
// the syslog envelope shared by all of them, content-based auto detection,
// input hygiene (size limit, invalid UTF-8, NUL bytes) and the Scanner that
// reads records, single- or multi-line, from an io.Reader.
//
// Each format lives in its own subpackage (parse/filterlog, parse/suricata,
// ...) and registers itself from init; package parse/builtin imports them
// all. This package knows no format: "auto" asks every registered parser
// that implements Detector whether a payload is its own.
//
// Parsing never panics on input and never drops a record: what no parser
// understands becomes an event of kind pipeline_error holding the original
// text and the reason.
package parse

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/mcpsoc/mcpsoc/internal/event"
)

// Parser normalizes the records of one log format.
//
// Parse fills ev from rec and returns nil, or returns an error saying why
// the record is not valid input for this format; the caller then turns ev
// into a pipeline_error event, discarding whatever Parse half-filled. Before
// Parse runs, ev already holds event.original, provenance and, when the
// record had a syslog envelope, the envelope's timestamp, host and process.
// Parse may overwrite any of those when the payload knows better.
//
// A Parser is built once per stream by its Factory and may be called from
// one goroutine at a time; parsers in this tree are stateless and so also
// safe for concurrent use, but callers must not rely on that.
type Parser interface {
	// Name returns the registered name ("filterlog").
	Name() string
	// Parse normalizes one record into ev.
	Parse(ev *event.Event, rec *Record) error
}

// Detector is implemented by parsers that can recognize their own records.
// Auto detection calls Detect on every registered Detector.
type Detector interface {
	// Detect returns how sure the parser is that rec is its format, from 0
	// (not mine) to 100 (certain). It must be cheap: it runs for every
	// record read with format auto.
	Detect(rec *Record) int
}

// MultiLiner is implemented by parsers whose records span several lines
// (ModSecurity's serial audit log). The Scanner uses it to group lines.
type MultiLiner interface {
	// Begins reports whether line opens a new multi-line record.
	Begins(line []byte) bool
	// Ends reports whether line closes the record being gathered.
	Ends(line []byte) bool
}

// Record is one input record handed to a Parser.
type Record struct {
	// Line is the whole record after input hygiene: the text kept as
	// event.original. Multi-line records are joined with "\n".
	Line string
	// Payload is the message inside the syslog envelope, or Line when the
	// record had none.
	Payload string
	// Syslog is the parsed envelope, nil when the record had none.
	Syslog *Syslog
	// Config is the configuration of the stream; never nil.
	Config *Config
}

// AppName returns the syslog application name (TAG) of the record, or "".
func (r *Record) AppName() string {
	if r.Syslog == nil {
		return ""
	}
	return r.Syslog.AppName
}

// ErrNotMine is returned (wrapped) by a Parser whose format does not match
// the record at all, as opposed to a record of its format that is broken.
var ErrNotMine = errors.New("record is not in this format")

// Errorf builds a parse error; parsers use it for records of their format
// that cannot be normalized.
func Errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// NotMine returns an error wrapping ErrNotMine that names the parser and
// what was expected, e.g. NotMine("filterlog", "a CSV payload").
func NotMine(parser, expected string) error {
	return fmt.Errorf("%s: %w: expected %s", parser, ErrNotMine, expected)
}

// DefaultMaxRecordBytes is the size above which a record is truncated. Real
// firewall and IDS lines stay under 64 KiB; WAF audit records with bodies
// can reach a few hundred KiB.
const DefaultMaxRecordBytes = 1 << 20

// Config tunes parsing for one stream. The zero value is usable. Config is a
// plain struct so the config package can embed it.
type Config struct {
	// Location is the time zone of timestamps that carry none (RFC 3164
	// syslog, ctime text, FortiGate date/time without tz). Nil means UTC.
	Location *time.Location `yaml:"-" json:"-"`
	// Timezone names Location for configuration files ("Europe/Paris");
	// it is resolved by Normalizer construction when Location is nil.
	Timezone string `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	// Now returns the receive time, used for ingest time and to infer the
	// year of RFC 3164 timestamps. Nil means time.Now.
	Now func() time.Time `yaml:"-" json:"-"`
	// SourceID is recorded as provenance on every event ("file:/var/log/x").
	SourceID string `yaml:"source_id,omitempty" json:"source_id,omitempty"`
	// MaxRecordBytes truncates longer records (flagging event.truncated).
	// 0 means DefaultMaxRecordBytes.
	MaxRecordBytes int `yaml:"max_record_bytes,omitempty" json:"max_record_bytes,omitempty"`
	// NetfilterActions maps a substring of the netfilter LOG prefix to an
	// event.action ("DROP" → "denied"); checked before the built-in ufw
	// and drop/accept/reject keywords.
	NetfilterActions map[string]string `yaml:"netfilter_actions,omitempty" json:"netfilter_actions,omitempty"`
	// JSON maps keys of generic JSON records to ECS fields.
	JSON FieldMapping `yaml:"json,omitempty" json:"json,omitempty"`
	// CEF maps CEF extension keys to ECS fields, on top of the built-in
	// mapping of the standard CEF keys.
	CEF FieldMapping `yaml:"cef,omitempty" json:"cef,omitempty"`
}

// FieldMapping maps source keys to ECS field names for the generic parsers.
type FieldMapping struct {
	// Fields maps a source key (dotted for nested JSON objects: "src.addr")
	// to the ECS field it fills ("source.ip"). Unmapped keys are kept under
	// Namespace.
	Fields map[string]string `yaml:"fields,omitempty" json:"fields,omitempty"`
	// Timestamp names the source key holding the event time.
	Timestamp string `yaml:"timestamp,omitempty" json:"timestamp,omitempty"`
	// Namespace prefixes unmapped keys ("json" when empty for JSON, "cef"
	// for CEF).
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Dataset is written to event.dataset when set.
	Dataset string `yaml:"dataset,omitempty" json:"dataset,omitempty"`
}

func (c *Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Loc returns the configured time zone, UTC when none.
func (c *Config) Loc() *time.Location {
	if c.Location != nil {
		return c.Location
	}
	return time.UTC
}

func (c *Config) maxRecord() int {
	if c.MaxRecordBytes > 0 {
		return c.MaxRecordBytes
	}
	return DefaultMaxRecordBytes
}

// Normalizer turns raw records of one configured format into events. It is
// what ingest sources and the CLI use; Parsers are its plug-ins. A
// Normalizer is safe for use by one goroutine at a time.
type Normalizer struct {
	cfg    *Config
	parser Parser
	multi  MultiLiner
}

// New builds a Normalizer for the registered format name ("auto" detects by
// content). cfg may be nil. An unknown name yields an *UnknownFormatError.
func New(format string, cfg *Config) (*Normalizer, error) {
	if cfg == nil {
		cfg = &Config{}
	} else {
		c := *cfg
		cfg = &c
	}
	if cfg.Location == nil && cfg.Timezone != "" {
		loc, err := time.LoadLocation(cfg.Timezone)
		if err != nil {
			return nil, fmt.Errorf("loading time zone %q: %w", cfg.Timezone, err)
		}
		cfg.Location = loc
	}
	p, err := build(format, cfg)
	if err != nil {
		return nil, err
	}
	n := &Normalizer{cfg: cfg, parser: p}
	if ml, ok := p.(MultiLiner); ok {
		n.multi = ml
	}
	return n, nil
}

// opener returns the multi-line format whose record line opens, nil when
// line is an ordinary single-line record. Under auto every registered
// MultiLiner is asked; the one that answers alone decides where the record
// ends, so a "{" line inside a ModSecurity request body cannot split it.
func (n *Normalizer) opener(line []byte) MultiLiner {
	if a, ok := n.parser.(*auto); ok {
		for _, m := range a.multi {
			if m.Begins(line) {
				return m
			}
		}
		return nil
	}
	if n.multi != nil && n.multi.Begins(line) {
		return n.multi
	}
	return nil
}

// Format returns the name of the configured format.
func (n *Normalizer) Format() string { return n.parser.Name() }

// Config returns the stream configuration (read-only).
func (n *Normalizer) Config() *Config { return n.cfg }

// Parse normalizes one record and always returns an event: on failure one
// of kind pipeline_error carrying the reason in error.message.
//
// Input hygiene, applied before any parser runs:
//   - a trailing "\n", "\r\n" or NUL run is removed (clamd terminates
//     replies with NUL); NUL bytes elsewhere are kept as they are;
//   - records longer than Config.MaxRecordBytes are cut at that size and
//     flagged event.truncated=true with log.original_size;
//   - invalid UTF-8 sequences are replaced by U+FFFD and the event is
//     flagged event.invalid_utf8=true, so event.original is always valid
//     JSON text; everything else is byte-exact.
func (n *Normalizer) Parse(line []byte) *event.Event {
	ev := new(event.Event)
	n.ParseInto(ev, line)
	return ev
}

// ParseInto is Parse writing into a caller-owned event, which is Reset
// first. Benchmarks and batch ingest use it to reuse events.
func (n *Normalizer) ParseInto(ev *event.Event, line []byte) {
	n.parse(ev, line, 0)
}

// parse normalizes line; origSize is the size of the record before the
// reader cut it, 0 when the reader did not.
func (n *Normalizer) parse(ev *event.Event, line []byte, origSize int) {
	ev.Reset()
	line = trimEOL(line)
	if origSize < len(line) {
		origSize = len(line)
	}
	limit := n.cfg.maxRecord()
	if len(line) > limit {
		// Cut before copying, backing off so a valid UTF-8 sequence is not
		// split (which would look like invalid input).
		cut := limit
		for cut > 0 && cut > limit-utf8.UTFMax && !utf8.RuneStart(line[cut]) {
			cut--
		}
		line = line[:cut]
	}
	var s string
	invalid := !utf8.Valid(line)
	if invalid {
		s = toValidUTF8(line) // may grow: each bad byte becomes 3 bytes
	} else {
		s = string(line)
	}
	truncated := 0
	if origSize > limit || len(s) > limit {
		truncated = max(origSize, len(s))
		if len(s) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			s = s[:cut]
		}
	}
	ev.Grow(32) // typical events carry 15-30 extension fields
	ev.Original = s
	ev.Provenance.SourceID = n.cfg.SourceID
	ev.Provenance.IngestTime = n.cfg.now()
	if truncated > 0 {
		ev.Append("event.truncated", true)
		ev.Append("log.original_size", int64(truncated))
	}
	if invalid {
		ev.Append("event.invalid_utf8", true)
	}
	rec := Record{Line: s, Payload: s, Config: n.cfg}
	var sl Syslog
	if payload, ok := parseSyslog(&sl, s, n.cfg); ok {
		rec.Syslog = &sl
		rec.Payload = payload
		sl.apply(ev)
	}
	ev.Provenance.Parser = n.parser.Name()
	if err := n.parser.Parse(ev, &rec); err != nil {
		ev.SetPipelineError(err.Error())
	} else {
		ev.SetCommunityID() // flows from every format join on one id
	}
	if ev.Timestamp.IsZero() {
		ev.Timestamp = ev.Provenance.IngestTime
	}
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case '\n', '\r', 0:
			b = b[:len(b)-1]
			continue
		}
		break
	}
	return b
}

func toValidUTF8(b []byte) string {
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			out = append(out, "\uFFFD"...)
			b = b[1:]
			continue
		}
		out = append(out, b[:size]...)
		b = b[size:]
	}
	return string(out)
}
