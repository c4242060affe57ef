// Package jsonenc quotes strings as JSON without reflection, for the hot
// paths that write JSON by hand (event encoding, audit records). Two
// escape tables exist: Compact, the shortest valid form, and Marshal,
// byte-for-byte what encoding/json.Marshal writes (HTML-safe).
package jsonenc

import "unicode/utf8"

// Table gives, for each ASCII byte, what it becomes inside a JSON string;
// "" means the byte is written as is.
type Table [utf8.RuneSelf]string

// Compact escapes only what JSON requires: quote, backslash and control
// characters (\n, \r and \t short, the others as \u00XX).
var Compact = newTable(false)

// Marshal escapes as encoding/json.Marshal does: Compact's escapes plus
// \b and \f short and <, > and & as \u00XX.
var Marshal = newTable(true)

const hexDigits = "0123456789abcdef"

func newTable(marshal bool) *Table {
	var t Table
	for c := range 0x20 {
		t[c] = `\u00` + string(hexDigits[c>>4]) + string(hexDigits[c&0xf])
	}
	t['"'], t['\\'] = `\"`, `\\`
	t['\n'], t['\r'], t['\t'] = `\n`, `\r`, `\t`
	if marshal {
		t['\b'], t['\f'] = `\b`, `\f`
		t['<'], t['>'], t['&'] = `\u003c`, `\u003e`, `\u0026`
	}
	return &t
}

// AppendString appends s quoted as a JSON string with t's escapes. Invalid
// UTF-8 becomes U+FFFD and U+2028/U+2029 are escaped, as encoding/json
// does, so the output is always valid JSON and safe in JavaScript.
func AppendString(dst []byte, s string, t *Table) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if esc := t[c]; esc != "" {
				dst = append(dst, s[start:i]...)
				dst = append(dst, esc...)
				start = i + 1
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			start = i + size
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
