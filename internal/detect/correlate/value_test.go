package correlate

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
)

func valueRule(typ, cond string) string {
	return `title: Agg
name: agg
correlation:
  type: ` + typ + `
  rules: [flow]
  group-by: [source.ip]
  timespan: 1m
  condition: ` + cond + `
level: high
`
}

// numHit is a flow hit from source a carrying bytes n.
func numHit(sec int, n string) Hit { return hit("flow", sec, "source.ip", "a", "source.bytes", n) }

func TestValueTypes(t *testing.T) {
	cases := []struct {
		name, typ, cond string
		hits            []Hit
		want            []string
		value           float64
	}{
		{"sum reaches threshold", "value_sum", "{field: source.bytes, gte: 1000}",
			[]Hit{numHit(0, "400"), numHit(10, "300"), numHit(20, "300")}, []string{"Agg@2"}, 1000},
		{"sum spread beyond the window", "value_sum", "{field: source.bytes, gte: 1000}",
			[]Hit{numHit(0, "400"), numHit(30, "300"), numHit(70, "300")}, nil, 0},
		{"sum slides: old bytes leave the window", "value_sum", "{field: source.bytes, gt: 900}",
			[]Hit{numHit(0, "500"), numHit(50, "300"), numHit(65, "300"), numHit(70, "400")}, []string{"Agg@3"}, 1000},
		{"sum range", "value_sum", "{field: source.bytes, gte: 100, lte: 200}",
			[]Hit{numHit(0, "50"), numHit(1, "500")}, nil, 0},
		{"non-numeric values are ignored", "value_sum", "{field: source.bytes, gte: 10}",
			[]Hit{numHit(0, "lots"), numHit(1, "NaN"), numHit(2, "9")}, nil, 0},
		{"avg above", "value_avg", "{field: source.bytes, gt: 100}",
			[]Hit{numHit(0, "50"), numHit(1, "100"), numHit(2, "400")}, []string{"Agg@2"}, 550.0 / 3},
		{"avg below fires on small values", "value_avg", "{field: source.bytes, lt: 10}",
			[]Hit{numHit(0, "4")}, []string{"Agg@0"}, 4},
		{"avg neq", "value_avg", "{field: source.bytes, neq: 5, gte: 0}",
			[]Hit{numHit(0, "5"), numHit(1, "7")}, []string{"Agg@1"}, 6},
		{"percentile 90 above", "value_percentile", "{field: source.bytes, percentile: 90, gt: 1000}",
			[]Hit{numHit(0, "10"), numHit(1, "20"), numHit(2, "30"), numHit(3, "6000")}, []string{"Agg@3"}, 6000},
		{"percentile 50 stays low", "value_percentile", "{field: source.bytes, percentile: 50, gt: 1000}",
			[]Hit{numHit(0, "10"), numHit(1, "20"), numHit(2, "30"), numHit(3, "5000")}, nil, 0},
		{"median", "value_median", "{field: source.bytes, gte: 20}",
			[]Hit{numHit(0, "10"), numHit(1, "30"), numHit(2, "20")}, []string{"Agg@2"}, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, valueRule(c.typ, c.cond), []string{"flow"}, nil)
			var got []string
			var value float64
			for i, h := range c.hits {
				for _, a := range e.Observe(h) {
					got = append(got, a.Rule.Title+"@"+strconv.Itoa(i))
					value = a.Value
				}
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("fired %v, want %v", got, c.want)
			}
			if math.Abs(value-c.value) > 1e-9 {
				t.Errorf("value %v, want %v", value, c.value)
			}
		})
	}
}

func TestValueRuleErrors(t *testing.T) {
	cases := map[string]string{
		"value_sum":         "{gte: 3}",                              // no field
		"value_percentile":  "{field: x, gte: 3}",                    // no percentile
		"value_avg":         "{field: x, percentile: 50, gte: 3}",    // percentile elsewhere
		"value_median":      "{field: x}",                            // no bound
		"value_count":       "{field: x, gte: 1, percentile: 200}",   // out of range
		"value_percentile ": "{field: x, percentile: 50, gte: .inf}", // not finite
	}
	for typ, cond := range cases {
		src := valueRule(strings.TrimSpace(typ), cond)
		if _, errs := Parse("c.yml", []byte(src)); len(errs) == 0 {
			t.Errorf("%s %s: accepted", typ, cond)
		}
	}
	if _, errs := Parse("c.yml", []byte(valueRule("value_sum", "{field: x, lt: 3}"))); len(errs) == 0 {
		t.Error("value_sum with only an upper bound accepted")
	}
}

// TestPercentileSketch compares the percentile of a big window (sketch
// mode) with the exact nearest-rank value: within the sketch's 1%.
func TestPercentileSketch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e := mustEngine(t, valueRule("value_percentile", "{field: source.bytes, percentile: 95, gt: 1e15}"), []string{"flow"}, nil)
	var all []float64
	for i := range 5000 {
		v := math.Exp(rng.Float64()*10) * 100
		all = append(all, v)
		h := Hit{Name: "flow", Event: sigma.MapEvent{"source.ip": "a", "source.bytes": v}, Time: t0.Add(time.Duration(i) * time.Millisecond)}
		if len(e.Observe(h)) != 0 {
			t.Fatal("fired")
		}
	}
	st := e.corrs[0].recent.Front()
	if st.num.sketch == nil {
		t.Fatal("a 5,000-sample window is still exact")
	}
	slices.Sort(all)
	exact := all[int(math.Ceil(0.95*float64(len(all))))-1]
	got := st.num.percentile(95)
	if rel := math.Abs(got-exact) / exact; rel > sketchAlpha {
		t.Errorf("p95 %v, exact %v: relative error %.4f > %v", got, exact, rel, sketchAlpha)
	}
	// The window slides out: back to exact mode, matching a sort.
	st.num.expire(t0.Add(4500*time.Millisecond), 10_000, true)
	if st.num.sketch != nil || len(st.num.sorted) != 500 {
		t.Fatalf("after sliding: sketch %v, sorted %d", st.num.sketch != nil, len(st.num.sorted))
	}
}

func TestValueSamplesBounded(t *testing.T) {
	e := mustEngine(t, valueRule("value_sum", "{field: source.bytes, gte: 1e12}"), []string{"flow"}, &Options{MaxSamples: 100})
	for i := range 1000 {
		e.Observe(numHit(i%50, "1"))
	}
	if s := e.Stats(); s.Trimmed != 900 || s.Keys != 1 {
		t.Errorf("stats %+v, want 900 trimmed, 1 key", s)
	}
	st := e.corrs[0].recent.Front()
	if len(st.num.samples) != 100 || st.num.sum != 100 {
		t.Errorf("window %d samples, sum %v", len(st.num.samples), st.num.sum)
	}
}

func TestValueSnapshotRoundTrip(t *testing.T) {
	src := valueRule("value_percentile", "{field: source.bytes, percentile: 50, gte: 300}")
	e := mustEngine(t, src, []string{"flow"}, nil)
	e.Observe(numHit(0, "100"))
	e.Observe(numHit(1, "400"))
	b, err := json.Marshal(e.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	e2 := mustEngine(t, src, []string{"flow"}, nil)
	if n := e2.Restore(snap); n != 1 {
		t.Fatalf("restored %d groups", n)
	}
	// Median of 100, 400, 500 is 400: fires only with the restored samples.
	if got := e2.Observe(numHit(2, "500")); len(got) != 1 || got[0].Value != 400 || got[0].Count != 3 {
		t.Fatalf("after restore: %+v", got)
	}
}
