package correlate

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The numeric correlations (value_sum, value_avg, value_percentile,
// value_median) keep, per group-by key, the hits inside the window as
// (time, value) samples in event-time order, with a running sum. The
// number of samples per key is capped by Options.MaxSamples; when a key
// goes over, its oldest samples are dropped and counted in Stats.Trimmed,
// so a sum or average then covers the newest MaxSamples hits of the
// window.
//
// Percentiles are exact (nearest rank over a sorted copy kept in step
// with the window) while a key holds at most exactPercentile samples.
// Beyond that the key switches to a log-bucket histogram with relative
// accuracy sketchAlpha (1%): each value goes to the bucket
// ceil(log_gamma |v|), gamma = (1+alpha)/(1-alpha), and the bucket's
// representative is within 1% of every value in it. Buckets are counted
// up and down as samples enter and leave the window, so the histogram
// slides with it; it holds at most one entry per distinct bucket (about
// 2,100 cover 1e-9 to 1e9 at 1%).

// exactPercentile is the largest window, in samples, whose percentile is
// computed exactly.
const exactPercentile = 2048

// sketchAlpha is the relative accuracy of the percentile histogram.
const sketchAlpha = 0.01

var sketchLogGamma = math.Log((1 + sketchAlpha) / (1 - sketchAlpha))

type sample struct {
	t time.Time
	v float64
}

// numWindow is one key's window for the numeric correlation types.
type numWindow struct {
	samples []sample // event-time order
	sum     float64
	sorted  []float64 // percentile, exact mode: the sample values, sorted
	sketch  *logSketch
}

func (w *numWindow) add(t time.Time, v float64, pct bool) {
	i := len(w.samples)
	if i > 0 && t.Before(w.samples[i-1].t) {
		i = sort.Search(len(w.samples), func(j int) bool { return w.samples[j].t.After(t) })
	}
	w.samples = slices.Insert(w.samples, i, sample{t, v})
	w.sum += v
	if !pct {
		return
	}
	if w.sketch != nil {
		w.sketch.add(v, 1)
		return
	}
	j, _ := slices.BinarySearch(w.sorted, v)
	w.sorted = slices.Insert(w.sorted, j, v)
	if len(w.sorted) > exactPercentile {
		w.sketch = newLogSketch()
		for _, x := range w.sorted {
			w.sketch.add(x, 1)
		}
		w.sorted = nil
	}
}

// dropOldest removes the n oldest samples.
func (w *numWindow) dropOldest(n int, pct bool) {
	for _, s := range w.samples[:n] {
		w.sum -= s.v
		if !pct {
			continue
		}
		if w.sketch != nil {
			w.sketch.add(s.v, -1)
		} else if j, ok := slices.BinarySearch(w.sorted, s.v); ok {
			w.sorted = slices.Delete(w.sorted, j, j+1)
		}
	}
	w.samples = append(w.samples[:0], w.samples[n:]...)
	if len(w.samples) == 0 {
		w.sum = 0 // no drift carried into the next window
	}
	if w.sketch != nil && len(w.samples) <= exactPercentile/2 {
		// Back to exact once the window is small again.
		w.sketch = nil
		w.sorted = w.sorted[:0]
		for _, s := range w.samples {
			w.sorted = append(w.sorted, s.v)
		}
		slices.Sort(w.sorted)
	}
}

// expire drops samples before floor and, beyond max, the oldest; it
// returns how many were dropped for the cap.
func (w *numWindow) expire(floor time.Time, max int, pct bool) int {
	n := 0
	for n < len(w.samples) && w.samples[n].t.Before(floor) {
		n++
	}
	trimmed := 0
	if len(w.samples)-n > max {
		trimmed = len(w.samples) - n - max
		n += trimmed
	}
	if n > 0 {
		w.dropOldest(n, pct)
	}
	return trimmed
}

// percentile returns the p-th percentile (nearest rank) of the window.
func (w *numWindow) percentile(p float64) float64 {
	n := len(w.samples)
	if n == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	if w.sketch != nil {
		return w.sketch.rank(rank)
	}
	return w.sorted[rank-1]
}

// aggregate is the value the rule's condition is compared with.
func (w *numWindow) aggregate(r *Rule) float64 {
	switch r.Type {
	case ValueSum:
		return w.sum
	case ValueAvg:
		return w.sum / float64(len(w.samples))
	default:
		return w.percentile(*r.Condition.Percentile)
	}
}

// logSketch is a histogram over logarithmic buckets: a value v > 0 goes
// to bucket ceil(log_gamma v), negatives to the mirrored buckets, zero
// (and magnitudes below 1e-9) to its own count.
type logSketch struct {
	pos, neg map[int32]int
	zero     int
}

func newLogSketch() *logSketch {
	return &logSketch{pos: map[int32]int{}, neg: map[int32]int{}}
}

func sketchIndex(v float64) int32 {
	return int32(math.Ceil(math.Log(v) / sketchLogGamma))
}

// sketchValue is the representative of bucket i: within sketchAlpha of
// every value the bucket holds.
func sketchValue(i int32) float64 {
	gamma := math.Exp(sketchLogGamma)
	return 2 * math.Pow(gamma, float64(i)) / (gamma + 1)
}

func (s *logSketch) add(v float64, d int) {
	var m map[int32]int
	switch {
	case math.Abs(v) < 1e-9:
		s.zero += d
		return
	case v > 0:
		m = s.pos
	default:
		m, v = s.neg, -v
	}
	i := sketchIndex(v)
	if m[i] += d; m[i] <= 0 {
		delete(m, i)
	}
}

// rank returns the value of the rank-th smallest sample (1-based), within
// sketchAlpha.
func (s *logSketch) rank(rank int) float64 {
	negKeys := make([]int32, 0, len(s.neg))
	for k := range s.neg {
		negKeys = append(negKeys, k)
	}
	// Most negative first: the largest magnitudes.
	slices.Sort(negKeys)
	slices.Reverse(negKeys)
	seen := 0
	for _, k := range negKeys {
		if seen += s.neg[k]; seen >= rank {
			return -sketchValue(k)
		}
	}
	if seen += s.zero; seen >= rank {
		return 0
	}
	posKeys := make([]int32, 0, len(s.pos))
	for k := range s.pos {
		posKeys = append(posKeys, k)
	}
	slices.Sort(posKeys)
	for _, k := range posKeys {
		if seen += s.pos[k]; seen >= rank {
			return sketchValue(k)
		}
	}
	if len(posKeys) > 0 {
		return sketchValue(posKeys[len(posKeys)-1])
	}
	return 0
}

// numericValue reads a field value as a number: JSON numbers, integers,
// and strings holding a decimal number. NaN and infinities are refused.
func numericValue(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int64:
		f = float64(x)
	case int:
		f = float64(x)
	case int32:
		f = float64(x)
	case uint64:
		f = float64(x)
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}
