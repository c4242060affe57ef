package mcpsec

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

var (
	ansiRE = regexp.MustCompile(`(?:\x1b\[|\x{9b})[0-9;?:<=>]{0,32}[ -/]{0,4}[@-~]|\x1b\][^\x07\x1b]{0,512}(?:\x07|\x1b\\)|\x1b[@-Z\\-_]`)
	// Comments that a rendered Markdown or HTML view hides.
	commentRE = regexp.MustCompile(`(?s)<!--(.{0,1000}?)-->|(?m:^\s{0,3}\[(?://|comment|_)\]:\s{0,8}(?:#|<>)\s{0,8}\(([^)]{0,1000})\)\s*$)`)
)

// rawCheck looks at text before any normalization: invisible characters,
// bidi controls, Unicode tag characters, ANSI escapes, hidden comments and
// abnormal length.
func (a *Analyzer) rawCheck(l leaf, emit func(Finding)) {
	raw := l.raw
	if len(raw) > a.opts.MaxTextBytes {
		emit(newFinding(RuleLength, l.loc, fmt.Sprintf("%d bytes (limit %d); only the first %d bytes were analyzed", len(raw), a.opts.MaxTextBytes, a.opts.MaxTextBytes), nil))
		raw = raw[:a.opts.MaxTextBytes]
	} else if l.field == "description" && len(raw) > a.opts.LongText {
		emit(newFinding(RuleLength, l.loc, fmt.Sprintf("%d bytes, longer than %d", len(raw), a.opts.LongText), nil))
	}
	if pad := paddingRun(raw); pad > 0 {
		emit(newFinding(RuleLength, l.loc, fmt.Sprintf("%d consecutive blank characters push later text out of view", pad), nil))
		// The text pushed out of view is read like a comment: directives
		// there are hidden on purpose.
		if tail := strings.TrimSpace(afterPadding(raw, pad)); tail != "" {
			sc := scanText(normalize(tail))
			if v := evaluate(sc); v.hard != "" || v.score >= reviewScore/2 {
				emit(newFinding(RuleEncodedComment, l.loc, "after padding: "+clip(redact(tail), 140), sc.names()))
			}
		}
	}
	if isASCIIPlain(raw) {
		if strings.Contains(raw, "<!--") || strings.Contains(raw, "]:") {
			a.commentCheck(l, raw, emit)
		}
		return
	}
	var (
		tags     strings.Builder
		tagAt    = -1
		zwAt     = -1
		zwRune   rune
		bidiAt   = -1
		bidiRune rune
		prev     rune
	)
	for i, r := range raw {
		switch {
		case r >= 0xE0000 && r <= 0xE007F:
			if tagAt < 0 {
				tagAt = i
			}
			if r >= 0xE0020 && r <= 0xE007E {
				tags.WriteRune(r - 0xE0000)
			}
		case r == 0x202A || r == 0x202B || r == 0x202C || r == 0x202D || r == 0x202E || (r >= 0x2066 && r <= 0x2069):
			if bidiAt < 0 {
				bidiAt, bidiRune = i, r
			}
		case isZeroWidth(r):
			// A zero-width joiner between two emoji or inside an Indic
			// cluster is ordinary; next to ASCII letters it hides things.
			next, _ := utf8.DecodeRuneInString(raw[i+utf8.RuneLen(r):])
			if zwAt < 0 && (r != 0x200D && r != 0x200C || isASCIIAlnum(prev) || isASCIIAlnum(next)) && !(r == 0xFEFF && i == 0) {
				zwAt, zwRune = i, r
			}
		}
		prev = r
	}
	if tagAt >= 0 {
		ev := "hidden tag text: " + clip(tags.String(), 120)
		emit(newFinding(RuleUnicodeTag, l.loc, ev, nil))
	}
	if bidiAt >= 0 {
		emit(newFinding(RuleBidi, l.loc, fmt.Sprintf("U+%04X at byte %d: %s", bidiRune, bidiAt, excerptRaw(raw, bidiAt)), nil))
	}
	if zwAt >= 0 {
		emit(newFinding(RuleZeroWidth, l.loc, fmt.Sprintf("U+%04X at byte %d: %s", zwRune, zwAt, excerptRaw(raw, zwAt)), nil))
	}
	if loc := ansiRE.FindStringIndex(raw); loc != nil {
		emit(newFinding(RuleANSI, l.loc, excerptRaw(raw, loc[0]), nil))
	}
	if w := mixedScriptWord(raw); w != "" {
		emit(newFinding(RuleMixedScript, l.loc, "mixed-script word "+visible(w), nil))
	}
	a.commentCheck(l, raw, emit)
}

func (a *Analyzer) commentCheck(l leaf, raw string, emit func(Finding)) {
	for _, m := range commentRE.FindAllStringSubmatch(raw, 4) {
		body := strings.TrimSpace(m[1] + m[2])
		if body == "" {
			continue
		}
		sc := scanText(normalize(body))
		if v := evaluate(sc); v.hard != "" || v.score >= reviewScore/2 {
			f := newFinding(RuleEncodedComment, l.loc, "comment: "+clip(redact(body), 140), sc.names())
			emit(f)
			continue
		}
		emit(newFinding(RuleComment, l.loc, "comment: "+clip(redact(body), 140), nil))
	}
}

func isZeroWidth(r rune) bool {
	switch r {
	case 0x200B, 0x200C, 0x200D, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x180E, 0x00AD, 0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x200E, 0x200F, 0x061C:
		return true
	}
	return false
}

func isASCIIAlnum(r rune) bool {
	return r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// paddingRun returns the length of the longest run of blank characters when
// it is long enough to push text out of a viewer (≥ 200 spaces or ≥ 20
// newlines), else 0.
func paddingRun(s string) int {
	if len(s) < 20 {
		return 0
	}
	run, nl, best := 0, 0, 0
	for _, r := range s {
		switch r {
		case ' ', '\t', '\u00a0', '\u2800', '\u3000':
			run++
		case '\n', '\r':
			run++
			nl++
		default:
			if run >= 200 || nl >= 20 {
				if run > best {
					best = run
				}
			}
			run, nl = 0, 0
			continue
		}
	}
	if run >= 200 || nl >= 20 {
		if run > best {
			best = run
		}
	}
	// Trailing padding hides nothing.
	if strings.TrimRight(s, " \t\r\n\u00a0\u2800\u3000") == s[:len(s)-run] && run == best {
		return 0
	}
	return best
}

// afterPadding returns the text after the first blank run of length pad.
func afterPadding(s string, pad int) string {
	run := 0
	for i, r := range s {
		switch r {
		case ' ', '\t', '\u00a0', '\u2800', '\u3000', '\n', '\r':
			run++
		default:
			if run == pad {
				return s[i:]
			}
			run = 0
		}
	}
	return ""
}

// mixedScriptWord returns the first word mixing Latin letters with Cyrillic
// or Greek ones.
func mixedScriptWord(s string) string {
	start := -1
	var latin, other bool
	flush := func(end int) string {
		if start >= 0 && latin && other {
			return s[start:end]
		}
		return ""
	}
	for i, r := range s {
		if unicode.IsLetter(r) {
			if start < 0 {
				start, latin, other = i, false, false
			}
			switch {
			case unicode.Is(unicode.Latin, r):
				latin = true
			case unicode.Is(unicode.Cyrillic, r) || unicode.Is(unicode.Greek, r):
				other = true
			}
			continue
		}
		if w := flush(i); w != "" {
			return w
		}
		start = -1
	}
	return flush(len(s))
}

// visible renders invisible and non-ASCII characters as \u escapes.
func visible(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && (isInvisible(r) || !unicode.IsPrint(r) || unicode.Is(unicode.Cyrillic, r) || unicode.Is(unicode.Greek, r)) {
			if r > 0xFFFF {
				fmt.Fprintf(&b, `\U%08X`, r)
			} else {
				fmt.Fprintf(&b, `\u%04X`, r)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// excerptRaw returns a short, escaped window of raw around byte i.
func excerptRaw(raw string, i int) string {
	lo, hi := i-40, i+60
	if lo < 0 {
		lo = 0
	}
	if hi > len(raw) {
		hi = len(raw)
	}
	for lo > 0 && !utf8.RuneStart(raw[lo]) {
		lo--
	}
	for hi < len(raw) && !utf8.RuneStart(raw[hi]) {
		hi++
	}
	return clip(redact(visible(raw[lo:hi])), 160)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
