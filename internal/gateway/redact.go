package gateway

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/jsonenc"
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
		return redactString(x)
	}
	return v
}

// redactString is the audit form of one string value.
func redactString(x string) string {
	if maySecretValue(x) && secretValue.MatchString(x) {
		return "[REDACTED]"
	}
	if len(x) > maxAuditString {
		return fmt.Sprintf("%s…(%d bytes)", strings.ToValidUTF8(x[:maxAuditString], ""), len(x))
	}
	return x
}

// secretValueLiterals holds a literal every match of secretValue contains
// (one per alternative): a string with none of them cannot match, and most
// arguments are ruled out without running the expression.
var secretValueLiterals = []string{"sk-", "gh", "xox", "AKIA", "eyJ", "-----BEGIN "}

func maySecretValue(x string) bool {
	for _, l := range secretValueLiterals {
		if strings.Contains(x, l) {
			return true
		}
	}
	return false
}

// redactJSON returns json.Marshal(r.redact(args)), encoded directly for
// the JSON values encoding/json decodes (maps, slices, strings, float64,
// bools, nil) and through redact and json.Marshal otherwise.
func (r *redactor) redactJSON(args map[string]any) json.RawMessage {
	if len(args) == 0 {
		return nil
	}
	if b, ok := r.appendRedacted(make([]byte, 0, 128), args, 0); ok {
		return b
	}
	b, err := json.Marshal(r.redact(args))
	if err != nil {
		return nil
	}
	return b
}

func (r *redactor) appendRedacted(dst []byte, v any, depth int) ([]byte, bool) {
	if depth > 64 {
		return dst, false
	}
	switch x := v.(type) {
	case map[string]any:
		var ka [8]string
		keys := ka[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys) // encoding/json sorts map keys bytewise
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonenc.AppendString(dst, k, jsonenc.Marshal)
			dst = append(dst, ':')
			if r.secretKey(k) {
				dst = append(dst, `"[REDACTED]"`...)
				continue
			}
			var ok bool
			if dst, ok = r.appendRedacted(dst, x[k], depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = r.appendRedacted(dst, e, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case string:
		return jsonenc.AppendString(dst, redactString(x), jsonenc.Marshal), true
	case float64:
		return appendFloat(dst, x)
	case bool:
		return strconv.AppendBool(dst, x), true
	case nil:
		return append(dst, "null"...), true
	}
	return dst, false
}

// appendFloat appends f as encoding/json writes a float64 (ES6 number
// form); infinities and NaN, which JSON cannot hold, are refused.
func appendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}
