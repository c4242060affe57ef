package mcpsec

import (
	"encoding/json"
	"sort"
	"strconv"
)

// leaf is one model-visible string and where it lives.
type leaf struct {
	loc Location
	raw string
	// field is the last path element's role: name, title, description,
	// param (a property name), enum, default, value, and so on.
	field string
}

// maxSchemaDepth bounds the schema walk; deeper nesting is reported as
// truncated rather than walked (schemas are untrusted input).
const maxSchemaDepth = 64

// toolLeaves lists every string of a tool a model may read.
func toolLeaves(server string, t *Tool) []leaf {
	loc := func(path string) Location {
		return Location{Server: server, Kind: KindTool, Object: t.Name, Path: path}
	}
	out := make([]leaf, 0, 8)
	add := func(path, field, s string) {
		if s != "" {
			out = append(out, leaf{loc: loc(path), raw: s, field: field})
		}
	}
	add("name", "name", t.Name)
	add("title", "title", t.Title)
	add("description", "description", t.Description)
	if t.Annotations != nil {
		add("annotations.title", "title", t.Annotations.Title)
	}
	out = schemaLeaves(out, "inputSchema", t.InputSchema, loc)
	out = schemaLeaves(out, "outputSchema", t.OutputSchema, loc)
	return out
}

func schemaLeaves(out []leaf, root string, raw json.RawMessage, loc func(string) Location) []leaf {
	if len(raw) == 0 {
		return out
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		// An undecodable schema is still text the model may read.
		return append(out, leaf{loc: loc(root), raw: string(raw), field: "schema"})
	}
	w := schemaWalker{out: out, loc: loc}
	w.walk(root, "", v, 0)
	return w.out
}

type schemaWalker struct {
	out []leaf
	loc func(string) Location
}

// skipKeys hold keyword values that are not prose (and are validated by
// JSON Schema itself).
var skipKeys = map[string]bool{"type": true, "$schema": true, "$ref": true, "$id": true, "format": true, "$anchor": true, "$dynamicRef": true}

func (w *schemaWalker) walk(path, key string, v any, depth int) {
	if depth > maxSchemaDepth {
		return
	}
	switch x := v.(type) {
	case string:
		if !skipKeys[key] {
			w.out = append(w.out, leaf{loc: w.loc(path), raw: x, field: key})
		}
	case []any:
		for i, e := range x {
			w.walk(path+"["+strconv.Itoa(i)+"]", key, e, depth+1)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := path + "." + k
			if key == "properties" || key == "patternProperties" || key == "$defs" || key == "definitions" {
				// Property names are model-visible too.
				w.out = append(w.out, leaf{loc: w.loc(p), raw: k, field: "param"})
			}
			w.walk(p, k, x[k], depth+1)
		}
	}
}

func promptLeaves(server string, p *Prompt) []leaf {
	loc := func(path string) Location {
		return Location{Server: server, Kind: KindPrompt, Object: p.Name, Path: path}
	}
	var out []leaf
	add := func(path, field, s string) {
		if s != "" {
			out = append(out, leaf{loc: loc(path), raw: s, field: field})
		}
	}
	add("name", "name", p.Name)
	add("title", "title", p.Title)
	add("description", "description", p.Description)
	for i, a := range p.Arguments {
		base := "arguments[" + strconv.Itoa(i) + "]"
		add(base+".name", "param", a.Name)
		add(base+".title", "title", a.Title)
		add(base+".description", "description", a.Description)
	}
	return out
}

func resourceLeaves(server string, r *Resource, template bool) []leaf {
	name := r.Name
	if name == "" {
		name = r.URI + r.URITemplate
	}
	loc := func(path string) Location {
		return Location{Server: server, Kind: KindResource, Object: name, Path: path}
	}
	var out []leaf
	add := func(path, field, s string) {
		if s != "" {
			out = append(out, leaf{loc: loc(path), raw: s, field: field})
		}
	}
	add("name", "name", r.Name)
	add("title", "title", r.Title)
	add("description", "description", r.Description)
	if template {
		add("uriTemplate", "uri", r.URITemplate)
	} else {
		add("uri", "uri", r.URI)
	}
	return out
}
