package sigma

import "strings"

// Event is what the engine reads: a value by field name. Values are JSON-like:
// string, int64 (or another integer type), float64, bool, []any, []string or
// nil. The second result is false when the field is absent. Get must be safe
// to call from the goroutine that calls Engine.Match; the engine never calls
// it concurrently for one event.
type Event interface {
	Get(field string) (any, bool)
}

// MapEvent is an Event over decoded JSON. A field name is first looked up as a
// flat key ("event.dataset" as one key), then as a dotted path through nested
// maps ("event" → "dataset").
type MapEvent map[string]any

var _ Event = MapEvent(nil)

// Get implements Event.
func (m MapEvent) Get(field string) (any, bool) {
	if v, ok := m[field]; ok {
		return v, true
	}
	if strings.IndexByte(field, '.') < 0 {
		return nil, false
	}
	var cur any = map[string]any(m)
	rest := field
	top := true
	for rest != "" {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		// Prefer the longest flat key at this level ("a.b" inside "x").
		// At the top level the whole name was tried already.
		i := len(rest)
		if top {
			i = strings.LastIndexByte(rest, '.')
			top = false
		}
		found := false
		for ; i > 0; i = strings.LastIndexByte(rest[:i], '.') {
			if v, ok := obj[rest[:i]]; ok {
				cur = v
				if i == len(rest) {
					rest = ""
				} else {
					rest = rest[i+1:]
				}
				found = true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return cur, true
}
