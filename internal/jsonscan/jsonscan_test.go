package jsonscan

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// tokenDuplicate is the reference: a repeated key found with
// encoding/json's tokenizer.
func tokenDuplicate(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		obj    bool
		keys   map[string]bool
		expect bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expect {
			if k, ok := tok.(string); ok {
				if stack[n-1].keys[k] {
					return true
				}
				stack[n-1].keys[k] = true
				stack[n-1].expect = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, expect: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			return false
		}
		if t := stack[len(stack)-1]; t.obj {
			t.expect = true
		}
	}
}

var seeds = []string{
	`{}`, `[]`, `1`, `"x"`, `null`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":2}}`,
	`{"a":[{"x":1},{"x":1}]}`, `{"a":[{"x":1,"y":{"x":2,"x":3}}]}`, `{"\u0061":1,"a":2}`,
	`{"a\"b":1,"a\"b":2}`, `{"a\\":1,"a\\\\":2}`, ` { "a" : [ 1 , { "b" : "}" } ] , "c" : "]\"{" } `,
	`{"é":1,"\u00e9":2}`, `{"\ud800":1,"\ufffd":2}`, "{\"\xff\":1,\"\xfe\":2}",
	`{"k1":1,"k2":1,"k3":1,"k4":1,"k5":1,"k6":1,"k7":1,"k8":1,"k9":1,"k10":1,"k11":1,"k12":1,"k13":1,"k14":1,"k15":1,"k16":1,"k17":1,"k18":1,"k5":0}`,
	`{"k1":1,"k2":1,"k3":1,"k4":1,"k5":1,"k6":1,"k7":1,"k8":1,"k9":1,"k10":1,"k11":1,"k12":1,"k13":1,"k14":1,"k15":1,"k16":1,"k17":1,"k18":1}`,
	`[[[{"a":[true,false,null,-1.5e3]}]],{"a":1}]`, `{"a":"\\","b":"\\\"","a":3}`,
}

func FuzzDuplicateKey(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		if got, want := DuplicateKey(b), tokenDuplicate(b); got != want {
			t.Fatalf("DuplicateKey(%s) = %v, encoding/json says %v", b, got, want)
		}
	})
}

func FuzzMembers(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var want map[string]json.RawMessage
		isObj := json.Unmarshal(b, &want) == nil && want != nil
		got := map[string]json.RawMessage{}
		ok := Members(b, func(k, v []byte) bool {
			ks, _ := String(append(append([]byte{'"'}, k...), '"'))
			got[ks] = append(json.RawMessage(nil), v...)
			return true
		})
		if ok != isObj {
			t.Fatalf("Members(%s) object = %v, encoding/json says %v", b, ok, isObj)
		}
		if !ok {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Members(%s) = %q, encoding/json says %q", b, got, want)
		}
	})
}

func TestString(t *testing.T) {
	for _, s := range []string{`"plain"`, `"esc\"aped"`, `"\u00e9t\u00e9"`, "\"bad\xffutf8\"", `"\ud83d\ude00"`, `""`} {
		var want string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatal(err)
		}
		if got, ok := String([]byte(s)); !ok || got != want {
			t.Errorf("String(%s) = %q %v, want %q", s, got, ok, want)
		}
	}
	if _, ok := String([]byte(`12`)); ok {
		t.Error("a number decoded as a string")
	}
}

func FuzzPick(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"id":1,"result":{"a":1},"error":null}`))
	f.Add([]byte(`{"ID":1,"result":{}}`))
	f.Add([]byte(`{"id":1,"id":2}`))
	f.Add([]byte(`{"r\u0065sult":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var ref struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
		}
		refErr := json.Unmarshal(b, &ref)
		vals := make([][]byte, 2)
		ok, plain := Pick(b, []string{"id", "result"}, vals)
		if !ok || !plain {
			return // the caller decodes with encoding/json
		}
		if refErr != nil {
			t.Fatalf("Pick read %s, encoding/json fails: %v", b, refErr)
		}
		if !bytes.Equal(vals[0], ref.ID) || !bytes.Equal(vals[1], ref.Result) {
			t.Fatalf("Pick(%s) = %q, encoding/json says %q %q", b, vals, ref.ID, ref.Result)
		}
	})
}
