package sigma

import (
	"math/rand/v2"
	"os"
	"testing"
)

// TestInstructionCounts exists to be run under callgrind, whose instruction
// and cache-miss counts do not depend on the machine's load:
//
//	go test -c -o /tmp/sigma.test ./internal/detect/sigma
//	MCPSOC_INSTR=1 valgrind --tool=callgrind --cache-sim=yes \
//	  --toggle-collect='*instrMatch*' /tmp/sigma.test -test.run TestInstructionCounts
//	callgrind_annotate --inclusive=yes callgrind.out.* | grep instrMatch
//
// Each instrMatch* function matches the same 2,000 mixed events against
// 100 or 3,000 corpus rules, with the index refinements off (Plain) or on.
func TestInstructionCounts(t *testing.T) {
	if os.Getenv("MCPSOC_INSTR") == "" {
		t.Skip("set MCPSOC_INSTR=1 and run under callgrind")
	}
	defer func() { secondWitness, splitAnchored, gramIndexThreshold = true, true, 256<<10 }()
	events := genEvents(2000, 2, (*eventGen).mixed)
	evs := make([]MapEvent, len(events))
	for i, ev := range events {
		evs[i] = MapEvent(ev)
	}
	build := func(n int, refined bool) *Engine {
		secondWitness, splitAnchored, gramIndexThreshold = refined, refined, 256<<10
		if !refined {
			gramIndexThreshold = 1 << 62
		}
		rs := loadCorpus(t, nil)
		r := rand.New(rand.NewPCG(42, uint64(n)))
		keep := map[*Rule]bool{}
		for _, i := range r.Perm(len(rs.Rules))[:n] {
			keep[rs.Rules[i]] = true
		}
		e := NewEngine(rs.Select(func(r *Rule) bool { return keep[r] }))
		instrWarm(e, evs)
		return e
	}
	instrMatch100Plain(build(100, false), evs)
	instrMatch100Refined(build(100, true), evs)
	instrMatch3000Plain(build(3000, false), evs)
	instrMatch3000Refined(build(3000, true), evs)
}

func instrWarm(e *Engine, evs []MapEvent) int { return instrRun(e, evs) }

func instrRun(e *Engine, evs []MapEvent) int {
	var buf []Match
	n := 0
	for _, ev := range evs {
		buf = e.Match(ev, buf[:0])
		n += len(buf)
	}
	return n
}

//go:noinline
func instrMatch100Plain(e *Engine, evs []MapEvent) int { return instrRun(e, evs) }

//go:noinline
func instrMatch100Refined(e *Engine, evs []MapEvent) int { return instrRun(e, evs) }

//go:noinline
func instrMatch3000Plain(e *Engine, evs []MapEvent) int { return instrRun(e, evs) }

//go:noinline
func instrMatch3000Refined(e *Engine, evs []MapEvent) int { return instrRun(e, evs) }
