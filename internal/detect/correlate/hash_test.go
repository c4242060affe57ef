package correlate

import (
	"strings"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
)

// TestHashFoldsReferences: a correlation's hash changes with the base rules
// it references and, through a chain, with the correlations it references.
func TestHashFoldsReferences(t *testing.T) {
	const doc = `title: Fail
name: fail
logsource: {product: linux}
detection:
  sel: {event.outcome: failure}
  condition: sel
---
title: Other
name: other
logsource: {product: linux}
detection:
  sel: {event.outcome: success}
  condition: sel
---
title: Many
name: many
correlation: {type: event_count, rules: [fail], group-by: [host.name], timespan: 10m, condition: {gte: 3}}
---
title: Chained
name: chained
correlation: {type: event_count, rules: [many], group-by: [host.name], timespan: 1h, condition: {gte: 2}}
---
title: Unrelated
name: unrelated
correlation: {type: event_count, rules: [other], group-by: [host.name], timespan: 10m, condition: {gte: 3}}
`
	hashes := func(doc string) map[string]string {
		t.Helper()
		rs := sigma.NewRuleset(nil)
		rs.AddFile("r.yml", []byte(doc))
		rules, errs := Parse("r.yml", []byte(doc))
		if len(errs) > 0 || len(rs.Errors) > 0 {
			t.Fatal(errs, rs.Errors)
		}
		if _, err := New(rules, rs.Rules, nil); err != nil {
			t.Fatal(err)
		}
		// New is idempotent: building a second engine over the same
		// rules gives the same hashes.
		first := map[string]string{}
		for _, r := range rules {
			first[r.Name] = r.Hash
		}
		if _, err := New(rules, rs.Rules, nil); err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			if first[r.Name] != r.Hash {
				t.Fatalf("%s: hash changed from %s to %s on a second New", r.Name, first[r.Name], r.Hash)
			}
		}
		return first
	}
	before := hashes(doc)
	after := hashes(strings.Replace(doc, "sel: {event.outcome: failure}", "sel: {event.outcome: [failure, denied]}", 1))
	for name, changed := range map[string]bool{"many": true, "chained": true, "unrelated": false} {
		if (before[name] != after[name]) != changed {
			t.Errorf("%s: hash %s -> %s, want changed=%v", name, before[name], after[name], changed)
		}
	}
}
