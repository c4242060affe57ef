package jsonscan

import (
	"strconv"
	"unicode/utf8"
)

// DecodeObject decodes the JSON object b as encoding/json.Unmarshal does
// into a map[string]any (nested objects as map[string]any, arrays as
// []any, numbers as float64), and reports whether any object in it
// repeats a key (where encoding/json would keep the last value). It
// handles the common case only: ok is false — and the caller must use
// encoding/json — for anything else: a string with an escape or invalid
// UTF-8, a number float64 cannot hold, or input that is not one valid JSON
// object. FuzzDecodeObject holds it to encoding/json and DuplicateKey.
func DecodeObject(b []byte) (m map[string]any, dup, ok bool) {
	d := decoder{b: b}
	d.i = skipSpace(b, 0)
	if d.i >= len(b) || b[d.i] != '{' {
		return nil, false, false
	}
	v, ok := d.value(0)
	if !ok || skipSpace(b, d.i) != len(b) {
		return nil, false, false
	}
	return v.(map[string]any), d.dup, true
}

type decoder struct {
	b   []byte
	i   int
	dup bool
}

// next moves past what follows a member or an element: a comma and the
// white space after it (end false), or the container's closing byte (end
// true). ok is false for anything else.
func (d *decoder) next(closing byte) (end, ok bool) {
	d.i = skipSpace(d.b, d.i)
	if d.i >= len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case ',':
		d.i = skipSpace(d.b, d.i+1)
		return false, true
	case closing:
		d.i++
		return true, true
	}
	return false, false
}

// value decodes the value at d.i (white space skipped) and moves past it.
func (d *decoder) value(depth int) (any, bool) {
	b := d.b
	if d.i >= len(b) || depth > maxNesting {
		return nil, false
	}
	switch c := b[d.i]; c {
	case '{':
		m := map[string]any{}
		d.i = skipSpace(b, d.i+1)
		if d.i < len(b) && b[d.i] == '}' {
			d.i++
			return m, true
		}
		for {
			k, ok := d.str()
			if !ok {
				return nil, false
			}
			d.i = skipSpace(b, d.i)
			if d.i >= len(b) || b[d.i] != ':' {
				return nil, false
			}
			d.i = skipSpace(b, d.i+1)
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			if _, seen := m[k]; seen {
				d.dup = true
			}
			m[k] = v
			if end, ok := d.next('}'); !ok {
				return nil, false
			} else if end {
				return m, true
			}
		}
	case '[':
		a := []any{}
		d.i = skipSpace(b, d.i+1)
		if d.i < len(b) && b[d.i] == ']' {
			d.i++
			return a, true
		}
		for {
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
			if end, ok := d.next(']'); !ok {
				return nil, false
			} else if end {
				return a, true
			}
		}
	case '"':
		return d.str()
	case 't':
		if !hasWord(b, d.i, "true") {
			return nil, false
		}
		d.i += 4
		return true, true
	case 'f':
		if !hasWord(b, d.i, "false") {
			return nil, false
		}
		d.i += 5
		return false, true
	case 'n':
		if !hasWord(b, d.i, "null") {
			return nil, false
		}
		d.i += 4
		return nil, true
	}
	end := validNumber(b, d.i)
	if end < 0 {
		return nil, false
	}
	f, err := strconv.ParseFloat(string(b[d.i:end]), 64)
	if err != nil {
		return nil, false // out of range: encoding/json reports it
	}
	d.i = end
	return f, true
}

// str decodes a string without escapes whose bytes are valid UTF-8.
func (d *decoder) str() (string, bool) {
	b := d.b
	if d.i >= len(b) || b[d.i] != '"' {
		return "", false
	}
	start := d.i + 1
	ascii := true
	for i := start; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s := b[start:i]
			if !ascii && !utf8.Valid(s) {
				return "", false // encoding/json substitutes U+FFFD
			}
			d.i = i + 1
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}
