package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

var validSeeds = []string{
	``, ` `, `1`, `-0`, `-01`, `01`, `1.`, `1.5e`, `1.5e+3`, `1E-0`, `.5`, `-`, `+1`, `1e5x`,
	`"a"`, `"\u00e9\ud800"`, `"\u12"`, `"\x"`, "\"\x01\"", "\"\xff\xfe\"", `"\/\b\f\n\r\t\"\\"`, `"abc`,
	`true`, `tru`, `false `, ` null`, `nul`, `truex`,
	`{}`, `{ }`, `{"a":1}`, `{"a" : [1, 2 ,{"b":null}] }`, `{"a":1,}`, `{,}`, `{"a"}`, `{"a":}`, `{1:2}`,
	`[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `[1,[2,[3]]]`, `[}`, `{]`, `[[]`, `[]]`, `{"a":1}{}`, `1 2`,
	"\t[\n1\r]\n", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}`,
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, s := range validSeeds {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%q) = %v, json.Valid %v", s, got, want)
		}
	}
	// encoding/json's nesting limit: 10000 levels pass, 10001 do not.
	for _, n := range []int{maxNesting - 1, maxNesting, maxNesting + 1} {
		for _, open := range []string{"[", `{"a":`} {
			close := "]"
			if open != "[" {
				close = "}"
			}
			s := []byte(strings.Repeat(open, n) + "1" + strings.Repeat(close, n))
			if got, want := Valid(s), json.Valid(s); got != want {
				t.Errorf("depth %d of %s: Valid %v, json.Valid %v", n, open, got, want)
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range validSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	msg := []byte(validSeeds[len(validSeeds)-1])
	b.Run("jsonscan", func(b *testing.B) {
		for b.Loop() {
			Valid(msg)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			json.Valid(msg)
		}
	})
}
