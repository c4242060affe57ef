package scan

import (
	_ "embed"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

//go:embed known.txt
var knownText string

// knownNames is the offline list the look-alike checks compare against.
type knownNames struct {
	npm, pypi, image, scope, host map[string]bool
}

var known = func() knownNames {
	k := knownNames{npm: map[string]bool{}, pypi: map[string]bool{}, image: map[string]bool{}, scope: map[string]bool{}, host: map[string]bool{}}
	for _, line := range strings.Split(knownText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		kind, name, ok := strings.Cut(line, " ")
		if !ok {
			panic("scan: bad known.txt line " + line)
		}
		m := map[string]map[string]bool{"npm": k.npm, "pypi": k.pypi, "image": k.image, "scope": k.scope, "host": k.host}[kind]
		if m == nil {
			panic("scan: bad known.txt kind " + kind)
		}
		m[strings.ToLower(name)] = true
	}
	for p := range k.npm {
		if s, _, ok := strings.Cut(p, "/"); ok && strings.HasPrefix(s, "@") {
			k.scope[s] = true
		}
	}
	return k
}()

// confusables folds characters that render like Latin letters or digits to
// the letter (a subset of the UTS #39 skeleton table that matters for
// package and host names).
var confusables = map[rune]string{
	'а': "a", 'е': "e", 'о': "o", 'р': "p", 'с': "c", 'у': "y", 'х': "x", 'і': "i", 'ј': "j", 'ѕ': "s", 'ԁ': "d", 'ԛ': "q", 'ԝ': "w", 'һ': "h", 'ӏ': "l", 'к': "k", 'м': "m", 'т': "t", 'в': "b", 'н': "h",
	'α': "a", 'ο': "o", 'ρ': "p", 'ν': "v", 'ι': "i", 'κ': "k", 'τ': "t", 'χ': "x", 'ε': "e", 'υ': "u",
	'0': "o", '1': "l", 'ı': "i", 'ł': "l", '|': "l", '_': "-", '.': "-",
}

// skeleton maps a name to the string it looks like: NFKC, lower case,
// confusables folded, i/l and rn/m and vv/w merged.
func skeleton(s string) string {
	s = strings.ToLower(norm.NFKC.String(s))
	var b strings.Builder
	for _, r := range s {
		if f, ok := confusables[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	out = strings.ReplaceAll(out, "rn", "m")
	out = strings.ReplaceAll(out, "vv", "w")
	out = strings.ReplaceAll(out, "i", "l")
	return out
}

// editDistance is the optimal-string-alignment distance (insertions,
// deletions, substitutions and adjacent transpositions), over runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	n, m := len(ra), len(rb)
	d := make([][]int, n+1)
	for i := range d {
		d[i] = make([]int, m+1)
		d[i][0] = i
	}
	for j := 0; j <= m; j++ {
		d[0][j] = j
	}
	for i := 1; i <= n; i++ {
		for j := 1; j <= m; j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[n][m]
}

// maxNameLen bounds names compared: npm names are at most 214 characters
// and host names 253; anything longer imitates nothing we list.
const maxNameLen = 256

// lookAlike reports which known name candidate imitates, and how.
func lookAlike(candidate string, set map[string]bool) (string, string, bool) {
	c := strings.ToLower(candidate)
	if set[c] || len(c) > maxNameLen {
		return "", "", false
	}
	sc := skeleton(c)
	cn := utf8.RuneCountInString(c)
	best, how := "", ""
	bestD := 99
	for k := range set {
		if sc == skeleton(k) {
			// Deterministic choice among equals: the shortest, then lexical.
			if how != "confusable" || k < best {
				best, how, bestD = k, "confusable", 0
			}
			continue
		}
		if how == "confusable" {
			continue
		}
		n := utf8.RuneCountInString(k)
		limit := 0
		switch {
		case n >= 12:
			limit = 2
		case n >= 5:
			limit = 1
		}
		if limit == 0 || cn-n > limit || n-cn > limit {
			continue // the distance is at least the length difference
		}
		if d := editDistance(c, k); d <= limit && (d < bestD || d == bestD && k < best) {
			best, how, bestD = k, "edit distance "+itoa(d), d
		}
	}
	return best, how, best != ""
}

// squatNPM checks an npm package name against the known list: typos and
// confusables of the full name, and scope swaps (a known package name under
// a scope that imitates its real scope).
func squatNPM(pkg string) (string, string, bool) {
	p := strings.ToLower(pkg)
	if known.npm[p] {
		return "", "", false
	}
	if scope, name, ok := strings.Cut(p, "/"); ok && strings.HasPrefix(scope, "@") {
		if !known.scope[scope] {
			if s, how, ok := lookAlike(scope, known.scope); ok {
				return s + "/" + name, "npm scope swap (" + how + " from " + s + ")", true
			}
		}
		if known.scope[scope] {
			// A known scope with a look-alike package name.
			if k, how, ok := lookAlike(p, known.npm); ok {
				return k, how, true
			}
			return "", "", false
		}
		// An unknown scope carrying a known unscoped name is common for
		// forks; only near-identical full names count.
	}
	return lookAlike(p, known.npm)
}

func squatPyPI(pkg string) (string, string, bool) {
	p := strings.ToLower(strings.ReplaceAll(pkg, "_", "-"))
	return lookAlike(p, known.pypi)
}

func squatImage(image string) (string, string, bool) {
	return lookAlike(strings.ToLower(image), known.image)
}

// squatHost compares the registrable part (last two labels) of a host with
// the known hosts. Punycode (xn--) labels are compared as written.
func squatHost(host string) (string, string, bool) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return "", "", false
	}
	reg := labels[len(labels)-2] + "." + labels[len(labels)-1]
	if known.host[reg] {
		return "", "", false
	}
	return lookAlike(reg, known.host)
}
