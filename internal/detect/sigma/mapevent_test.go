package sigma

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// getOnly hides a MapEvent's type, so the engine reads it through Get, one
// field at a time: the reference for the engine's MapEvent fast paths (one
// flat lookup per field when the event has no nested maps; walking the
// event's keys when it has fewer than the lane indexes).
type getOnly struct{ m MapEvent }

func (g getOnly) Get(field string) (any, bool) { return g.m.Get(field) }

// nestCopy returns ev with every other dotted key moved into nested maps
// ("a.b.c" becomes a → b → c), so events mix flat dotted keys and paths.
// The first dotted key stays flat and also gets a different nested value,
// which Get must not prefer to the flat one.
func nestCopy(ev map[string]any) map[string]any {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := map[string]any{}
	n := 0
	for _, k := range keys {
		v := ev[k]
		if !strings.Contains(k, ".") {
			out[k] = v
			continue
		}
		n++
		if n == 1 {
			out[k] = v
			v = "nested-shadowed"
		} else if n%2 == 0 {
			out[k] = v
			continue
		}
		parts := strings.Split(k, ".")
		cur := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				if _, taken := cur[p]; taken {
					cur = nil
					break
				}
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		if cur == nil {
			out[k] = ev[k] // a scalar holds the path: keep the key flat
			continue
		}
		cur[parts[len(parts)-1]] = v
	}
	return out
}

// checkMapEventSame asserts that a MapEvent and the same map read through Get produce the same matches, with the
// same matched fields and values.
func checkMapEventSame(t *testing.T, e *Engine, events []map[string]any) (hits int) {
	t.Helper()
	var a, b []Match
	for i, ev := range events {
		for _, form := range []map[string]any{ev, nestCopy(ev)} {
			a = e.Match(MapEvent(form), a[:0])
			b = e.Match(getOnly{MapEvent(form)}, b[:0])
			if d := cmp.Diff(matchDetails(b), matchDetails(a)); d != "" {
				t.Fatalf("event %d %v: MapEvent and Get-only matches differ (-get +map):\n%s", i, form, d)
			}
			hits += len(a)
		}
	}
	return hits
}

func matchDetails(ms []Match) []string {
	var out []string
	for _, m := range ms {
		s := m.Rule.File + "#" + m.Rule.Title
		for _, f := range m.Fields {
			s += " " + f.Selection + ":" + f.Field + "=" + toString(f.Value)
		}
		out = append(out, s)
	}
	return out
}

func toString(v any) string { return fmt.Sprint(v) }

func TestMapEventMatchesGet(t *testing.T) {
	rs := NewRuleset(nil)
	if err := rs.LoadDir("testdata/rules"); err != nil {
		t.Fatal(err)
	}
	e := NewEngine(rs)
	if hits := checkMapEventSame(t, e, genEvents(5000, 17, (*eventGen).mixed)); hits == 0 {
		t.Error("no matches; the check proves nothing")
	}
}

func TestMapEventMatchesGetCorpus(t *testing.T) {
	e := NewEngine(loadCorpus(t, nil))
	n := 5000
	if testing.Short() {
		n = 500
	}
	hits := checkMapEventSame(t, e, genEvents(n, 19, (*eventGen).mixed))
	t.Logf("%d events (flat and nested), %d matches, identical through Get", n, hits)
}

// TestMapEventNestedPath checks by hand the cases the MapEvent fast paths
// must get right: a dotted field only reachable as a path, a flat dotted
// key shadowing the path, and a mix of flat and nested fields.
func TestMapEventNestedPath(t *testing.T) {
	rs := NewRuleset(nil)
	rule := "title: t\nlogsource: {product: p}\ndetection:\n  sel:\n    source.ip: 10.1.1.1\n    user.name|contains: adm\n  condition: sel\n"
	if n := rs.AddFile("r.yml", []byte(rule)); n != 1 {
		t.Fatalf("rule did not compile: %v", rs.Errors)
	}
	e := NewEngine(rs)
	ls := Logsource{Product: "p"}
	for _, tc := range []struct {
		name string
		ev   MapEvent
		want bool
	}{
		{"flat", MapEvent{"source.ip": "10.1.1.1", "user.name": "admin"}, true},
		{"nested", MapEvent{"source": map[string]any{"ip": "10.1.1.1"}, "user": map[string]any{"name": "Admin"}}, true},
		{"flat shadows path", MapEvent{"source.ip": "10.9.9.9", "source": map[string]any{"ip": "10.1.1.1"}, "user.name": "admin"}, false},
		{"mixed", MapEvent{"source.ip": "10.1.1.1", "user": map[string]any{"name": "badmin"}}, true},
		{"absent", MapEvent{"source.ip": "10.1.1.1"}, false},
	} {
		for _, routed := range []bool{false, true} {
			var got []Match
			if routed {
				got = e.MatchLogsource(tc.ev, ls, nil)
			} else {
				got = e.Match(tc.ev, nil)
			}
			if (len(got) == 1) != tc.want {
				t.Errorf("%s (routed %v): got %d matches, want match %v", tc.name, routed, len(got), tc.want)
			}
		}
	}
}
