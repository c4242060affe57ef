package gateway

import (
	"encoding/json"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
)

// fullSchema resolves a schema as schemaCache.get does.
func fullSchema(raw []byte) *jsonschema.Resolved {
	var s jsonschema.Schema
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	rs, err := s.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: false})
	if err != nil {
		return nil
	}
	return rs
}

// checkFastAgrees fails when the fast form shows an instance valid that
// the full validator rejects (the one direction that matters: a fast
// "not shown valid" only sends the instance to the full validator).
func checkFastAgrees(t *testing.T, schema, instance []byte) (compiled, fastValid bool) {
	t.Helper()
	rs := fullSchema(schema)
	if rs == nil {
		return false, false
	}
	fs := compileFast(schema)
	if fs == nil {
		return false, false
	}
	var inst any
	if json.Unmarshal(instance, &inst) != nil {
		return true, false
	}
	if !fs.valid(inst) {
		return true, false
	}
	if err := rs.Validate(inst); err != nil {
		t.Fatalf("fast validator accepted what the full one rejects:\nschema   %s\ninstance %s\nfull     %v", schema, instance, err)
	}
	return true, true
}

var fastSchemaCases = []struct {
	schema    string
	compiles  bool
	instances map[string]bool // instance -> fast shows it valid
}{
	{`{"type":"object","properties":{"message":{"type":"string","description":"text to echo"},"count":{"type":"integer","description":"repeat count"}},"required":["message"],"additionalProperties":false}`, true,
		map[string]bool{
			`{"message":"hello"}`:             true,
			`{"message":"hello","count":3}`:   true,
			`{"message":"hello","count":3.0}`: true,
			`{"message":"hello","count":3.5}`: false,
			`{"count":3}`:                     false,
			`{"message":"hi","other":1}`:      false,
			`{"message":null}`:                false,
			`{"message":5}`:                   false,
			`[]`:                              false,
			`"x"`:                             false,
		}},
	{`{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"path":{"type":"string","minLength":1,"maxLength":5},"mode":{"enum":["r","w",null,1]},"n":{"type":["number","null"],"minimum":0,"exclusiveMaximum":10},"tags":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":2},"opts":{"type":"object","additionalProperties":{"type":"boolean"}}}}`, true,
		map[string]bool{
			`{}`:                            true,
			`{"path":"ab"}`:                 true,
			`{"path":""}`:                   false,
			`{"path":"ééééé"}`:              true,
			`{"path":"éééééé"}`:             false,
			`{"mode":"r"}`:                  true,
			`{"mode":null}`:                 true,
			`{"mode":1.0}`:                  true,
			`{"mode":"x"}`:                  false,
			`{"mode":true}`:                 false,
			`{"n":0}`:                       true,
			`{"n":null}`:                    true,
			`{"n":10}`:                      false,
			`{"n":-0.5}`:                    false,
			`{"tags":["a"]}`:                true,
			`{"tags":[]}`:                   false,
			`{"tags":["a",1]}`:              false,
			`{"tags":["a","b","c"]}`:        false,
			`{"opts":{"x":true,"y":false}}`: true,
			`{"opts":{"x":1}}`:              false,
			`{"extra":{"deep":[1,2]}}`:      true,
		}},
	{`{"type":"object","properties":{"a":true,"b":false,"c":{}}}`, true,
		map[string]bool{`{"a":[1]}`: true, `{"b":1}`: false, `{"c":{"x":null}}`: true}},
	// Anything beyond the subset is left to the full validator.
	{`{"type":"object","properties":{"p":{"type":"string","pattern":"^a"}}}`, false, nil},
	{`{"type":"object","$defs":{"x":{"type":"string"}},"properties":{"p":{"$ref":"#/$defs/x"}}}`, false, nil},
	{`{"type":"object","anyOf":[{"required":["a"]},{"required":["b"]}]}`, false, nil},
	{`{"type":"object","x-mcp-header":"X"}`, false, nil},
	{`{"$schema":"http://json-schema.org/draft-04/schema#","type":"object"}`, false, nil},
	{`{"type":"object","properties":{"p":{"type":"string","minLength":1.5}}}`, false, nil},
	{`{"type":"object","properties":{"p":{"type":"strin"}}}`, false, nil},
	{`{"type":"array","items":[{"type":"string"}]}`, false, nil},
}

func TestFastSchemaAgrees(t *testing.T) {
	for _, c := range fastSchemaCases {
		if got := compileFast([]byte(c.schema)) != nil && fullSchema([]byte(c.schema)) != nil; got != c.compiles {
			t.Errorf("schema %s: compiled %v, want %v", c.schema, got, c.compiles)
		}
		for inst, want := range c.instances {
			_, fast := checkFastAgrees(t, []byte(c.schema), []byte(inst))
			if fast != want {
				t.Errorf("schema %s, instance %s: fast valid %v, want %v", c.schema, inst, fast, want)
			}
		}
	}
}

// TestFastSchemaSameDenials checks that a call refused by validation reads
// exactly as the full validator words it, with the fast form in place.
func TestFastSchemaSameDenials(t *testing.T) {
	raw := []byte(fastSchemaCases[0].schema)
	var c schemaCache
	cc := c.get("fix.echo", json.RawMessage(raw))
	if cc.fast == nil || cc.rs == nil {
		t.Fatal("the echo schema did not compile to the fast form")
	}
	for inst := range fastSchemaCases[0].instances {
		var v any
		if err := json.Unmarshal([]byte(inst), &v); err != nil {
			t.Fatal(err)
		}
		got, want := cc.validate(v), cc.rs.Validate(v)
		if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
			t.Errorf("instance %s: got %v, full validator %v", inst, got, want)
		}
	}
}

// FuzzFastSchema holds the fast validator to the full one on arbitrary
// schemas and instances.
func FuzzFastSchema(f *testing.F) {
	for _, c := range fastSchemaCases {
		for inst := range c.instances {
			f.Add(c.schema, inst)
		}
		f.Add(c.schema, `{}`)
	}
	f.Add(`{"type":"integer","minimum":1e300}`, `1e301`)
	f.Add(`{"enum":[0.1,"a",false]}`, `0.1`)
	f.Add(`{"type":"object","required":["a","a"],"properties":{"a":{"type":"array","items":{"enum":[1]}}}}`, `{"a":[1,1.0]}`)
	f.Fuzz(func(t *testing.T, schema, instance string) {
		checkFastAgrees(t, []byte(schema), []byte(instance))
	})
}
