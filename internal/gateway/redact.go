package gateway

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// secretKeyWords are argument-name fragments whose values never reach the
// audit log.
var secretKeyWords = []string{"password", "passwd", "secret", "token", "apikey", "api_key", "authorization",
	"credential", "private_key", "privatekey", "access_key", "cookie", "session_key", "passphrase"}

// secretValue matches values that look like credentials whatever their
// argument is called: provider key prefixes, JWTs, PEM blocks, AWS key ids.
var secretValue = regexp.MustCompile(`(?:^|[^A-Za-z0-9])(?:sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|-----BEGIN [A-Z ]*PRIVATE KEY-----)`)

const maxAuditString = 256

// redactor rewrites arguments for the audit log: secret-named fields and
// secret-looking strings are replaced, long strings are cut.
type redactor struct{ extra map[string]bool }

func newRedactor(keys []string) *redactor {
	r := &redactor{extra: map[string]bool{}}
	for _, k := range keys {
		r.extra[strings.ToLower(k)] = true
	}
	return r
}

func (r *redactor) secretKey(k string) bool {
	lk := strings.ToLower(k)
	if r.extra[lk] {
		return true
	}
	for _, w := range secretKeyWords {
		if strings.Contains(lk, w) {
			return true
		}
	}
	return false
}

// redact returns the audit form of decoded arguments.
func (r *redactor) redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if r.secretKey(k) {
				out[k] = "[REDACTED]"
				continue
			}
			out[k] = r.redact(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.redact(e)
		}
		return out
	case string:
		if secretValue.MatchString(x) {
			return "[REDACTED]"
		}
		if len(x) > maxAuditString {
			return fmt.Sprintf("%s…(%d bytes)", strings.ToValidUTF8(x[:maxAuditString], ""), len(x))
		}
		return x
	}
	return v
}

func (r *redactor) redactJSON(args map[string]any) json.RawMessage {
	if len(args) == 0 {
		return nil
	}
	b, err := json.Marshal(r.redact(args))
	if err != nil {
		return nil
	}
	return b
}
