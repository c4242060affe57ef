package parse

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// JSONKind is the type of a JSON value.
type JSONKind uint8

// JSON value kinds.
const (
	JSONNull JSONKind = iota
	JSONBool
	JSONNumber
	JSONString
	JSONObject
	JSONArray
)

// JSONDoc is a parsed JSON document: a flat tree of nodes addressed by
// index, the root at 0. The JSON-based parsers (Suricata EVE, Windows,
// ModSecurity, generic JSON) share it instead of encoding/json because:
//   - it keeps duplicate object keys, in order (ModSecurity headers repeat
//     Set-Cookie; encoding/json silently keeps the last);
//   - numbers stay text until asked for, so 64-bit flow ids never pass
//     through float64;
//   - unescaped strings are substrings of the input, and a document is one
//     slice of nodes reused from a pool: no reflection, few allocations,
//     which is what lets EVE reach its throughput goal.
//
// A JSONDoc is not safe for concurrent use.
type JSONDoc struct {
	nodes []jsonNode
	src   string
	depth int
}

type jsonNode struct {
	kind  JSONKind
	key   string // key in the parent object
	text  string // string value, number text, "true"/"false"
	first int32  // first child, -1 if none
	last  int32  // last child, -1 if none
	next  int32  // next sibling, -1 if none
}

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
const maxJSONDepth = 256

var jsonPool = sync.Pool{New: func() any { return &JSONDoc{nodes: make([]jsonNode, 0, 64)} }}

// ParseJSON parses s, which must hold exactly one JSON value (surrounding
// white space allowed). Release the document with Free when done.
func ParseJSON(s string) (*JSONDoc, error) {
	d := jsonPool.Get().(*JSONDoc)
	d.nodes = d.nodes[:0]
	d.src = s
	d.depth = 0
	i, err := d.valueAt(skipWS(s, 0), -1, "")
	if err == nil {
		if i = skipWS(s, i); i != len(s) {
			err = fmt.Errorf("unexpected %q after the JSON value at offset %d", clip(s[i:]), i)
		}
	}
	if err != nil {
		d.Free()
		return nil, err
	}
	return d, nil
}

// Free returns d to the pool; d must not be used afterwards. Strings taken
// from d stay valid.
func (d *JSONDoc) Free() {
	if cap(d.nodes) > 4096 {
		return // do not pool giant documents
	}
	d.src = ""
	jsonPool.Put(d)
}

func clip(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// ErrJSONTruncated reports input that ended inside a JSON value.
var ErrJSONTruncated = errors.New("JSON ends before the value is complete (truncated record?)")

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func (d *JSONDoc) add(parent int32, key string, kind JSONKind, text string) int32 {
	idx := int32(len(d.nodes))
	d.nodes = append(d.nodes, jsonNode{kind: kind, key: key, text: text, first: -1, last: -1, next: -1})
	if parent >= 0 {
		p := &d.nodes[parent]
		if p.last >= 0 {
			d.nodes[p.last].next = idx
		} else {
			p.first = idx
		}
		d.nodes[parent].last = idx
	}
	return idx
}

func (d *JSONDoc) valueAt(i int, parent int32, key string) (int, error) {
	s := d.src
	if i >= len(s) {
		return i, ErrJSONTruncated
	}
	switch c := s[i]; {
	case c == '{':
		return d.object(i, parent, key)
	case c == '[':
		return d.array(i, parent, key)
	case c == '"':
		str, j, err := d.str(i)
		if err != nil {
			return j, err
		}
		d.add(parent, key, JSONString, str)
		return j, nil
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if strings.HasPrefix(s[i:], lit) {
				kind := JSONBool
				if lit == "null" {
					kind = JSONNull
				}
				d.add(parent, key, kind, lit)
				return i + len(lit), nil
			}
		}
		if strings.HasPrefix("false", s[i:]) || strings.HasPrefix("true", s[i:]) || strings.HasPrefix("null", s[i:]) {
			return len(s), ErrJSONTruncated
		}
		return i, fmt.Errorf("invalid JSON literal at offset %d", i)
	case c == '-' || c >= '0' && c <= '9':
		j := scanNumber(s, i)
		if j == i || s[j-1] == '-' || s[j-1] == 'e' || s[j-1] == 'E' || s[j-1] == '+' || s[j-1] == '.' {
			if j == len(s) {
				return j, ErrJSONTruncated
			}
			return j, fmt.Errorf("invalid JSON number at offset %d", i)
		}
		if k := i + boolInt(s[i] == '-'); k+1 < j && s[k] == '0' && s[k+1] >= '0' && s[k+1] <= '9' {
			return j, fmt.Errorf("invalid JSON number (leading zero) at offset %d", i)
		}
		d.add(parent, key, JSONNumber, s[i:j])
		return j, nil
	default:
		return i, fmt.Errorf("unexpected %q at offset %d", c, i)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func scanNumber(s string, i int) int {
	j := i
	if j < len(s) && s[j] == '-' {
		j++
	}
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j < len(s) && s[j] == '.' {
		j++
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
	}
	return j
}

func (d *JSONDoc) object(i int, parent int32, key string) (int, error) {
	if d.depth++; d.depth > maxJSONDepth {
		return i, fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	defer func() { d.depth-- }()
	s := d.src
	self := d.add(parent, key, JSONObject, "")
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(s) {
			return i, ErrJSONTruncated
		}
		if s[i] != '"' {
			return i, fmt.Errorf("expected an object key at offset %d", i)
		}
		k, j, err := d.str(i)
		if err != nil {
			return j, err
		}
		i = skipWS(s, j)
		if i >= len(s) {
			return i, ErrJSONTruncated
		}
		if s[i] != ':' {
			return i, fmt.Errorf("expected ':' at offset %d", i)
		}
		i, err = d.valueAt(skipWS(s, i+1), self, k)
		if err != nil {
			return i, err
		}
		i = skipWS(s, i)
		if i >= len(s) {
			return i, ErrJSONTruncated
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case '}':
			return i + 1, nil
		default:
			return i, fmt.Errorf("expected ',' or '}' at offset %d", i)
		}
	}
}

func (d *JSONDoc) array(i int, parent int32, key string) (int, error) {
	if d.depth++; d.depth > maxJSONDepth {
		return i, fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	defer func() { d.depth-- }()
	s := d.src
	self := d.add(parent, key, JSONArray, "")
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		i, err = d.valueAt(i, self, "")
		if err != nil {
			return i, err
		}
		i = skipWS(s, i)
		if i >= len(s) {
			return i, ErrJSONTruncated
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case ']':
			return i + 1, nil
		default:
			return i, fmt.Errorf("expected ',' or ']' at offset %d", i)
		}
	}
}

// str reads the string starting at the quote at i.
func (d *JSONDoc) str(i int) (string, int, error) {
	s := d.src
	j := i + 1
	for j < len(s) {
		c := s[j]
		if c == '"' {
			return s[i+1 : j], j + 1, nil
		}
		if c == '\\' {
			return unescapeJSON(s, i+1, j)
		}
		if c < 0x20 {
			return "", j, fmt.Errorf("control character in JSON string at offset %d", j)
		}
		j++
	}
	return "", j, ErrJSONTruncated
}

// unescapeJSON decodes a string whose first escape is at esc.
func unescapeJSON(s string, start, esc int) (string, int, error) {
	b := make([]byte, 0, esc-start+16)
	b = append(b, s[start:esc]...)
	j := esc
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			return string(b), j + 1, nil
		case c < 0x20:
			return "", j, fmt.Errorf("control character in JSON string at offset %d", j)
		case c != '\\':
			b = append(b, c)
			j++
			continue
		}
		if j+1 >= len(s) {
			return "", len(s), ErrJSONTruncated
		}
		e := s[j+1]
		j += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(s, j)
			if !ok {
				if j+4 > len(s) {
					return "", len(s), ErrJSONTruncated
				}
				return "", j, fmt.Errorf("invalid \\u escape at offset %d", j-2)
			}
			j += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s, j+2); ok && j+1 < len(s) && s[j] == '\\' && s[j+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						j += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", j, fmt.Errorf("invalid escape \\%c at offset %d", e, j-2)
		}
	}
	return "", j, ErrJSONTruncated
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for k := 0; k < 4; k++ {
		c := s[i+k]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// Root returns the root node (0).
func (d *JSONDoc) Root() int { return 0 }

// Every accessor accepts -1 (the "missing" node Lookup and Path return) and
// answers as for an absent value, so parsers can chain lookups on hostile
// input without checking each step.

// Kind returns the kind of node n; JSONNull for -1.
func (d *JSONDoc) Kind(n int) JSONKind {
	if n < 0 {
		return JSONNull
	}
	return d.nodes[n].kind
}

// Key returns the key under which n sits in its parent object.
func (d *JSONDoc) Key(n int) string {
	if n < 0 {
		return ""
	}
	return d.nodes[n].key
}

// Text returns the string value, the number text or "true"/"false"/"null".
func (d *JSONDoc) Text(n int) string {
	if n < 0 {
		return ""
	}
	return d.nodes[n].text
}

// First returns the first child of an object or array, -1 if none.
func (d *JSONDoc) First(n int) int {
	if n < 0 {
		return -1
	}
	return int(d.nodes[n].first)
}

// Next returns the next sibling of n, -1 if none.
func (d *JSONDoc) Next(n int) int {
	if n < 0 {
		return -1
	}
	return int(d.nodes[n].next)
}

// Lookup returns the first child of object n with the given key, -1 if none
// (or if n is not an object).
func (d *JSONDoc) Lookup(n int, key string) int {
	if n < 0 || d.nodes[n].kind != JSONObject {
		return -1
	}
	for c := d.nodes[n].first; c >= 0; c = d.nodes[c].next {
		if d.nodes[c].key == key {
			return int(c)
		}
	}
	return -1
}

// Path follows a chain of keys from n; -1 when any is missing.
func (d *JSONDoc) Path(n int, keys ...string) int {
	for _, k := range keys {
		if n = d.Lookup(n, k); n < 0 {
			return -1
		}
	}
	return n
}

// String returns the string at n, or the text of a number or boolean; ok is
// false for a missing node, null, objects and arrays.
func (d *JSONDoc) String(n int) (string, bool) {
	if n < 0 {
		return "", false
	}
	switch d.nodes[n].kind {
	case JSONString, JSONNumber, JSONBool:
		return d.nodes[n].text, true
	}
	return "", false
}

// Int returns n as an integer when it is an integral number or a string
// holding one.
func (d *JSONDoc) Int(n int) (int64, bool) {
	if n < 0 {
		return 0, false
	}
	switch d.nodes[n].kind {
	case JSONNumber, JSONString:
		v, err := strconv.ParseInt(d.nodes[n].text, 10, 64)
		return v, err == nil
	}
	return 0, false
}

// Value converts n to a JSON-like Go value as events hold them: integral
// numbers that fit become int64 (others float64, or their text when even
// float64 would lose them), arrays of strings []string, other arrays []any,
// objects map[string]any (duplicate keys: the values are gathered into a
// []any in order).
func (d *JSONDoc) Value(n int) any {
	if n < 0 {
		return nil
	}
	nd := &d.nodes[n]
	switch nd.kind {
	case JSONString:
		return nd.text
	case JSONNumber:
		return numberValue(nd.text)
	case JSONBool:
		return nd.text == "true"
	case JSONArray:
		allStr := true
		cnt := 0
		for c := nd.first; c >= 0; c = d.nodes[c].next {
			cnt++
			if d.nodes[c].kind != JSONString {
				allStr = false
			}
		}
		if cnt == 0 {
			return nil
		}
		if allStr {
			out := make([]string, 0, cnt)
			for c := nd.first; c >= 0; c = d.nodes[c].next {
				out = append(out, d.nodes[c].text)
			}
			return out
		}
		out := make([]any, 0, cnt)
		for c := nd.first; c >= 0; c = d.nodes[c].next {
			out = append(out, d.Value(int(c)))
		}
		return out
	case JSONObject:
		m := make(map[string]any)
		for c := nd.first; c >= 0; c = d.nodes[c].next {
			k := d.nodes[c].key
			v := d.Value(int(c))
			if old, dup := m[k]; dup {
				if l, ok := old.(dupList); ok {
					m[k] = append(l, v)
				} else {
					m[k] = dupList{old, v}
				}
				continue
			}
			m[k] = v
		}
		for k, v := range m {
			if l, ok := v.(dupList); ok {
				m[k] = []any(l)
			}
		}
		return m
	}
	return nil
}

type dupList []any

// numberValue converts JSON number text to int64 when integral and in
// range, to float64 otherwise, keeping the text when float64 would round an
// integer (a uint64 flow id above 2^63).
func numberValue(text string) any {
	if v, err := strconv.ParseInt(text, 10, 64); err == nil {
		return v
	}
	if _, err := strconv.ParseUint(text, 10, 64); err == nil {
		return text
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return text
	}
	return f
}

// Flatten puts every leaf under node n into ev as prefix.key.key, skipping
// keys for which skip returns true (skip gets the dotted path below n).
// Arrays are stored whole with Value.
func (d *JSONDoc) Flatten(ev interface{ Put(string, any) }, n int, prefix string, skip func(path string) bool) {
	d.flatten(ev, n, prefix, "", skip)
}

func (d *JSONDoc) flatten(ev interface{ Put(string, any) }, n int, prefix, path string, skip func(string) bool) {
	for c := d.First(n); c >= 0; c = d.Next(c) {
		p := d.nodes[c].key
		if path != "" {
			p = path + "." + p
		}
		if skip != nil && skip(p) {
			continue
		}
		if d.nodes[c].kind == JSONObject {
			d.flatten(ev, c, prefix, p, skip)
			continue
		}
		if d.nodes[c].kind == JSONNull {
			continue
		}
		ev.Put(prefix+"."+p, d.Value(c))
	}
}
