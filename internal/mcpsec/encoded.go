package mcpsec

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	base64RE = regexp.MustCompile(`[A-Za-z0-9+/_-]{20,}={0,2}`)
	hexRE    = regexp.MustCompile(`(?i)(?:\\x[0-9a-f]{2}){8,}|\b(?:0x)?(?:[0-9a-f]{2}){12,}\b|(?:[0-9a-f]{2}[ :]){11,}[0-9a-f]{2}\b`)
	pctRE    = regexp.MustCompile(`[^%\s"']{0,24}(?:%[0-9A-Fa-f]{2}[^%\s"']{0,24}){6,}`)
	// decodedShellRE: a decoded blob that is a command or a URL is a payload
	// even without directive words.
	decodedURLRE = regexp.MustCompile(`https?://|[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`)
)

// maxBlobs bounds how many encoded blobs one text may cost.
const maxBlobs = 8

// decoded is one decoded blob and what it decoded to.
type decoded struct {
	encoding, blob, text string
}

// decodeBlobs finds base64, hex and percent-encoded runs in raw text and
// returns the ones that decode to mostly printable text.
func decodeBlobs(raw string) []decoded {
	var out []decoded
	if len(raw) < 20 {
		return nil
	}
	if strings.Contains(raw, "%") {
		for _, m := range pctRE.FindAllString(raw, maxBlobs) {
			if t, err := url.QueryUnescape(strings.ReplaceAll(m, "+", "%2B")); err == nil && printable(t) {
				out = append(out, decoded{"url", m, t})
			}
		}
	}
	for _, m := range hexRE.FindAllString(raw, maxBlobs*boolInt(hasRun(raw, 16, isHexish))) {
		h := strings.NewReplacer(`\x`, "", `\X`, "", " ", "", ":", "", "0x", "").Replace(m)
		if b, err := hex.DecodeString(h); err == nil && printable(string(b)) {
			out = append(out, decoded{"hex", m, string(b)})
		}
	}
	if !hasRun(raw, 20, isBase64Byte) {
		return out
	}
	for _, m := range base64RE.FindAllString(raw, maxBlobs) {
		if !looksBase64(m) {
			continue
		}
		if t, ok := decodeBase64(m); ok {
			out = append(out, decoded{"base64", m, t})
		}
	}
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isBase64Byte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '_' || c == '-' || c == '='
}

func isHexish(c byte) bool {
	return c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c >= '0' && c <= '9' || c == '\\' || c == 'x' || c == 'X' || c == ' ' || c == ':'
}

// hasRun reports whether s has n consecutive bytes accepted by ok: a cheap
// gate before the blob regexps.
func hasRun(s string, n int, ok func(byte) bool) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if ok(s[i]) {
			run++
			if run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// looksBase64 skips identifiers, paths and words that merely match the
// alphabet: a real blob mixes cases and digits.
func looksBase64(s string) bool {
	var lower, upper, digit int
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z':
			lower++
		case 'A' <= c && c <= 'Z':
			upper++
		case '0' <= c && c <= '9':
			digit++
		}
	}
	return lower > 0 && upper > 0 && (upper+digit)*8 >= len(s)
}

func decodeBase64(s string) (string, bool) {
	trim := strings.TrimRight(s, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for cut := 0; cut < 4 && cut < len(trim); cut++ {
			b, err := enc.DecodeString(trim[:len(trim)-cut])
			if err == nil && len(b) >= 12 && printable(string(b)) {
				return string(b), true
			}
		}
	}
	return "", false
}

// printable reports text that is valid UTF-8 and at least 90% printable with
// some letters: decoded hashes and binary data are not.
func printable(s string) bool {
	if len(s) < 8 || !utf8.ValidString(s) {
		return false
	}
	var good, letters, n int
	for _, r := range s {
		n++
		switch {
		case r == '\n' || r == '\t' || r == '\r' || (r >= 0x20 && r < 0x7f):
			good++
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				letters++
			}
		case r >= 0xa0 && r != 0xfffd:
			good++
		}
	}
	return good*10 >= n*9 && letters*3 >= n
}

// encodedCheck decodes blobs and re-scans them: a blob that hides a directive,
// a shell command or an exfiltration target is a hard finding.
func (a *Analyzer) encodedCheck(l leaf, emit func(Finding)) {
	for _, d := range decodeBlobs(l.raw) {
		text := d.text
		// Nested encodings: one more round.
		for _, inner := range decodeBlobs(text) {
			text += " " + inner.text
		}
		sc := scanText(normalize(text))
		v := evaluate(sc)
		switch {
		case v.hard != "" || v.score >= 2 || sc.has(sigShell) || sc.has(sigSensitive) || sc.has(sigHarvestTarget) || decodedURLRE.MatchString(strings.ToLower(text)):
			emit(newFinding(RuleEncoded, l.loc, d.encoding+" "+clip(d.blob, 40)+" decodes to: "+clip(redact(visible(text)), 110), sc.names()))
			return
		}
	}
}
