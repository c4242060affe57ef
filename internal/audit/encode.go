package audit

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/jsonenc"
	"github.com/mcpsoc/mcpsoc/internal/jsonscan"
)

// Records are written in their canonical form, json.Marshal's encoding of
// Record, which Verify and ParseRecord re-create. appendEvent and
// appendRecordBody produce those same bytes without reflection (the
// writer's hot path); a record they cannot encode exactly (a time outside
// years 0–9999) goes through json.Marshal, and the tests hold both to the
// same output.

// appendString appends s as encoding/json quotes it: HTML-safe, invalid
// UTF-8 replaced by U+FFFD, U+2028 and U+2029 escaped.
func appendString(dst []byte, s string) []byte {
	return jsonenc.AppendString(dst, s, jsonenc.Marshal)
}

// appendRaw appends a json.RawMessage as json.Marshal does: compacted,
// HTML-escaped, and refused when it is not valid JSON.
func appendRaw(dst []byte, raw []byte) ([]byte, bool) {
	if !jsonscan.Valid(raw) {
		return dst, false
	}
	if bytes.IndexAny(raw, " \t\r\n<>&\u2028\u2029") < 0 {
		return append(dst, raw...), true
	}
	var c, h bytes.Buffer
	if json.Compact(&c, raw) != nil {
		return dst, false
	}
	json.HTMLEscape(&h, c.Bytes())
	return append(dst, h.Bytes()...), true
}

func appendStringField(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return appendString(dst, v)
}

func appendIntField(dst []byte, name string, v int64) []byte {
	if v == 0 {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return strconv.AppendInt(dst, v, 10)
}

func appendRawField(dst []byte, name string, v json.RawMessage) ([]byte, bool) {
	if len(v) == 0 {
		return dst, true
	}
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return appendRaw(dst, v)
}

// appendEvent appends the members of ev (without braces, starting with
// "kind") as json.Marshal writes them inside a Record.
func appendEvent(dst []byte, ev *Event) ([]byte, bool) {
	dst = append(dst, `"kind":`...)
	dst = appendString(dst, ev.Kind)
	dst = appendStringField(dst, "subject", ev.Subject)
	dst = appendStringField(dst, "session", ev.Session)
	dst = appendStringField(dst, "method", ev.Method)
	dst = appendStringField(dst, "upstream", ev.Upstream)
	dst = appendStringField(dst, "tool", ev.Tool)
	dst, ok := appendRawField(dst, "args", ev.Args)
	if !ok {
		return dst, false
	}
	dst = appendStringField(dst, "args_hash", ev.ArgsHash)
	dst = appendStringField(dst, "decision", ev.Decision)
	dst = appendStringField(dst, "reason", ev.Reason)
	dst = appendIntField(dst, "latency_us", ev.LatencyMicros)
	dst = appendIntField(dst, "result_bytes", ev.ResultBytes)
	dst = appendStringField(dst, "result_hash", ev.ResultHash)
	dst = appendStringField(dst, "remote", ev.Remote)
	return appendRawField(dst, "detail", ev.Detail)
}

// appendRecordBody appends the canonical encoding of r without its hash,
// given its event members from appendEvent.
func appendRecordBody(dst []byte, r *Record, event []byte) ([]byte, bool) {
	if y := r.Time.Year(); y < 0 || y > 9999 {
		return dst, false
	}
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, r.Seq, 10)
	dst = append(dst, `,"time":"`...)
	dst = r.Time.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `",`...)
	dst = append(dst, event...)
	dst = append(dst, `,"prev":`...)
	dst = appendString(dst, r.Prev)
	return append(dst, '}'), true
}
