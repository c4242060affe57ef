package sigma

import "testing"

// BenchmarkRuleCountRouted is BenchmarkRuleCount over the mixed events that
// the 100-rule sample has rules for. Events whose logsource no sampled rule
// covers route to an empty lane and cost only routing: about a third of the
// mixed events do at 100 rules and almost none at 3,000, so part of
// BenchmarkRuleCount's growth could be rules covering more logsources
// rather than the index's cost per covered event. This separates the two
// (on 2026-11-22 both grew alike, about 3.8-4x from 100 to 3,000 rules).
func BenchmarkRuleCountRouted(b *testing.B) {
	rs := loadCorpus(b, nil)
	events := genEvents(benchEvents, 2, (*eventGen).mixed)
	small := NewEngine(sampleRules(rs, 100))
	var routed []map[string]any
	for _, ev := range events {
		sc := small.pool.Get().(*scratch)
		sc.reset(MapEvent(ev))
		if len(small.route(sc).rules) > 0 {
			routed = append(routed, ev)
		}
		sc.ev = nil
		small.pool.Put(sc)
	}
	b.Logf("%d of %d mixed events routed to a lane with rules at 100 rules", len(routed), len(events))
	for _, n := range []int{100, 1000, 3000} {
		e := small
		if n != 100 {
			e = NewEngine(sampleRules(rs, n))
		}
		b.Run(itoa(n)+"_rules", func(b *testing.B) {
			benchEngine(b, e, routed)
		})
	}
}
