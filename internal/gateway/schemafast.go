package gateway

import (
	"encoding/json"
	"math"
	"unicode/utf8"
)

// fastSchema is a compiled form of the simple input schemas most tools
// declare (objects of typed properties with required, enum, length and
// range limits). It only ever says "valid" when the full validator would:
// valid returning false means "not shown valid", and the caller then runs
// the full validator, which gives the verdict and the error text. So a
// rejection always reads exactly as before, and anything the fast form does
// not understand is left to the full validator (a schema with any other
// keyword is not compiled at all). TestFastSchemaAgrees and
// FuzzFastSchema hold it to the full validator.
type fastSchema struct {
	any   bool     // true schema or {}: every instance
	none  bool     // false schema: no instance (never fast-valid)
	types []string // allowed JSON types; empty = any
	enum  []any    // string, bool, float64 or nil values; nil slice = no enum
	// strings
	minLen, maxLen int // -1 when absent
	// numbers
	min, max, exMin, exMax *float64
	// arrays
	items              *fastSchema
	minItems, maxItems int // -1 when absent
	// objects
	props    map[string]*fastSchema
	required []string
	addl     *fastSchema // nil: additional properties allowed
}

// fastKeywords are the keywords compileFast understands; annotations
// (description, title, default, examples, format, …) have no effect on
// validation in jsonschema-go with default validation off.
var fastKeywords = map[string]bool{
	"type": true, "properties": true, "required": true, "additionalProperties": true,
	"items": true, "minItems": true, "maxItems": true, "enum": true,
	"minLength": true, "maxLength": true, "minimum": true, "maximum": true,
	"exclusiveMinimum": true, "exclusiveMaximum": true,
	"description": true, "title": true, "default": true, "examples": true, "format": true,
	"$comment": true, "deprecated": true, "readOnly": true, "writeOnly": true,
}

// compileFast compiles a schema (its JSON) into a fastSchema, or returns
// nil when the schema uses anything beyond the simple subset.
func compileFast(raw []byte) *fastSchema {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if s, ok := m["$schema"]; ok {
		switch s {
		case "https://json-schema.org/draft/2020-12/schema", "http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft-07/schema#":
		default:
			return nil
		}
		delete(m, "$schema")
	}
	return compileFastNode(m, 0)
}

func compileFastNode(v any, depth int) *fastSchema {
	if depth > 16 {
		return nil
	}
	switch x := v.(type) {
	case bool:
		if x {
			return &fastSchema{any: true}
		}
		return &fastSchema{none: true}
	case map[string]any:
		s := &fastSchema{minLen: -1, maxLen: -1, minItems: -1, maxItems: -1}
		if len(x) == 0 {
			s.any = true
			return s
		}
		for k, e := range x {
			if !fastKeywords[k] {
				return nil
			}
			var ok bool
			switch k {
			case "type":
				ok = s.setTypes(e)
			case "properties":
				var pm map[string]any
				if pm, ok = e.(map[string]any); ok {
					s.props = make(map[string]*fastSchema, len(pm))
					for name, ps := range pm {
						c := compileFastNode(ps, depth+1)
						if c == nil {
							return nil
						}
						s.props[name] = c
					}
				}
			case "required":
				var l []any
				if l, ok = e.([]any); ok {
					s.required = make([]string, 0, len(l))
					for _, r := range l {
						name, isStr := r.(string)
						if !isStr {
							return nil
						}
						s.required = append(s.required, name)
					}
				}
			case "additionalProperties":
				s.addl = compileFastNode(e, depth+1)
				ok = s.addl != nil
				if ok && s.addl.any {
					s.addl = nil
				}
			case "items":
				// A schema, not draft-07's tuple form.
				if _, isList := e.([]any); !isList {
					s.items = compileFastNode(e, depth+1)
					ok = s.items != nil
				}
			case "minItems":
				s.minItems, ok = fastCount(e)
			case "maxItems":
				s.maxItems, ok = fastCount(e)
			case "minLength":
				s.minLen, ok = fastCount(e)
			case "maxLength":
				s.maxLen, ok = fastCount(e)
			case "minimum":
				s.min, ok = fastNumber(e)
			case "maximum":
				s.max, ok = fastNumber(e)
			case "exclusiveMinimum":
				s.exMin, ok = fastNumber(e)
			case "exclusiveMaximum":
				s.exMax, ok = fastNumber(e)
			case "enum":
				var l []any
				if l, ok = e.([]any); ok {
					s.enum = make([]any, 0, len(l))
					for _, ev := range l {
						switch ev.(type) {
						case string, bool, float64, nil:
							s.enum = append(s.enum, ev)
						default:
							return nil
						}
					}
				}
			default: // annotations
				ok = true
			}
			if !ok {
				return nil
			}
		}
		return s
	}
	return nil
}

func (s *fastSchema) setTypes(e any) bool {
	add := func(t any) bool {
		name, ok := t.(string)
		if !ok {
			return false
		}
		switch name {
		case "null", "boolean", "object", "array", "number", "integer", "string":
			s.types = append(s.types, name)
			return true
		}
		return false
	}
	if l, ok := e.([]any); ok {
		if len(l) == 0 {
			return false
		}
		for _, t := range l {
			if !add(t) {
				return false
			}
		}
		return true
	}
	return add(e)
}

func fastCount(e any) (int, bool) {
	f, ok := e.(float64)
	if !ok || f < 0 || f > 1<<30 || f != math.Trunc(f) {
		return 0, false
	}
	return int(f), true
}

func fastNumber(e any) (*float64, bool) {
	f, ok := e.(float64)
	if !ok {
		return nil, false
	}
	return &f, true
}

// valid reports whether v (decoded by encoding/json into any) is shown
// valid; false means the full validator must decide.
func (s *fastSchema) valid(v any) bool {
	if s.any {
		return true
	}
	if s.none {
		return false
	}
	if len(s.types) > 0 && !s.typeOK(v) {
		return false
	}
	if s.enum != nil && !s.inEnum(v) {
		return false
	}
	switch x := v.(type) {
	case string:
		if s.minLen >= 0 || s.maxLen >= 0 {
			n := utf8.RuneCountInString(x)
			if (s.minLen >= 0 && n < s.minLen) || (s.maxLen >= 0 && n > s.maxLen) {
				return false
			}
		}
	case float64:
		if (s.min != nil && x < *s.min) || (s.max != nil && x > *s.max) ||
			(s.exMin != nil && x <= *s.exMin) || (s.exMax != nil && x >= *s.exMax) {
			return false
		}
	case []any:
		if (s.minItems >= 0 && len(x) < s.minItems) || (s.maxItems >= 0 && len(x) > s.maxItems) {
			return false
		}
		if s.items != nil {
			for _, e := range x {
				if !s.items.valid(e) {
					return false
				}
			}
		}
	case map[string]any:
		for _, r := range s.required {
			if _, ok := x[r]; !ok {
				return false
			}
		}
		for k, e := range x {
			if ps, ok := s.props[k]; ok {
				if !ps.valid(e) {
					return false
				}
			} else if s.addl != nil && !s.addl.valid(e) {
				return false
			}
		}
	}
	return true
}

func (s *fastSchema) typeOK(v any) bool {
	var got string
	switch x := v.(type) {
	case nil:
		got = "null"
	case bool:
		got = "boolean"
	case string:
		got = "string"
	case float64:
		got = "number"
		if _, f := math.Modf(x); f == 0 {
			got = "integer"
		}
	case []any:
		got = "array"
	case map[string]any:
		got = "object"
	default:
		return false
	}
	for _, t := range s.types {
		if t == got || (got == "integer" && t == "number") {
			return true
		}
	}
	return false
}

func (s *fastSchema) inEnum(v any) bool {
	for _, e := range s.enum {
		switch x := v.(type) {
		case nil:
			if e == nil {
				return true
			}
		case string:
			if es, ok := e.(string); ok && es == x {
				return true
			}
		case bool:
			if eb, ok := e.(bool); ok && eb == x {
				return true
			}
		case float64:
			if ef, ok := e.(float64); ok && ef == x {
				return true
			}
		}
	}
	return false
}
