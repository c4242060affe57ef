package event

import (
	"net/netip"
	"strings"
)

// slot holds one extension field. Strings and integers, by far the most
// common values, are stored unboxed: putting a string into an interface
// allocates, and a filterlog line has a dozen of them.
type slot struct {
	name string
	kind slotKind
	str  string
	num  int64
	val  any
}

type slotKind uint8

const (
	slotAny slotKind = iota
	slotString
	slotInt
)

func (s *slot) value() any {
	switch s.kind {
	case slotString:
		return s.str
	case slotInt:
		return s.num
	}
	return s.val
}

func (s *slot) set(v any) {
	switch x := v.(type) {
	case string:
		*s = slot{name: s.name, kind: slotString, str: x}
	case int64:
		*s = slot{name: s.name, kind: slotInt, num: x}
	default:
		*s = slot{name: s.name, kind: slotAny, val: v}
	}
}

// MaxExtFields bounds the extension fields of one event. Parsers derive
// field names from input (unknown key=value keys, JSON keys), so a hostile
// megabyte line could otherwise create a hundred thousand fields and make
// every lookup quadratic. Fields beyond the limit are not stored; their
// count is recorded in mcpsoc.fields_dropped and the text stays in
// event.original.
const MaxExtFields = 1000

const droppedField = "mcpsoc.fields_dropped"

// push appends a slot unless the event is full.
func (e *Event) push(sl slot) {
	if len(e.ext) < MaxExtFields {
		e.ext = append(e.ext, sl)
		e.markName(sl.name)
		return
	}
	if i := e.find(droppedField); i >= 0 {
		e.ext[i].num++
		return
	}
	e.ext = append(e.ext, slot{name: droppedField, kind: slotInt, num: 1})
	e.markName(droppedField)
}

func (e *Event) markName(name string) {
	w, b := nameBit(name)
	e.extNames[w] |= b
}

// findUnlessFull is find for writers: once the event is full it returns -1
// without scanning, so hostile input costs linear time (the write is then
// counted as dropped, even when it would have replaced a value).
func (e *Event) findUnlessFull(name string) int {
	if len(e.ext) >= MaxExtFields {
		return -1
	}
	return e.find(name)
}

func (e *Event) find(name string) int {
	if w, b := nameBit(name); e.extNames[w]&b == 0 {
		return -1
	}
	for i := range e.ext {
		if e.ext[i].name == name {
			return i
		}
	}
	return -1
}

// Put sets an extension or typed field by dotted name, replacing any value it
// had. A nil value, empty string or empty list removes the field. A
// map[string]any value is flattened into one field per leaf ("a" + {"b":1}
// sets "a.b"), so maps never hide fields from Get. Values should be
// JSON-like (see the package doc); int, int32, uint16, uint32, float32 and
// netip.Addr are converted.
func (e *Event) Put(name string, v any) {
	switch x := v.(type) {
	case nil:
		e.Delete(name)
		return
	case string:
		e.PutString(name, x)
		return
	case int64:
		e.PutInt(name, x)
		return
	case map[string]any:
		for k, vv := range x {
			e.Put(name+"."+k, vv)
		}
		return
	case int:
		v = int64(x)
	case int32:
		v = int64(x)
	case uint16:
		v = int64(x)
	case uint32:
		v = int64(x)
	case float32:
		v = float64(x)
	case netip.Addr:
		if !x.IsValid() {
			e.Delete(name)
			return
		}
		v = x.String()
	case []any:
		if len(x) == 0 {
			e.Delete(name)
			return
		}
	case []string:
		if len(x) == 0 {
			e.Delete(name)
			return
		}
	}
	if e.setCore(name, v) {
		return
	}
	if i := e.findUnlessFull(name); i >= 0 {
		e.ext[i].set(v)
		return
	}
	sl := slot{name: name}
	sl.set(v)
	e.push(sl)
}

// PutString sets a string field, replacing any value; an empty s removes it.
func (e *Event) PutString(name, s string) {
	if s == "" {
		e.Delete(name)
		return
	}
	if e.setCore(name, s) {
		return
	}
	if i := e.findUnlessFull(name); i >= 0 {
		e.ext[i] = slot{name: name, kind: slotString, str: s}
		return
	}
	e.push(slot{name: name, kind: slotString, str: s})
}

// putStrings is Put for a non-empty list of strings, without boxing it
// for the typed lists.
func (e *Event) putStrings(name string, v []string) {
	switch name {
	case "event.category":
		e.Category = v
	case "event.type":
		e.Type = v
	default:
		e.Put(name, v)
	}
}

// PutInt sets an integer field, replacing any value.
func (e *Event) PutInt(name string, n int64) {
	if e.setCore(name, n) {
		return
	}
	if i := e.findUnlessFull(name); i >= 0 {
		e.ext[i] = slot{name: name, kind: slotInt, num: n}
		return
	}
	e.push(slot{name: name, kind: slotInt, num: n})
}

// Append adds an extension field without looking for an existing field of
// the same name: parsers use it on hot paths for names they know are new.
// name must not be a typed field. A duplicate would be written twice by
// MarshalJSON, so when in doubt use Put.
func (e *Event) Append(name string, v any) {
	sl := slot{name: name}
	sl.set(v)
	e.push(sl)
}

// AppendString is Append for a string value; an empty s is skipped.
func (e *Event) AppendString(name, s string) {
	if s != "" {
		e.push(slot{name: name, kind: slotString, str: s})
	}
}

// AppendInt is Append for an integer value.
func (e *Event) AppendInt(name string, n int64) {
	e.push(slot{name: name, kind: slotInt, num: n})
}

// Delete removes a field by name. Typed fields are reset to their zero value.
func (e *Event) Delete(name string) {
	if e.setCore(name, nil) {
		return
	}
	if i := e.find(name); i >= 0 {
		e.ext = append(e.ext[:i], e.ext[i+1:]...)
	}
}

// Grow makes room for n more extension fields, so parsers that know their
// field count append without reallocating.
func (e *Event) Grow(n int) {
	if cap(e.ext)-len(e.ext) < n {
		ext := make([]slot, len(e.ext), len(e.ext)+n)
		copy(ext, e.ext)
		e.ext = ext
	}
}

// Len returns the number of extension fields.
func (e *Event) Len() int { return len(e.ext) }

// AddCategory appends to event.category unless the value is already present.
func (e *Event) AddCategory(c ...string) { e.Category = appendUnique(e.Category, c...) }

// AddType appends to event.type unless the value is already present.
func (e *Event) AddType(t ...string) { e.Type = appendUnique(e.Type, t...) }

// AddRelated appends values to related.<kind> (ip, user, hash, hosts),
// skipping empty strings and duplicates.
func (e *Event) AddRelated(kind string, vals ...string) {
	name := "related." + kind
	idx := e.find(name)
	var cur []string
	if idx >= 0 {
		cur, _ = e.ext[idx].val.([]string)
	}
	n := len(cur)
	for _, v := range vals {
		if v != "" {
			cur = appendUnique(cur, v)
		}
	}
	if len(cur) == n {
		return
	}
	if idx >= 0 {
		e.ext[idx].set(cur)
		return
	}
	e.Append(name, cur)
}

func appendUnique(dst []string, vals ...string) []string {
outer:
	for _, v := range vals {
		for _, d := range dst {
			if d == v {
				continue outer
			}
		}
		// Never write into a backing array another event may share.
		dst = append(dst[:len(dst):len(dst)], v)
	}
	return dst
}

// SetPipelineError turns e into a pipeline_error event carrying reason. The
// original text, timestamp, provenance, syslog envelope and input flags are
// kept; everything a parser may have half-filled is discarded so a failed
// parse never yields partial data.
func (e *Event) SetPipelineError(reason string) {
	keep := Event{
		Timestamp:  e.Timestamp,
		Original:   e.Original,
		Provenance: e.Provenance,
		Kind:       KindPipelineError,
	}
	var carry []slot
	for _, f := range e.ext {
		if strings.HasPrefix(f.name, "log.") || strings.HasPrefix(f.name, "process.") || f.name == "event.truncated" || f.name == "event.invalid_utf8" || f.name == "host.name" {
			carry = append(carry, f)
		}
	}
	ext := e.ext[:0]
	*e = keep
	e.ext = append(ext, carry...)
	for i := range e.ext {
		e.markName(e.ext[i].name)
	}
	e.PutString("error.message", reason)
}

// IsPipelineError reports whether e records a parse failure.
func (e *Event) IsPipelineError() bool { return e.Kind == KindPipelineError }
