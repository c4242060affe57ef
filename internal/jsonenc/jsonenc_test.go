package jsonenc

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// encodingJSON quotes s with encoding/json, HTML escaping on or off.
func encodingJSON(t testing.TB, s string, html bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// compactFromJSON is encoding/json's unescaped-HTML form with \b and \f
// spelled as \u00XX, which is what Compact writes.
func compactFromJSON(t testing.TB, s string) string {
	return strings.NewReplacer(`\b`, `\u0008`, `\f`, `\u000c`).Replace(encodingJSON(t, s, false))
}

func check(t testing.TB, s string) {
	if got, want := string(AppendString(nil, s, Marshal)), encodingJSON(t, s, true); got != want {
		t.Errorf("Marshal %q: got %s, encoding/json %s", s, got, want)
	}
	// \\b inside the text itself would be rewritten by the replacer too.
	if !strings.Contains(s, `\`) {
		if got, want := string(AppendString(nil, s, Compact)), compactFromJSON(t, s); got != want {
			t.Errorf("Compact %q: got %s, want %s", s, got, want)
		}
	}
}

func TestAgreesWithEncodingJSON(t *testing.T) {
	for c := range 256 {
		check(t, "a"+string(rune(c))+"b")
		check(t, "a"+string([]byte{byte(c)})+"b")
	}
	for _, s := range []string{"", "plain", "<script>&</script>", "line\u2028sep\u2029", "\xff\xfe", "é€😀", "tab\tquote\"back\\"} {
		check(t, s)
	}
}

func FuzzAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "a<b>&c", "\x00\x1f\x7f", "\u2028", "\xc3", "😀\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { check(t, s) })
}
