package scan

import (
	"math"
	"net/url"
	"regexp"
	"strings"
)

// secretPattern is a provider token format. Patterns are anchored on the
// provider's fixed prefix so they stay near free of false positives.
type secretPattern struct {
	name string
	re   *regexp.Regexp
}

var secretPatterns = []secretPattern{
	{"AWS access key id", regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"GitHub token", regexp.MustCompile(`\bgh[pousr]_[A-Za-z0-9]{36,255}\b`)},
	{"GitHub fine-grained token", regexp.MustCompile(`\bgithub_pat_[A-Za-z0-9_]{60,255}\b`)},
	{"GitLab token", regexp.MustCompile(`\bglpat-[A-Za-z0-9_-]{20,64}\b`)},
	{"Slack token", regexp.MustCompile(`\bxox[abposr]-[A-Za-z0-9-]{10,200}\b`)},
	{"Anthropic API key", regexp.MustCompile(`\bsk-ant-[A-Za-z0-9_-]{20,200}`)},
	{"OpenAI API key", regexp.MustCompile(`\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}`)},
	{"Stripe key", regexp.MustCompile(`\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,200}\b`)},
	{"Google API key", regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`)},
	{"npm token", regexp.MustCompile(`\bnpm_[A-Za-z0-9]{36}\b`)},
	{"Hugging Face token", regexp.MustCompile(`\bhf_[A-Za-z0-9]{30,64}\b`)},
	{"SendGrid key", regexp.MustCompile(`\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}\b`)},
	{"Twilio key", regexp.MustCompile(`\bSK[0-9a-f]{32}\b`)},
	{"Notion token", regexp.MustCompile(`\b(?:secret_|ntn_)[A-Za-z0-9]{40,50}\b`)},
	{"Linear key", regexp.MustCompile(`\blin_api_[A-Za-z0-9]{40}\b`)},
	{"JSON Web Token", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)},
	{"private key", regexp.MustCompile(`-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----`)},
	{"connection string password", regexp.MustCompile(`\b(?:postgres(?:ql)?|mysql|mongodb(?:\+srv)?|redis|amqps?)://[^:/@\s]{1,64}:([^@\s]{3,128})@`)},
}

// secretKeyRe matches keys (env names, header names, flag names, query
// parameters) that name a credential.
var secretKeyRe = regexp.MustCompile(`(?i)(token|secret|passw(or)?d|pwd|api[_-]?key|apikey|access[_-]?key|private[_-]?key|auth|credential|bearer|session|cookie|signature|sig$|^key$|_key$)`)

// referenceRe matches values that only point at a secret held elsewhere.
var referenceRe = regexp.MustCompile(`^\s*(?:\$\{[^}]{1,200}\}|\$[A-Za-z_][A-Za-z0-9_]{0,100}|%[A-Za-z_][A-Za-z0-9_]{0,100}%|\{env:[^}]{1,200}\}|\{\{[^}]{1,200}\}\}|<[^>]{1,80}>|op://\S+|YOUR[_A-Z-]*|xxx+|\*+|changeme|placeholder|\.\.\.|…)\s*$`)

// maxSecretValue bounds the part of one value searched for secrets: tokens
// are short, and a megabyte argument must not make a scan slow.
const maxSecretValue = 8 << 10

func clipBytes(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// defaultRe matches a whole ${VAR:-default} value (Claude Code expansion).
var defaultRe = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]{0,100}:-([^}]{1,500})\}$`)

// secretHit is one secret found in a value.
type secretHit struct {
	kind     string
	value    string
	provider bool
}

// findSecret inspects one value found under key (which may be empty).
func findSecret(key, value string) (secretHit, bool) {
	v := strings.TrimSpace(clipBytes(value, maxSecretValue))
	if m := defaultRe.FindStringSubmatch(v); m != nil {
		// ${VAR:-default}: the reference is fine, a literal default is not.
		v = m[1]
	}
	if v == "" || referenceRe.MatchString(v) {
		return secretHit{}, false
	}
	if h, ok := matchProvider(v, ""); ok {
		return h, true
	}
	lower := strings.ToLower(v)
	for _, scheme := range []string{"bearer ", "token ", "basic "} {
		if strings.HasPrefix(lower, scheme) {
			tok := strings.TrimSpace(v[len(scheme):])
			if tok != "" && !referenceRe.MatchString(tok) && !strings.Contains(tok, "${") && len(tok) >= 8 {
				return secretHit{kind: "authorization credential", value: tok, provider: true}, true
			}
			return secretHit{}, false
		}
	}
	if key != "" && secretKeyRe.MatchString(key) && !strings.Contains(v, "${") && looksRandom(v) {
		return secretHit{kind: "high-entropy value under " + key, value: v}, true
	}
	return secretHit{}, false
}

// looksRandom is the entropy test for generic secrets: long enough, no
// spaces, not a path or URL, and at least 3.5 bits of Shannon entropy per
// character with letters and digits mixed.
func looksRandom(v string) bool {
	if len(v) < 16 || len(v) > 512 || strings.ContainsAny(v, " \t/\\") || strings.Contains(v, "://") {
		return false
	}
	var letters, digits int
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letters++
		}
	}
	if letters == 0 || digits == 0 {
		return false
	}
	return entropy(v) >= 3.5
}

func entropy(s string) float64 {
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	var h float64
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

// Redact shows the shape of a secret without its value: its length and, for
// long tokens, the first four characters (provider prefixes say which key it
// is).
func Redact(v string) string {
	r := []rune(v)
	if len(r) < 20 {
		// Short secrets are passwords: any prefix is a real share of them.
		return "****(" + itoa(len(r)) + " chars)"
	}
	return string(r[:4]) + "…(" + itoa(len(r)) + " chars)"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// argSecrets looks at command-line arguments: --token=VALUE, --token VALUE
// and bare provider tokens.
func argSecrets(args []string) []struct {
	index int
	hit   secretHit
} {
	var out []struct {
		index int
		hit   secretHit
	}
	for i, a := range args {
		key := ""
		val := a
		if strings.HasPrefix(a, "-") {
			if k, v, ok := strings.Cut(a, "="); ok {
				key, val = strings.TrimLeft(k, "-"), v
			} else {
				continue // the value, if any, is the next argument
			}
		} else if i > 0 && strings.HasPrefix(args[i-1], "-") && !strings.Contains(args[i-1], "=") {
			key = strings.TrimLeft(args[i-1], "-")
		}
		if strings.Contains(val, "://") {
			if h, ok := urlSecret(val); ok {
				out = append(out, struct {
					index int
					hit   secretHit
				}{i, h})
			}
			continue
		}
		if h, ok := findSecret(key, val); ok {
			out = append(out, struct {
				index int
				hit   secretHit
			}{i, h})
		}
	}
	return out
}

// urlSecret finds credentials in a URL: a password in the userinfo, a
// provider token anywhere, or a credential-named query parameter.
func urlSecret(raw string) (secretHit, bool) {
	raw = clipBytes(raw, maxSecretValue)
	if h, ok := matchProvider(raw, " in URL"); ok {
		return h, true
	}
	u, err := url.Parse(raw)
	if err != nil {
		return secretHit{}, false
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" && !referenceRe.MatchString(pw) {
			return secretHit{kind: "password in URL", value: pw, provider: true}, true
		}
	}
	for k, vs := range u.Query() {
		for _, v := range vs {
			if v == "" || referenceRe.MatchString(v) || strings.Contains(v, "${") {
				continue
			}
			if secretKeyRe.MatchString(k) && len(v) >= 8 {
				return secretHit{kind: "credential in URL query parameter " + k, value: v, provider: true}, true
			}
		}
	}
	return secretHit{}, false
}

// matchProvider finds a provider token; a pattern with a group reports only
// the group (the password of a connection string, not the whole URL).
func matchProvider(v, suffix string) (secretHit, bool) {
	for _, p := range secretPatterns {
		if m := p.re.FindStringSubmatch(v); m != nil {
			val := m[0]
			if len(m) > 1 && m[1] != "" {
				val = m[1]
			}
			return secretHit{kind: p.name + suffix, value: val, provider: true}, true
		}
	}
	return secretHit{}, false
}

// redactArgs returns args with every secret argSecrets or a docker
// -e KEY=VALUE pair reveals replaced by its redacted form.
func redactArgs(args []string) []string {
	out := append([]string(nil), args...)
	for _, a := range argSecrets(out) {
		out[a.index] = strings.Replace(out[a.index], a.hit.value, Redact(a.hit.value), 1)
	}
	for i := 1; i < len(out); i++ {
		if out[i-1] == "-e" || out[i-1] == "--env" {
			if k, v, ok := strings.Cut(out[i], "="); ok {
				if h, ok := findSecret(k, v); ok {
					out[i] = k + "=" + strings.Replace(v, h.value, Redact(h.value), 1)
				}
			}
		}
	}
	return out
}
