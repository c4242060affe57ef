package mcpsec

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// confusables folds the Cyrillic and Greek letters that render like Latin
// ones, so "іgnore" (Cyrillic і) reads as "ignore" for phrase checks. It is a
// small hand-picked subset of the UTS #39 skeleton table: the letters seen in
// look-alike attacks on English text.
var confusables = map[rune]rune{
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p',
	'с': 'c', 'т': 't', 'у': 'y', 'х': 'x', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd',
	'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'ɡ': 'g', 'ı': 'i',
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p',
	'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w', 'ѵ': 'v',
	'‘': '\'', '’': '\'', '‚': '\'', '‛': '\'', '“': '"', '”': '"', '„': '"', '«': '"', '»': '"',
	'‐': '-', '‑': '-', '‒': '-', '–': '-', '—': '-', '―': '-', '−': '-',
}

// isInvisible reports format and control characters that render as nothing.
func isInvisible(r rune) bool {
	if r == '\n' || r == '\t' || r == '\r' {
		return false
	}
	return unicode.Is(unicode.Cf, r) || unicode.IsControl(r) || (r >= 0xE0000 && r <= 0xE007F)
}

func isASCIIPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c == 0x1b {
			return false
		}
	}
	return true
}

// normalize prepares text for phrase checks: NFKC, case folding, look-alike
// folding, invisible characters and ANSI escapes removed, whitespace
// collapsed. The raw text must be checked for hidden characters first: this
// erases that evidence.
func normalize(raw string) string {
	s := raw
	if !isASCIIPlain(s) {
		s = stripANSI(s)
		s = norm.NFKC.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := true // drop leading space
	for _, r := range s {
		switch {
		case r == ' ' || r == '\n' || r == '\t' || r == '\r' || unicode.IsSpace(r):
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		case r < utf8.RuneSelf:
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			} else if r < 0x20 || r == 0x7f {
				continue
			}
		default:
			if isInvisible(r) {
				continue
			}
			if c, ok := confusables[r]; ok {
				r = c
			} else {
				r = unicode.ToLower(r)
				if c, ok := confusables[r]; ok {
					r = c
				}
			}
		}
		b.WriteRune(r)
		space = false
	}
	out := b.String()
	return strings.TrimRight(out, " ")
}

// stripANSI removes CSI and OSC escape sequences.
func stripANSI(s string) string {
	if !strings.Contains(s, "\x1b") && !strings.Contains(s, "\u009b") {
		return s
	}
	return ansiRE.ReplaceAllString(s, "")
}
