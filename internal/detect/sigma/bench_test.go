package sigma

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	sigmago "github.com/bradleyjkemp/sigma-go"
	sgeval "github.com/bradleyjkemp/sigma-go/evaluator"
)

// inputSets are the event mixes every benchmark runs over.
var inputSets = []struct {
	name string
	kind func(*eventGen) map[string]any
}{
	{"windows", (*eventGen).windows},
	{"network", (*eventGen).network},
	{"mixed", (*eventGen).mixed},
}

const benchEvents = 4096

// mapEvents returns the generated events as MapEvents.
func mapEvents(events []map[string]any) []MapEvent {
	evs := make([]MapEvent, len(events))
	for i, ev := range events {
		evs[i] = MapEvent(ev)
	}
	return evs
}

// benchEngine measures e over events and returns events per wall second and
// per CPU second of the benchmark's thread (0 when unavailable).
func benchEngine(b *testing.B, e *Engine, events []map[string]any) (wall, cpu float64) {
	b.Helper()
	evs := mapEvents(events)
	var buf []Match
	// Warm up lanes so their one-time construction is not measured.
	for _, ev := range evs {
		buf = e.Match(ev, buf[:0])
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	cpu0, cpuOK := threadCPUTime()
	cacheStatsStart()
	b.ResetTimer()
	matches := 0
	for i := 0; i < b.N; i++ {
		buf = e.Match(evs[i%len(evs)], buf[:0])
		matches += len(buf)
	}
	b.StopTimer()
	cacheStatsReport(b)
	wall = float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(wall, "events/s")
	if cpu1, ok := threadCPUTime(); ok && cpuOK && cpu1 > cpu0 {
		cpu = float64(b.N) / (cpu1 - cpu0).Seconds()
		b.ReportMetric(cpu, "events/cpu-s")
	}
	b.ReportMetric(float64(matches)/float64(b.N), "matches/event")
	return wall, cpu
}

// BenchmarkCorpus measures single-goroutine throughput with the whole
// SigmaHQ corpus loaded (skips when the corpus is absent).
func BenchmarkCorpus(b *testing.B) {
	rs := loadCorpus(b, nil)
	e := NewEngine(rs)
	for _, set := range inputSets {
		b.Run(set.name, func(b *testing.B) {
			benchEngine(b, e, genEvents(benchEvents, 1, set.kind))
		})
	}
}

// BenchmarkRuleCount measures how throughput changes with the number of
// rules loaded: random samples of 100, 1,000 and 3,000 corpus rules, over
// mixed events. Two companions per count separate the cost of real matches,
// which grows with the rules whatever the index does:
//   - N_rules_nomatch runs the events that match none of the N rules;
//   - N_rules_floor does only what any engine must do for the matches:
//     read the event and evaluate and report each rule that matches it
//     (no routing, no index, no other rule);
//   - N_rules_unique runs mixed events in which no value repeats (see
//     eventGen.mixedUnique): what the engine costs when no cache helps.
func BenchmarkRuleCount(b *testing.B) {
	rs := loadCorpus(b, nil)
	events := genEvents(benchEvents, 2, (*eventGen).mixed)
	unique := genEvents(benchEvents, 2, (*eventGen).mixedUnique)
	for _, n := range []int{100, 1000, 3000} {
		if n > len(rs.Rules) {
			continue
		}
		e := NewEngine(sampleRules(rs, n))
		b.Run(itoa(n)+"_rules", func(b *testing.B) {
			benchEngine(b, e, events)
		})
		var nomatch []map[string]any
		matching := make([][]*Rule, len(events))
		for i, ev := range events {
			for _, m := range e.Match(MapEvent(ev), nil) {
				matching[i] = append(matching[i], m.Rule)
			}
			if len(matching[i]) == 0 {
				nomatch = append(nomatch, ev)
			}
		}
		b.Run(itoa(n)+"_rules_nomatch", func(b *testing.B) {
			benchEngine(b, e, nomatch)
		})
		b.Run(itoa(n)+"_rules_floor", func(b *testing.B) {
			benchFloor(b, e, events, matching)
		})
		b.Run(itoa(n)+"_rules_unique", func(b *testing.B) {
			benchEngine(b, e, unique)
		})
	}
}

// sampleRules picks n of rs's rules at random, the same n for the same
// count in every benchmark and build.
func sampleRules(rs *Ruleset, n int) *Ruleset {
	r := rand.New(rand.NewPCG(42, uint64(n)))
	keep := map[*Rule]bool{}
	for _, i := range r.Perm(len(rs.Rules))[:n] {
		keep[rs.Rules[i]] = true
	}
	return rs.Select(func(r *Rule) bool { return keep[r] })
}

// alternateCPU runs two variants (0 and 1) of a batch of batch events,
// rounds times per b.N iteration, switching which goes first every round
// so a shared machine's load swings hit both alike, and returns each
// variant's events per thread-CPU-second. before and after (either may be
// nil) run outside the clock around each batch.
func alternateCPU(b *testing.B, rounds, batch int, before func(v int), run func(v, round int), after func(v int)) [2]float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var spent [2]float64
	var done [2]int
	for range b.N {
		for round := range rounds {
			for k := range 2 {
				v := (k + round) % 2
				if before != nil {
					before(v)
				}
				c0, ok0 := threadCPUTime()
				run(v, round)
				c1, ok1 := threadCPUTime()
				if !ok0 || !ok1 {
					b.Skip("no thread CPU clock")
				}
				if after != nil {
					after(v)
				}
				spent[v] += (c1 - c0).Seconds()
				done[v] += batch
			}
		}
	}
	return [2]float64{float64(done[0]) / spent[0], float64(done[1]) / spent[1]}
}

// benchFloor reads each event and evaluates only the rules that match it,
// reporting them as Match does: the part of Match's cost no index can save.
func benchFloor(b *testing.B, e *Engine, events []map[string]any, matching [][]*Rule) {
	evs := mapEvents(events)
	var dst []Match
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	cpu0, cpuOK := threadCPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(evs)
		sc := e.pool.Get().(*scratch)
		sc.reset(evs[k])
		dst = dst[:0]
		for _, r := range matching[k] {
			d := r.det
			memo := sc.memo[:len(d.sels)]
			clear(memo)
			if sc.evalNode(d, d.cond, memo) {
				dst = append(dst, Match{Rule: r, Fields: sc.details(d, memo)})
			}
		}
		sc.ev = nil
		e.pool.Put(sc)
	}
	b.StopTimer()
	if cpu1, ok := threadCPUTime(); ok && cpuOK && cpu1 > cpu0 {
		b.ReportMetric(float64(b.N)/(cpu1-cpu0).Seconds(), "events/cpu-s")
	}
}

func itoa(n int) string {
	const d = "0123456789"
	if n < 10 {
		return d[n : n+1]
	}
	return itoa(n/10) + d[n%10:n%10+1]
}

// BenchmarkVsSigmaGo runs the same rules and events through this engine and
// through github.com/bradleyjkemp/sigma-go v0.6.6. Only corpus rules that
// both engines accept are loaded. sigma-go has no logsource routing of its
// own, so it gets ours for free: each event goes only to a bundle of the
// rules of its lane. The "ratio" metric is our events/s over sigma-go's.
func BenchmarkVsSigmaGo(b *testing.B) {
	dir := corpusDir(b)
	ours := NewRuleset(nil)
	var theirs []sigmago.Rule
	theirsByFile := map[string]sigmago.Rule{}
	for _, root := range corpusRoots(dir) {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || filepath.Ext(p) != ".yml" {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			sr, err := sigmago.ParseRule(data)
			if err != nil || len(sr.Detection.Conditions) == 0 {
				return nil
			}
			for _, c := range sr.Detection.Conditions {
				if c.Aggregation != nil {
					return nil
				}
			}
			before := len(ours.Rules)
			if ours.AddFile(p, data) != 1 || len(ours.Rules) != before+1 {
				return nil
			}
			theirsByFile[p] = sr
			theirs = append(theirs, sr)
			return nil
		})
	}
	b.Logf("%d rules accepted by both engines", len(theirs))
	e := NewEngine(ours)
	for _, set := range inputSets {
		events := genEvents(512, 3, set.kind)
		// Group events by our lane and give sigma-go one bundle per lane.
		bundles := map[*lane]*sgeval.RuleEvaluatorBundle{}
		eventBundle := make([]*sgeval.RuleEvaluatorBundle, len(events))
		for i, ev := range events {
			sc := e.pool.Get().(*scratch)
			sc.reset(MapEvent(ev))
			ln := e.route(sc)
			e.pool.Put(sc)
			bd := bundles[ln]
			if bd == nil {
				var rules []sigmago.Rule
				for _, r := range ln.rules {
					rules = append(rules, theirsByFile[r.File])
				}
				x := sgeval.ForRules(rules)
				bd = &x
				bundles[ln] = bd
			}
			eventBundle[i] = bd
		}
		var oursPerSec, theirsPerSec, oursCPU, theirsCPU float64
		b.Run(set.name+"/mcpsoc", func(b *testing.B) {
			oursPerSec, oursCPU = benchEngine(b, e, events)
		})
		b.Run(set.name+"/sigma-go", func(b *testing.B) {
			ctx := context.Background()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			cpu0, cpuOK := threadCPUTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % len(events)
				if _, err := eventBundle[k].Matches(ctx, events[k]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			theirsPerSec = float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(theirsPerSec, "events/s")
			if cpu1, ok := threadCPUTime(); ok && cpuOK && cpu1 > cpu0 {
				theirsCPU = float64(b.N) / (cpu1 - cpu0).Seconds()
				b.ReportMetric(theirsCPU, "events/cpu-s")
			}
		})
		// ratio reports the two measurements above; its own loop is empty.
		b.Run(set.name+"/ratio", func(b *testing.B) {
			if theirsPerSec > 0 {
				b.ReportMetric(oursPerSec/theirsPerSec, "ratio")
			}
			if theirsCPU > 0 && oursCPU > 0 {
				b.ReportMetric(oursCPU/theirsCPU, "cpu-ratio")
			}
		})
	}
}

// BenchmarkIndexVariants compares, in one run, the witness index with and
// without its refinements: a second witness per rule ("second"), anchored
// literals scanned over value windows only ("anchored"), gram indexes for
// fields whose automaton would not stay in cache ("grams"), and all three
// ("all"), at 100 and 3,000 corpus rules over mixed events and with the
// whole corpus over Windows events.
func BenchmarkIndexVariants(b *testing.B) {
	mixed := genEvents(benchEvents, 2, (*eventGen).mixed)
	windows := genEvents(benchEvents, 1, (*eventGen).windows)
	variants := []struct {
		name                  string
		second, anchor, grams bool
	}{{"plain", false, false, false}, {"second", true, false, false}, {"anchored", false, true, false},
		{"grams", false, false, true}, {"all", true, true, true}}
	defer func() { secondWitness, splitAnchored, gramIndexThreshold = true, true, defaultGramIndexThreshold }()
	for _, n := range []int{100, 3000, 0} {
		for _, v := range variants {
			secondWitness, splitAnchored, gramIndexThreshold = v.second, v.anchor, defaultGramIndexThreshold
			if !v.grams {
				gramIndexThreshold = 1 << 62
			}
			rs := loadCorpus(b, nil)
			name, events, sub := itoa(n)+"_rules", mixed, rs
			if n == 0 {
				name, events = "corpus_windows", windows
			} else {
				sub = sampleRules(rs, n)
			}
			e := NewEngine(sub)
			b.Run(name+"/"+v.name, func(b *testing.B) {
				benchEngine(b, e, events)
			})
		}
	}
}

// BenchmarkIndexInterleaved compares the plain index with the refined one
// by alternating them batch by batch (512 events, thread CPU time), so the
// shared machine's load swings hit both alike. It reports each variant's
// events per CPU-second and refined/plain.
//
//	go test ./internal/detect/sigma -run XXX -bench IndexInterleaved -benchtime 1x
func BenchmarkIndexInterleaved(b *testing.B) {
	mixed := genEvents(benchEvents, 2, (*eventGen).mixed)
	windows := genEvents(benchEvents, 1, (*eventGen).windows)
	defer func() { secondWitness, splitAnchored, gramIndexThreshold = true, true, defaultGramIndexThreshold }()
	for _, n := range []int{100, 1000, 3000, 0} {
		build := func(refined bool) *Engine {
			secondWitness, splitAnchored, gramIndexThreshold = refined, refined, defaultGramIndexThreshold
			if !refined {
				gramIndexThreshold = 1 << 62
			}
			rs := loadCorpus(b, nil)
			if n == 0 {
				return NewEngine(rs)
			}
			return NewEngine(sampleRules(rs, n))
		}
		engines := []*Engine{build(false), build(true)}
		name, events := itoa(n)+"_rules", mixed
		if n == 0 {
			name, events = "corpus_windows", windows
		}
		evs := mapEvents(events)
		b.Run(name, func(b *testing.B) {
			var buf []Match
			for _, e := range engines {
				for _, ev := range evs {
					buf = e.Match(ev, buf[:0])
				}
			}
			const batch = 512
			rate := alternateCPU(b, 40, batch, nil, func(v, round int) {
				for i := range batch {
					buf = engines[v].Match(evs[(round*batch+i)%len(evs)], buf[:0])
				}
			}, nil)
			plain, refined := rate[0], rate[1]
			b.ReportMetric(plain, "plain-events/cpu-s")
			b.ReportMetric(refined, "refined-events/cpu-s")
			b.ReportMetric(refined/plain, "refined/plain")
		})
	}
}

// BenchmarkScanCache measures the cache of scan results by switching it off
// and on batch by batch (512 events, thread CPU time) on the same engine,
// so load swings on a shared machine hit both alike: mixed events (values
// repeat as in real logs) and mixedUnique events (no value repeats: what a
// miss costs), at 100, 1,000 and 3,000 corpus rules. It reports each
// setting's events per CPU-second, on/off, and the hit rate.
//
//	go test ./internal/detect/sigma -run XXX -bench ScanCache -benchtime 1x
func BenchmarkScanCache(b *testing.B) {
	rs := loadCorpus(b, nil)
	sets := []struct {
		name   string
		events []map[string]any
	}{{"mixed", genEvents(benchEvents, 2, (*eventGen).mixed)}, {"unique", genEvents(benchEvents, 2, (*eventGen).mixedUnique)}}
	defer func() { useScanCache = true }()
	for _, n := range []int{100, 1000, 3000} {
		e := NewEngine(sampleRules(rs, n))
		for _, set := range sets {
			evs := mapEvents(set.events)
			b.Run(itoa(n)+"_rules_"+set.name, func(b *testing.B) {
				var buf []Match
				for _, ev := range evs {
					buf = e.Match(ev, buf[:0])
				}
				var hits, lookups uint64
				const batch = 512
				rate := alternateCPU(b, 64, batch, func(v int) {
					useScanCache = v == 1
					if useScanCache {
						cacheStatsStart()
					}
				}, func(_, round int) {
					for i := range batch {
						buf = e.Match(evs[(round*batch+i)%len(evs)], buf[:0])
					}
				}, func(int) {
					if s := scanCacheStats; s != nil {
						hits, lookups = hits+s.hits, lookups+s.hits+s.misses
						scanCacheStats = nil
					}
				})
				off, on := rate[0], rate[1]
				b.ReportMetric(off, "off-events/cpu-s")
				b.ReportMetric(on, "on-events/cpu-s")
				b.ReportMetric(on/off, "on/off")
				if lookups > 0 {
					b.ReportMetric(float64(hits)/float64(lookups), "cache-hit")
				}
			})
		}
	}
}

// BenchmarkGrowthChanges measures index changes, each against the index
// without it, alternating the two engines batch by batch (512 events,
// thread CPU time) so load swings hit both alike: veto literals (useVeto,
// see veto.go), the skipping regex run check (classRunSkip; one engine,
// switched batch by batch), gram indexes for small sets of long literals
// ("strided", gramStrideMin), and round 7's: non-ASCII literals indexed
// apart ("widesplit", splitWide), keying grams outside common path text
// ("avoidcommon", gramAvoidCommon), |all list values as witness
// conjuncts ("allconj", allConjuncts; rules compiled anew for each
// setting) and the three together ("round7"), and round 8's: short
// second witnesses checked on candidacy ("lazyshort", lazyShort), blank
// witnesses not indexed ("dropblank", dropBlank), a few short literals
// found without an automaton ("shortdirect", shortDirect), third-conjunct
// and fieldref checks ("checks", useChecks), regex length and run checks
// ("rechecks", regexChecks), unindexed vetoes checked ("lazyveto",
// lazyVeto) and all six together ("round8"), and each rule's compiled
// data packed together ("pack", packRules; rules compiled anew for each
// setting). Mixed events, random corpus
// samples; on/off > 1 means the change helps. Besides the ratio of the
// totals it reports the median of the per-round ratios, which a burst of
// load on a shared machine moves less.
//
//	go test ./internal/detect/sigma -run XXX -bench GrowthChanges -benchtime 1x
func BenchmarkGrowthChanges(b *testing.B) {
	mixed := genEvents(benchEvents, 2, (*eventGen).mixed)
	evs := mapEvents(mixed)
	changes := []struct {
		name    string
		set     func(on bool)
		runtime bool // switched batch by batch, one engine
		reload  bool // takes effect when rules are compiled
	}{
		{"pack", func(on bool) { packRules = on }, false, true},
		{"round8", func(on bool) {
			lazyShort, dropBlank, shortDirect, useChecks, regexChecks, lazyVeto = on, on, on, on, on, on
		}, false, false},
		{"lazyveto", func(on bool) { lazyVeto = on }, false, false},
		{"checks", func(on bool) { useChecks = on }, false, false},
		{"rechecks", func(on bool) { regexChecks = on }, false, false},
		{"shortdirect", func(on bool) { shortDirect = on }, false, false},
		{"lazyshort", func(on bool) { lazyShort = on }, false, false},
		{"dropblank", func(on bool) { dropBlank = on }, false, false},
		{"veto", func(on bool) { useVeto = on }, false, false},
		{"widesplit", func(on bool) { splitWide = on }, false, false},
		{"allconj", func(on bool) { allConjuncts = on }, false, true},
		{"round7", func(on bool) { splitWide, gramAvoidCommon, allConjuncts = on, on, on }, false, true},
		{"avoidcommon", func(on bool) { gramAvoidCommon = on }, false, false},
		{"runskip", func(on bool) { classRunSkip = on }, true, false},
		{"strided", func(on bool) {
			gramStrideMin = 1 << 30
			if on {
				gramStrideMin = defaultGramStrideMin
			}
		}, false, false},
	}
	defer func() {
		for _, c := range changes {
			c.set(true)
		}
	}()
	rs := loadCorpus(b, nil)
	for _, n := range []int{100, 1000, 3000} {
		for _, c := range changes {
			var engines [2]*Engine
			var buf []Match
			for k := range engines {
				c.set(k == 1 || c.runtime)
				if c.runtime && k == 1 {
					engines[k] = engines[0]
					break
				}
				if c.reload {
					engines[k] = NewEngine(sampleRules(loadCorpus(b, nil), n))
				} else {
					engines[k] = NewEngine(sampleRules(rs, n))
				}
				for _, ev := range evs { // builds the lanes with this setting
					buf = engines[k].Match(ev, buf[:0])
				}
			}
			c.set(true)
			b.Run(itoa(n)+"_rules/"+c.name, func(b *testing.B) {
				const batch, rounds = 512, 40
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				var spent [2]float64
				var ratios []float64
				for range b.N {
					for round := range rounds {
						var t [2]float64
						for k := range 2 {
							v := (k + round) % 2
							if c.runtime {
								c.set(v == 1)
							}
							c0, ok0 := threadCPUTime()
							for i := range batch {
								buf = engines[v].Match(evs[(round*batch+i)%len(evs)], buf[:0])
							}
							c1, ok1 := threadCPUTime()
							if !ok0 || !ok1 {
								b.Skip("no thread CPU clock")
							}
							t[v] = (c1 - c0).Seconds()
							spent[v] += t[v]
						}
						c.set(true)
						ratios = append(ratios, t[0]/t[1])
					}
				}
				slices.Sort(ratios)
				done := float64(b.N * rounds * batch)
				b.ReportMetric(done/spent[0], "off-events/cpu-s")
				b.ReportMetric(done/spent[1], "on-events/cpu-s")
				b.ReportMetric(spent[0]/spent[1], "on/off")
				b.ReportMetric(ratios[len(ratios)/2], "median-on/off")
			})
		}
	}
}

// BenchmarkRuleCountWarmth splits the cost of Match at 100, 1,000 and 3,000
// rules into the event's own data, the engine's tables and rules, and work
// that remains with everything in cache. Each event's Match is timed alone
// (monotonic clock; the timer's own cost is reported and subtracted) in
// three modes, passes alternating:
//   - cold: as BenchmarkRuleCount, the 4,096 events in turn;
//   - event-warm: each event's keys and every 32nd byte of its strings
//     read, untimed, just before its Match;
//   - all-warm: Match run once untimed on the event, then timed.
//
// Reported per mode in ns per event, with the scan cache on.
//
//	go test ./internal/detect/sigma -run XXX -bench RuleCountWarmth -benchtime 3x -cpu 1
func BenchmarkRuleCountWarmth(b *testing.B) {
	rs := loadCorpus(b, nil)
	events := genEvents(benchEvents, 2, (*eventGen).mixed)
	evs := mapEvents(events)
	sink := 0
	touch := func(ev MapEvent) {
		for k, v := range ev {
			sink += len(k)
			if s, ok := v.(string); ok {
				for i := 0; i < len(s); i += 32 {
					sink += int(s[i])
				}
			}
		}
	}
	for _, n := range []int{100, 1000, 3000} {
		if n > len(rs.Rules) {
			continue
		}
		e := NewEngine(sampleRules(rs, n))
		b.Run(itoa(n)+"_rules", func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var buf []Match
			for _, ev := range evs {
				buf = e.Match(ev, buf[:0])
			}
			var spent [4]time.Duration // cold, event-warm, all-warm, timer only
			for range b.N {
				for mode := range spent {
					for _, ev := range evs {
						switch mode {
						case 1:
							touch(ev)
						case 2:
							buf = e.Match(ev, buf[:0])
						}
						t0 := time.Now()
						if mode != 3 {
							buf = e.Match(ev, buf[:0])
						}
						spent[mode] += time.Since(t0)
					}
				}
			}
			per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N*len(evs)) }
			timer := per(spent[3])
			b.ReportMetric(per(spent[0])-timer, "cold-ns/event")
			b.ReportMetric(per(spent[1])-timer, "event-warm-ns/event")
			b.ReportMetric(per(spent[2])-timer, "all-warm-ns/event")
			b.ReportMetric(timer, "timer-ns")
		})
	}
	if sink == -1 {
		b.Log(sink)
	}
}
