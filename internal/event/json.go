package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mcpsoc/mcpsoc/internal/jsonenc"
)

// MarshalJSON writes e as nested ECS JSON: {"@timestamp":"…","source":{"ip":"…"}}.
// Keys are sorted, so equal events give equal bytes. When a name is both a
// leaf and the parent of other fields ("a.b" and "a.b.c"), the children are
// written with a dotted key inside the parent ({"a":{"b":1,"b.c":2}}), the
// convention Elasticsearch also accepts; UnmarshalJSON reads it back.
func (e *Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, 512+len(e.Original)*2)), nil
}

// namedValue is one field to encode: a typed field's value in v, or an
// extension field's slot in s (read in place: boxing its string or integer
// into an interface allocated per field).
type namedValue struct {
	name string
	v    any
	s    *slot
	x    int        // s's index in the event's extension fields
	c    *coreField // a typed field, written from the event (Encoder)
}

// sortedCore is coreNames in the order AppendJSON writes keys.
var sortedCore = func() []string {
	s := slices.Clone(coreNames)
	slices.SortStableFunc(s, comparePath)
	return s
}()

func compareNamed(a, b namedValue) int { return comparePath(a.name, b.name) }

// Encoder is AppendJSON for a stream of events, such as one source's
// batch: it reuses its working memory from one event to the next, and it
// remembers how the last event's extension fields sort. Events from one
// parser mostly carry the same extension fields in the same order, and
// sorting them was a third of encoding. It also keeps the last event's
// shape (see shape): the next event with the same fields is written from
// it. The zero Encoder is ready; it is not safe for concurrent use.
type Encoder struct {
	names []string // the last event's extension field names, as stored
	perm  []int    // their indices in sorted order
	// pos holds, per extension field in sorted order, how many of the
	// sorted typed field names come before it.
	pos    []int
	fields []namedValue
	segs   []string
	open   []string
	leaf   []string
	first  []bool
	shape  shape
}

// shape is what an encoding owes to the event's field names alone: the
// keys, braces and commas written before each value and after the last.
// Encoding one event records it; the next event with the same typed fields
// present and the same extension field names (most events from one parser)
// is then written by appending each piece and value in turn, without
// sorting, splitting names into segments or quoting keys again.
type shape struct {
	ok   bool
	core coreSet // which typed fields the events of this shape have
	text []byte  // the pieces, one after the other
	ops  []shapeOp
	tail int // text[tail:] closes the object
}

// shapeOp writes text[lo:hi], then a typed field's value (c) or the
// extension field ext's.
type shapeOp struct {
	lo, hi int
	c      *coreField
	ext    int
}

// coreSet is a set of indexes into sortedCore.
type coreSet [(maxCore + 63) / 64]uint64

const maxCore = 128

func init() {
	if len(sortedCore) > maxCore {
		panic("event: more typed fields than coreSet holds")
	}
}

// coreFields returns the set of e's typed fields that have a value.
func coreFields(e *Event) coreSet {
	var set coreSet
	for c := range sortedCoreFields {
		if sortedCoreFields[c].has(e) {
			set[c/64] |= 1 << (c % 64)
		}
	}
	return set
}

// sameNames reports whether e's extension fields have the names, in
// order, of the last event sortedFields saw.
func (enc *Encoder) sameNames(e *Event) bool {
	if len(e.ext) != len(enc.names) {
		return false
	}
	for i := range e.ext {
		if e.ext[i].name != enc.names[i] {
			return false
		}
	}
	return true
}

// sortedFields returns e's fields ordered by comparePath, the typed fields
// before an extension field of the same name.
func (e *Event) sortedFields() []namedValue {
	var enc Encoder
	return enc.sortedFields(e)
}

// sortedFields orders e's fields. The typed fields are sorted once for all
// events; the extension fields are sorted (or their order is taken from
// the previous event with the same names), then merged in.
func (enc *Encoder) sortedFields(e *Event) []namedValue {
	same := enc.sameNames(e)
	if n := len(coreNames) + len(e.ext); cap(enc.fields) < n {
		enc.fields = make([]namedValue, 0, n)
	}
	if !same {
		if cap(enc.perm) < len(e.ext) {
			enc.names = make([]string, 0, len(e.ext))
			enc.perm = make([]int, 0, len(e.ext))
			enc.pos = make([]int, 0, len(e.ext))
		}
		enc.names = enc.names[:0]
		enc.perm = enc.perm[:0]
		for i := range e.ext {
			enc.names = append(enc.names, e.ext[i].name)
			enc.perm = append(enc.perm, i)
		}
		byName := func(a, b int) int { return comparePath(e.ext[a].name, e.ext[b].name) }
		if !slices.IsSortedFunc(enc.perm, byName) {
			slices.SortStableFunc(enc.perm, byName)
		}
		// Where each goes among the typed fields: after every typed
		// field whose name is not greater.
		enc.pos = enc.pos[:0]
		c := 0
		for _, i := range enc.perm {
			for c < len(sortedCore) && comparePath(e.ext[i].name, sortedCore[c]) >= 0 {
				c++
			}
			enc.pos = append(enc.pos, c)
		}
	}
	fields := enc.fields[:0]
	j := 0
	for c, name := range sortedCore {
		for j < len(enc.perm) && enc.pos[j] <= c {
			i := enc.perm[j]
			fields = append(fields, namedValue{name: e.ext[i].name, s: &e.ext[i], x: i})
			j++
		}
		if f := &sortedCoreFields[c]; f.has(e) {
			fields = append(fields, namedValue{name: name, c: f})
		}
	}
	for ; j < len(enc.perm); j++ {
		i := enc.perm[j]
		fields = append(fields, namedValue{name: e.ext[i].name, s: &e.ext[i], x: i})
	}
	enc.fields = fields
	return fields
}

// AppendJSON appends the JSON encoding of e to dst.
func (e *Event) AppendJSON(dst []byte) []byte {
	var enc Encoder
	return enc.appendSorted(dst, e)
}

// AppendJSON appends the JSON encoding of e to dst, the same bytes as
// e.AppendJSON.
func (enc *Encoder) AppendJSON(dst []byte, e *Event) []byte {
	core := coreFields(e)
	sh := &enc.shape
	if sh.ok && sh.core == core && enc.sameNames(e) {
		for _, op := range sh.ops {
			dst = append(dst, sh.text[op.lo:op.hi]...)
			if op.c != nil {
				dst = op.c.put(dst, e)
			} else {
				dst = appendSlot(dst, &e.ext[op.ext])
			}
		}
		return append(dst, sh.text[sh.tail:]...)
	}
	start := len(dst)
	dst = enc.appendSorted(dst, e)
	enc.record(dst[start:], core)
	return dst
}

// record keeps the shape of the event whose encoding is out, just written
// by appendSorted, which left each value's place in enc.shape.ops.
func (enc *Encoder) record(out []byte, core coreSet) {
	sh := &enc.shape
	sh.text = sh.text[:0]
	end := 0 // where the last value ended
	for i := range sh.ops {
		op := &sh.ops[i]
		if op.c == nil && op.ext < 0 {
			return // a value not from the event's fields: no shape
		}
		start := len(sh.text)
		sh.text = append(sh.text, out[end:op.hi]...)
		end = op.lo
		op.lo, op.hi = start, len(sh.text)
	}
	sh.tail = len(sh.text)
	sh.text = append(sh.text, out[end:]...)
	sh.core = core
	sh.ok = true
}

// appendSlot appends an extension field's value.
func appendSlot(dst []byte, s *slot) []byte {
	switch s.kind {
	case slotString:
		return appendJSONString(dst, s.str)
	case slotInt:
		return strconv.AppendInt(dst, s.num, 10)
	default:
		return appendJSONValue(dst, s.val)
	}
}

// appendSorted writes e in full: fields sorted, keys split into nested
// objects. Each value's place goes into enc.shape.ops for record: hi where
// the value starts, lo where it ends (offsets from dst's length on entry).
func (enc *Encoder) appendSorted(dst []byte, e *Event) []byte {
	start := len(dst)
	ops := enc.shape.ops[:0]
	enc.shape.ok = false
	defer func() { enc.shape.ops = ops }()
	fields := enc.sortedFields(e)
	open := enc.open[:0]     // segments of the currently open object path
	lastLeaf := enc.leaf[:0] // per depth: last key written at that depth
	first := enc.first[:0]   // per depth: no key written yet
	segs := enc.segs[:0]     // reused: splitting every name allocated half of this function's garbage
	// fields keeps pointing into e until the next event: clearing it
	// cost more (write barriers) than keeping one event reachable.
	defer func() { enc.open, enc.leaf, enc.first, enc.segs = open, lastLeaf, first, segs }()

	dst = append(dst, '{')
	first = append(first, true)
	lastLeaf = append(lastLeaf, "")
	for _, f := range fields {
		segs = appendSegments(segs[:0], f.name)
		parents := segs[:len(segs)-1]
		common := 0
		for common < len(open) && common < len(parents) && open[common] == parents[common] {
			common++
		}
		for len(open) > common {
			dst = append(dst, '}')
			open = open[:len(open)-1]
			first = first[:len(first)-1]
			lastLeaf = lastLeaf[:len(lastLeaf)-1]
		}
		key := ""
		for i := common; i < len(parents); i++ {
			d := len(open)
			if lastLeaf[d] == parents[i] {
				// The parent name is already a leaf here: flatten the rest.
				key = strings.Join(segs[i:], ".")
				break
			}
			if !first[d] {
				dst = append(dst, ',')
			}
			first[d] = false
			lastLeaf[d] = parents[i]
			dst = appendJSONString(dst, parents[i])
			dst = append(dst, ':', '{')
			open = append(open, parents[i])
			first = append(first, true)
			lastLeaf = append(lastLeaf, "")
		}
		if key == "" {
			key = segs[len(segs)-1]
		}
		d := len(open)
		if !first[d] {
			dst = append(dst, ',')
		}
		first[d] = false
		lastLeaf[d] = key
		dst = appendJSONString(dst, key)
		dst = append(dst, ':')
		at := len(dst) - start
		switch {
		case f.c != nil:
			dst = f.c.put(dst, e)
		case f.s == nil:
			dst = appendJSONValue(dst, f.v)
		default:
			dst = appendSlot(dst, f.s)
		}
		x := f.x
		if f.c == nil && f.s == nil {
			x = -1
		}
		ops = append(ops, shapeOp{lo: len(dst) - start, hi: at, c: f.c, ext: x})
	}
	for range open {
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// appendSegments appends the dot-separated segments of name to dst; the
// segments share name's memory.
func appendSegments(dst []string, name string) []string {
	for {
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return append(dst, name)
		}
		dst = append(dst, name[:i])
		name = name[i+1:]
	}
}

// comparePath orders dotted names segment by segment, so that "a" sorts
// directly before "a.b" and every subtree stays contiguous.
func comparePath(a, b string) int {
	for {
		ia := strings.IndexByte(a, '.')
		ib := strings.IndexByte(b, '.')
		sa, sb := a, b
		if ia >= 0 {
			sa = a[:ia]
		}
		if ib >= 0 {
			sb = b[:ib]
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return c
		}
		switch {
		case ia < 0 && ib < 0:
			return 0
		case ia < 0:
			return -1
		case ib < 0:
			return 1
		}
		a, b = a[ia+1:], b[ib+1:]
	}
}

func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendJSONString(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case bool:
		return strconv.AppendBool(dst, x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(dst, "null"...)
		}
		b, _ := json.Marshal(x)
		return append(dst, b...)
	case []string:
		dst = append(dst, '[')
		for i, s := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, s)
		}
		return append(dst, ']')
	case []any:
		dst = append(dst, '[')
		for i, el := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, el)
		}
		return append(dst, ']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendJSONValue(dst, x[k])
		}
		return append(dst, '}')
	case nil:
		return append(dst, "null"...)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return appendJSONString(dst, fmt.Sprint(v))
	}
	return append(dst, b...)
}

// appendJSONString quotes s as a JSON string with the shortest escapes;
// invalid UTF-8 becomes U+FFFD, so the output is always valid JSON.
func appendJSONString(dst []byte, s string) []byte {
	return jsonenc.AppendString(dst, s, jsonenc.Compact)
}

// UnmarshalJSON reads nested (or dotted, or mixed) ECS JSON into e,
// replacing its content. Nested objects become dotted names; integral
// numbers become int64, others float64; arrays of strings become []string.
func (e *Event) UnmarshalJSON(b []byte) error {
	memo := memos.Get().(*[]string)
	defer memos.Put(memo)
	d := decoder{b: b, names: *fieldNames.Load(), layout: *lastLayout.Load(), memo: *memo}
	d.space()
	if !d.eat('{') {
		return fmt.Errorf("decoding event: %w", d.errorf("want a JSON object"))
	}
	e.Reset()
	if err := d.object(e, "", 0); err != nil {
		return fmt.Errorf("decoding event: %w", err)
	}
	d.space()
	if d.i != len(d.b) {
		return fmt.Errorf("decoding event: %w", d.errorf("data after the object"))
	}
	d.remember()
	if d.pos != len(d.layout) || d.strayed {
		// Another shape of event: the next one probably has it too.
		if !d.strayed {
			d.stray()
		}
		if d.seen != nil && len(*d.seen) <= maxLayout {
			l := append([]layoutEntry(nil), *d.seen...)
			lastLayout.Store(&l)
		}
	}
	if d.seen != nil {
		clear(*d.seen)
		*d.seen = (*d.seen)[:0]
		layoutBufs.Put(d.seen)
	}
	return nil
}

// layoutBufs holds the buffers a decoder records a new layout in.
var layoutBufs = sync.Pool{New: func() any { s := make([]layoutEntry, 0, maxLayout); return &s }}

// stray starts recording this event's layout: the members matched so far,
// then each one name reads.
func (d *decoder) stray() {
	d.strayed = true
	d.seen = layoutBufs.Get().(*[]layoutEntry)
	*d.seen = append(*d.seen, d.layout[:d.pos]...)
}

// lastLayout is the sequence of member names of the last event decoded
// whose shape differed from the one before: events of one source have the
// same members in the same order, so a decoder walks it alongside the
// input and takes each name from it after comparing the key's bytes,
// instead of building prefix.key and hashing it into fieldNames (a third
// of the decoder's time). A mismatch falls back to fieldNames. Published
// copies are never modified.
var lastLayout atomic.Pointer[[]layoutEntry]

// maxLayout bounds a layout: events with more members (rare) are decoded
// through fieldNames alone.
const maxLayout = 96

type layoutEntry struct {
	prefix string // the enclosing object's name, "" at the top
	key    string // the member's key as it appears in the input
	name   string // prefix.key
}

// fieldNames holds the dotted field names decoded so far, so that decoding
// the next event with the same fields allocates no name: building
// "source.ip" from "source" and "ip" and copying every key was a third of
// the decoder's allocations. The map is never modified once published;
// a decoder that met new names publishes a copy with them added (readers
// take no lock), until maxFieldNames, so hostile input with ever-new keys
// costs a bounded number of copies.
var fieldNames atomic.Pointer[map[string]string]

const maxFieldNames = 4096

func init() {
	m := map[string]string{}
	fieldNames.Store(&m)
	var l []layoutEntry
	lastLayout.Store(&l)
}

// remember publishes the names this decode found missing from the table.
func (d *decoder) remember() {
	if len(d.fresh) == 0 {
		return
	}
	for {
		old := fieldNames.Load()
		if len(*old) >= maxFieldNames {
			return
		}
		m := make(map[string]string, len(*old)+len(d.fresh))
		for k, v := range *old {
			m[k] = v
		}
		for _, n := range d.fresh {
			if len(m) >= maxFieldNames {
				break
			}
			m[n] = n
		}
		if fieldNames.CompareAndSwap(old, &m) {
			return
		}
	}
}

// name returns prefix.key (key alone at the top level) for a key whose
// raw bytes, quotes excluded, need no unescaping.
func (d *decoder) name(prefix string, key []byte) string {
	if !d.strayed {
		if d.pos < len(d.layout) {
			if en := &d.layout[d.pos]; en.prefix == prefix && en.key == string(key) {
				d.pos++
				return en.name
			}
		}
		d.stray()
	}
	n := d.lookupName(prefix, key)
	if len(*d.seen) <= maxLayout {
		*d.seen = append(*d.seen, layoutEntry{prefix: prefix, key: n[len(n)-len(key):], name: n})
	}
	return n
}

// lookupName is name through the fieldNames table.
func (d *decoder) lookupName(prefix string, key []byte) string {
	d.scratch = d.scratch[:0]
	if prefix != "" {
		d.scratch = append(append(d.scratch, prefix...), '.')
	}
	d.scratch = append(d.scratch, key...)
	if n, ok := d.names[string(d.scratch)]; ok {
		return n
	}
	n := string(d.scratch)
	if len(d.fresh) < 64 && len(n) <= 128 {
		d.fresh = append(d.fresh, n)
	}
	return n
}

// decoder reads an event's JSON in one pass, putting every leaf into the
// event as it goes: no intermediate map, no reflection. Values follow
// JSONValue's rules (integral numbers are int64, all-string arrays are
// []string). The bus hands every event to the store and to detection in
// this form, so it is on the hot path twice.
type decoder struct {
	b []byte
	i int

	names   map[string]string // fieldNames when the decode started
	fresh   []string          // names not in it
	scratch []byte

	layout  []layoutEntry  // lastLayout when the decode started
	pos     int            // members matched in layout so far
	strayed bool           // a member did not match layout
	seen    *[]layoutEntry // once strayed: this event's layout, recorded up to one past maxLayout

	memo   []string // per member, a string value an earlier event had there (see memos)
	member int      // members read so far
}

// memos keeps, per member position, a short string value that an earlier
// decode (on the same P, most likely the same goroutine) read there. Events
// of one source repeat most of their values (action, dataset, observer,
// transport, host): a value equal to the remembered one is taken from it
// instead of being allocated and copied again. Reusing an equal string is
// always correct, since strings are immutable.
var memos = sync.Pool{New: func() any {
	m := make([]string, maxMemo)
	return &m
}}

const (
	maxMemo      = 128 // member positions remembered
	maxMemoBytes = 48  // longer values are rarely repeated
)

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 64

func (d *decoder) errorf(msg string) error {
	return fmt.Errorf("%s at offset %d", msg, d.i)
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) eat(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// object reads the members of an object whose '{' was consumed, putting
// leaves under prefix.
func (d *decoder) object(e *Event, prefix string, depth int) error {
	if depth >= maxDepth {
		return d.errorf("nesting too deep")
	}
	if d.eat('}') {
		return nil
	}
	for {
		d.space()
		var name string
		if raw, ok := d.plainString(); ok {
			name = d.name(prefix, raw)
		} else {
			key, err := d.str()
			if err != nil {
				return err
			}
			name = key
			if prefix != "" {
				name = prefix + "." + key
			}
		}
		if !d.eat(':') {
			return d.errorf("want ':'")
		}
		if d.eat('{') {
			if err := d.object(e, name, depth+1); err != nil {
				return err
			}
		} else if d.space(); d.i < len(d.b) && d.b[d.i] == '"' {
			// Strings, most values, go in unboxed.
			s, err := d.memoStr()
			if err != nil {
				return err
			}
			e.PutString(name, s)
		} else if n, ok := d.integer(); ok {
			e.PutInt(name, n) // unboxed too, and parsed without a copy
		} else if strs, ok := d.stringArray(); ok {
			e.putStrings(name, strs)
		} else {
			v, err := d.value(depth + 1)
			if err != nil {
				return err
			}
			e.Put(name, v)
		}
		d.member++
		if d.eat(',') {
			continue
		}
		if d.eat('}') {
			return nil
		}
		return d.errorf("want ',' or '}'")
	}
}

// memoStr reads a string value, taking it from the memo when the member
// at this position had the same plain value before.
func (d *decoder) memoStr() (string, error) {
	raw, ok := d.plainString()
	if !ok {
		return d.str()
	}
	if len(raw) > maxMemoBytes || d.member >= len(d.memo) {
		return string(raw), nil
	}
	if m := d.memo[d.member]; m == string(raw) {
		return m, nil
	}
	s := string(raw)
	d.memo[d.member] = s
	return s, nil
}

// value reads any JSON value other than an object member's nested object.
func (d *decoder) value(depth int) (any, error) {
	if depth >= maxDepth {
		return nil, d.errorf("nesting too deep")
	}
	d.space()
	if d.i >= len(d.b) {
		return nil, d.errorf("unexpected end")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.str()
	case c == '{':
		d.i++
		m := map[string]any{}
		if d.eat('}') {
			return m, nil
		}
		for {
			d.space()
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			if !d.eat(':') {
				return nil, d.errorf("want ':'")
			}
			if m[k], err = d.value(depth + 1); err != nil {
				return nil, err
			}
			if d.eat(',') {
				continue
			}
			if d.eat('}') {
				return m, nil
			}
			return nil, d.errorf("want ',' or '}'")
		}
	case c == '[':
		d.i++
		var arr []any
		strs := true
		if d.eat(']') {
			return []any{}, nil
		}
		for {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if _, ok := v.(string); !ok {
				strs = false
			}
			arr = append(arr, v)
			if d.eat(',') {
				continue
			}
			if d.eat(']') {
				break
			}
			return nil, d.errorf("want ',' or ']'")
		}
		if strs {
			out := make([]string, len(arr))
			for i, v := range arr {
				out[i] = v.(string)
			}
			return out, nil
		}
		return arr, nil
	case c == 't' && bytes.HasPrefix(d.b[d.i:], []byte("true")):
		d.i += 4
		return true, nil
	case c == 'f' && bytes.HasPrefix(d.b[d.i:], []byte("false")):
		d.i += 5
		return false, nil
	case c == 'n' && bytes.HasPrefix(d.b[d.i:], []byte("null")):
		d.i += 4
		return nil, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return nil, d.errorf("unexpected character")
}

// stringArray consumes a non-empty array of strings and returns them in a
// slice of their own; for anything else (another element type, an empty
// array, an error to report) it consumes nothing and returns false,
// leaving the array to value. Lists of strings (event.category,
// related.ip, tcp options) are most arrays, and value boxes every element
// and grows a []any before copying it into a []string.
func (d *decoder) stringArray() ([]string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '[' {
		return nil, false
	}
	start := d.i
	d.i++
	var buf [16]string
	strs := buf[:0]
	for {
		d.space()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			break
		}
		s, err := d.str()
		if err != nil {
			break
		}
		strs = append(strs, s)
		if d.eat(',') {
			continue
		}
		if d.eat(']') {
			return append([]string(nil), strs...), true
		}
		break
	}
	d.i = start
	return nil, false
}

// str reads a string; escapes are decoded by encoding/json, which knows
// every rule (surrogate pairs, invalid UTF-8 replacement).
// plainString consumes a string that needs no unescaping (printable
// ASCII, no backslash) and returns its bytes without the quotes; otherwise
// it consumes nothing and returns false.
func (d *decoder) plainString() ([]byte, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			raw := d.b[d.i+1 : j]
			d.i = j + 1
			return raw, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

func (d *decoder) str() (string, error) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", d.errorf("want a string")
	}
	start := d.i
	plain := true
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			if plain {
				return string(d.b[start+1 : j]), nil
			}
			var s string
			if err := json.Unmarshal(d.b[start:d.i], &s); err != nil {
				return "", d.errorf("bad string")
			}
			return s, nil
		case c == '\\':
			plain = false
			j++
		case c < 0x20:
			return "", d.errorf("control character in string")
		case c >= 0x80:
			plain = false // let the decoder check (and replace) invalid UTF-8
		}
	}
	return "", d.errorf("unterminated string")
}

// integer consumes an integral JSON number of at most 18 digits (so it
// fits an int64) and returns it; for anything else it consumes nothing and
// returns false, leaving the number to value.
func (d *decoder) integer() (int64, bool) {
	i := d.i
	neg := i < len(d.b) && d.b[i] == '-'
	if neg {
		i++
	}
	start := i
	var n int64
	for i < len(d.b) && d.b[i] >= '0' && d.b[i] <= '9' {
		if i-start == 18 {
			return 0, false
		}
		n = n*10 + int64(d.b[i]-'0')
		i++
	}
	if digits := i - start; digits == 0 || (digits > 1 && d.b[start] == '0') {
		return 0, false
	}
	if i < len(d.b) {
		switch d.b[i] {
		case '.', 'e', 'E', '+', '-':
			return 0, false
		}
	}
	d.i = i
	if neg {
		n = -n
	}
	return n, true
}

func (d *decoder) number() (any, error) {
	start := d.i
	integral := true
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c == '.' || c == 'e' || c == 'E' {
			integral = false
		} else if (c < '0' || c > '9') && c != '-' && c != '+' {
			break
		}
		d.i++
	}
	text := string(d.b[start:d.i])
	if !json.Valid(d.b[start:d.i]) {
		return nil, d.errorf("bad number")
	}
	if integral {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return text, nil
	}
	return f, nil
}

func (e *Event) putTree(prefix string, m map[string]any) {
	for k, v := range m {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			e.putTree(name, sub)
			continue
		}
		e.Put(name, JSONValue(v))
	}
}

// JSONValue converts a value decoded by encoding/json (with or without
// UseNumber) into the JSON-like value kinds events hold: json.Number becomes
// int64 when integral and float64 otherwise, float64 holding an integer
// becomes int64, and an array whose elements are all strings becomes
// []string. Objects are returned as map[string]any with converted values.
func JSONValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case []any:
		allStrings := true
		for i, el := range x {
			x[i] = JSONValue(el)
			if _, ok := x[i].(string); !ok {
				allStrings = false
			}
		}
		if allStrings && len(x) > 0 {
			out := make([]string, len(x))
			for i, el := range x {
				out[i] = el.(string)
			}
			return out
		}
		return x
	case map[string]any:
		for k, el := range x {
			x[k] = JSONValue(el)
		}
		return x
	}
	return v
}
