package jsonscan

import (
	"encoding/json"
	"reflect"
	"testing"
)

var decodeSeeds = []string{
	`{"message":"hello","count":3}`,
	`{}`, ` { "a" : [ 1 , -2.5e3 , true , false , null , "x" , { } , [ ] ] } `,
	`{"a":1,"a":2}`, `{"x":{"a":1,"b":{"a":2,"a":3}}}`, `{"x":[{"k":1},{"k":2}]}`,
	`{"a":"\n"}`, `{"a\u0062":1}`, `{"é":"ü"}`, "{\"a\":\"\xff\"}", `{"n":1e400}`, `{"n":-0}`, `{"n":5e-324}`,
	`{"a":1}x`, `{"a":1,}`, `{"a"}`, `[]`, `"s"`, `null`, `{"a":01}`, `{"a":tru}`, "{\"a\":\"\x01\"}",
}

func checkDecode(t *testing.T, b []byte) {
	t.Helper()
	m, dup, ok := DecodeObject(b)
	if !ok {
		return
	}
	var want map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("DecodeObject(%q) decoded what encoding/json refuses: %v", b, err)
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("DecodeObject(%q) = %#v, encoding/json %#v", b, m, want)
	}
	if d := DuplicateKey(b); dup != d {
		t.Fatalf("DecodeObject(%q) dup %v, DuplicateKey %v", b, dup, d)
	}
}

func TestDecodeObject(t *testing.T) {
	decoded := 0
	for _, s := range decodeSeeds {
		checkDecode(t, []byte(s))
		if _, _, ok := DecodeObject([]byte(s)); ok {
			decoded++
		}
	}
	if decoded < 9 {
		t.Errorf("only %d seeds decoded on the fast path", decoded)
	}
	if _, dup, ok := DecodeObject([]byte(`{"x":{"a":1,"a":2}}`)); !ok || !dup {
		t.Errorf("nested duplicate: ok %v dup %v", ok, dup)
	}
	for _, s := range []string{`{"a":"\n"}`, "{\"a\":\"\xff\"}", `{"n":1e400}`, `{"a":1}x`, `[]`} {
		if _, _, ok := DecodeObject([]byte(s)); ok {
			t.Errorf("DecodeObject(%q) took the fast path", s)
		}
	}
}

func FuzzDecodeObject(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
	})
}
