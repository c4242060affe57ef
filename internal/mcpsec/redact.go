package mcpsec

import "regexp"

// secretRE finds credential-shaped values in evidence excerpts: provider
// prefixes, bearer tokens, key=value assignments, PEM blocks, JWTs. Matches
// are replaced so evidence never carries a live secret into reports or logs.
var secretRE = regexp.MustCompile(`(?i)\b(?:sk|pk|rk)[-_](?:live|test|proj|ant)?[-_]?[a-z0-9_-]{12,}|\bgh[pousr]_[a-z0-9]{20,}|\bgithub_pat_[a-z0-9_]{20,}|\bxox[abposr]-[a-z0-9-]{10,}|\bAKIA[0-9A-Z]{16}\b|\bAIza[0-9a-z_-]{30,}|\beyJ[a-z0-9_-]{8,}\.[a-z0-9_-]{8,}\.[a-z0-9_-]{0,}|-----BEGIN [A-Z ]{0,30}PRIVATE KEY-----[^-]{0,1000}(?:-----END [A-Z ]{0,30}PRIVATE KEY-----)?|\b(?:bearer|basic)\s+[a-z0-9._~+/=-]{12,}|\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)\s{0,3}[:=]\s{0,3}["']?[^\s"',;]{6,}`)

// redact replaces secret-shaped values in s.
func redact(s string) string {
	return secretRE.ReplaceAllStringFunc(s, func(m string) string {
		keep := 4
		if len(m) <= 8 {
			keep = 0
		}
		return m[:keep] + "[REDACTED]"
	})
}
