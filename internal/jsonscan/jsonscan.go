// Package jsonscan walks JSON text that is already known to be valid
// (checked with Valid or json.Valid) without decoding it: the members of an object
// as raw key and value bytes, and a check for repeated keys. It lets the
// gateway's hot path pick a few fields out of a message, and forward the
// rest byte for byte, in one pass and without allocating.
//
// Every function assumes valid JSON; on invalid input the results are
// unspecified (but the functions neither panic nor loop).
package jsonscan

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index just past the closing quote of the string
// whose opening quote is at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++ // the escaped byte cannot close the string
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// Members calls fn with each member of the object b in order: the key as
// it is written between its quotes (escapes not decoded) and the value's
// raw bytes. It stops early when fn returns false. It reports false when b
// is not an object.
func Members(b []byte, fn func(key, value []byte) bool) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return true
	}
	for i < len(b) && b[i] == '"' {
		ke := stringEnd(b, i)
		key := b[i+1 : max(ke-1, i+1)]
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		vs := skipSpace(b, i+1)
		ve := valueEnd(b, vs)
		if !fn(key, b[vs:ve]) {
			return true
		}
		i = skipSpace(b, ve)
		if i >= len(b) || b[i] != ',' {
			break
		}
		i = skipSpace(b, i+1)
	}
	return true
}

// PlainKey reports whether a key as written is plain ASCII without
// escapes, so that its bytes are exactly the decoded key.
func PlainKey(key []byte) bool {
	for _, c := range key {
		if c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// String returns the value of a JSON string as Go would decode it, and
// false when v is not a string. Strings without escapes or non-ASCII bytes
// are converted directly; others go through encoding/json, so invalid
// UTF-8 and escapes decode exactly as json.Unmarshal decodes them.
func String(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if PlainKey(v[1 : len(v)-1]) {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// DuplicateKey reports whether any object in the valid JSON value b
// repeats a key (after decoding escapes, as a parser would see it).
func DuplicateKey(b []byte) bool {
	if bytes.IndexByte(b, ':') < 0 {
		return false // no object with a member anywhere
	}
	_, dup := dupScan(b, skipSpace(b, 0))
	return dup
}

// dupScan checks the value at b[i] and returns the index past it.
func dupScan(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '{':
		var keys [][]byte // small objects: a linear scan beats a map
		var set map[string]struct{}
		i = skipSpace(b, i+1)
		for i < len(b) && b[i] == '"' {
			ke := stringEnd(b, i)
			k := b[i+1 : max(ke-1, i+1)]
			if !PlainKey(k) {
				s, _ := String(b[i:ke])
				k = []byte(s)
			}
			if set != nil {
				if _, ok := set[string(k)]; ok {
					return i, true
				}
				set[string(k)] = struct{}{}
			} else {
				for _, o := range keys {
					if bytes.Equal(o, k) {
						return i, true
					}
				}
				keys = append(keys, k)
				if len(keys) > 16 {
					set = make(map[string]struct{}, 2*len(keys))
					for _, o := range keys {
						set[string(o)] = struct{}{}
					}
				}
			}
			i = skipSpace(b, ke)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			var dup bool
			if i, dup = dupScan(b, skipSpace(b, i+1)); dup {
				return i, true
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ',' {
				break
			}
			i = skipSpace(b, i+1)
		}
		if i < len(b) && b[i] == '}' {
			i++
		}
		return i, false
	case '[':
		i = skipSpace(b, i+1)
		for i < len(b) && b[i] != ']' {
			var dup bool
			if i, dup = dupScan(b, i); dup {
				return i, true
			}
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
			} else {
				break
			}
		}
		if i < len(b) && b[i] == ']' {
			i++
		}
		return i, false
	}
	return valueEnd(b, i), false
}

// Pick finds the members of the object b whose keys are exactly names and
// stores their raw values in vals (nil for an absent one). ok is false
// when b is not an object. plain is false when encoding/json might read
// the object differently, so the caller should decode it with
// encoding/json instead: a key with escapes or non-ASCII bytes, a key
// equal to a name only case-insensitively (encoding/json matches struct
// fields that way), or a name given twice (encoding/json keeps the last).
func Pick(b []byte, names []string, vals [][]byte) (ok, plain bool) {
	clear(vals)
	plain = true
	ok = Members(b, func(k, v []byte) bool {
		if !PlainKey(k) {
			plain = false
			return false
		}
		for i, n := range names {
			if string(k) == n {
				if vals[i] != nil {
					plain = false
					return false
				}
				vals[i] = v
				return true
			}
			if len(k) == len(n) && bytes.EqualFold(k, []byte(n)) {
				plain = false
				return false
			}
		}
		return true
	})
	return ok, plain
}
