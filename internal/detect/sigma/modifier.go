package sigma

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Limits on what one rule may make the engine hold. A rule that exceeds one
// is rejected with the limit in the reason.
const (
	maxValueLen      = 16 << 10 // bytes of one value, before and after transformation
	maxAlternatives  = 20000    // values one field condition expands to (the vulnerable-driver hash list has ~5,000)
	maxWildcards     = 64       // '*' and '?' in one value
	maxWindashPlaces = 4        // dash positions expanded combinatorially
	maxRegexProgSize = 20000    // RE2 instructions after compilation
)

// knownModifiers lists every modifier name the compiler understands, with
// whether it transforms values (applied in order) or sets how they compare.
var knownModifiers = map[string]bool{
	"contains": false, "startswith": false, "endswith": false, "all": false,
	"re": false, "i": false, "m": false, "s": false, "cidr": false,
	"base64": true, "base64offset": true, "utf16le": true, "utf16be": true,
	"utf16": true, "wide": true, "windash": true, "expand": true,
	"exists": false, "fieldref": false, "cased": false,
	"gt": false, "gte": false, "lt": false, "lte": false, "neq": false,
}

// dashes are the characters windash substitutes for one another: hyphen,
// slash, en dash, em dash, horizontal bar.
var dashes = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// windash returns the variants of s with each command-line flag dash
// replaced by every dash character. A position is a flag dash when it is '-'
// or '/', not preceded by a word character and followed by one. Up to
// maxWindashPlaces positions are expanded combinatorially; beyond that every
// position takes the same character.
func windash(s string) []string {
	var pos []int
	for i := 0; i < len(s); i++ {
		if s[i] != '-' && s[i] != '/' {
			continue
		}
		if i > 0 && isWordByte(s[i-1]) {
			continue
		}
		if i+1 >= len(s) || !isWordByte(s[i+1]) {
			continue
		}
		pos = append(pos, i)
	}
	if len(pos) == 0 {
		return []string{s}
	}
	build := func(choice func(k int) string) string {
		var b strings.Builder
		prev := 0
		for k, p := range pos {
			b.WriteString(s[prev:p])
			b.WriteString(choice(k))
			prev = p + 1
		}
		b.WriteString(s[prev:])
		return b.String()
	}
	if len(pos) > maxWindashPlaces {
		out := make([]string, 0, len(dashes))
		for _, d := range dashes {
			out = append(out, build(func(int) string { return d }))
		}
		return out
	}
	n := 1
	for range pos {
		n *= len(dashes)
	}
	out := make([]string, 0, n)
	for c := 0; c < n; c++ {
		out = append(out, build(func(k int) string {
			x := c
			for j := 0; j < k; j++ {
				x /= len(dashes)
			}
			return dashes[x%len(dashes)]
		}))
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func encodeUTF16(s string, bigEndian, bom bool) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u)+2)
	if bom {
		if bigEndian {
			b = append(b, 0xFE, 0xFF)
		} else {
			b = append(b, 0xFF, 0xFE)
		}
	}
	for _, c := range u {
		if bigEndian {
			b = binary.BigEndian.AppendUint16(b, c)
		} else {
			b = binary.LittleEndian.AppendUint16(b, c)
		}
	}
	return string(b)
}

// base64Offsets returns the three encodings of s as it would appear at byte
// offsets 0, 1 and 2 of a longer base64-encoded text, with the characters
// that depend on the unknown neighbouring bytes cut off.
func base64Offsets(s string) []string {
	out := make([]string, 0, 3)
	for shift := 0; shift < 3; shift++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, shift), s...))
		start := [3]int{0, 2, 3}[shift]
		end := len(enc) - [3]int{0, 3, 2}[(len(s)+shift)%3]
		if start >= end {
			continue
		}
		out = append(out, enc[start:end])
	}
	return out
}

// expandPlaceholders replaces every %name% in s with each configured value,
// producing the cartesian product.
func expandPlaceholders(s string, values map[string][]string) ([]string, error) {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return []string{s}, nil
	}
	j := strings.IndexByte(s[i+1:], '%')
	if j < 0 {
		return []string{s}, nil
	}
	name := s[i+1 : i+1+j]
	vals, ok := values[name]
	if !ok {
		return nil, fmt.Errorf("placeholder %%%s%% has no configured values", name)
	}
	rest, err := expandPlaceholders(s[i+2+j:], values)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(vals)*len(rest))
	for _, v := range vals {
		for _, r := range rest {
			out = append(out, s[:i]+v+r)
			if len(out) > maxAlternatives {
				return nil, fmt.Errorf("placeholder expansion exceeds %d values", maxAlternatives)
			}
		}
	}
	return out, nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
