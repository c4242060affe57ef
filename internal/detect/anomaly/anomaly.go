// Package anomaly finds behaviour that departs from what an entity usually
// does, without rules: per-entity event-rate baselines (EWMA mean and
// variance, z-score), first-seen values (a new destination port for a host,
// a new MCP tool for a client), and beaconing (connections to one
// destination at regular intervals).
//
// It owns the detectors' state and the explanation of each finding
// (baseline, observed value, threshold). It does not own alerting: the
// detect.Engine turns findings into alerts. State is bounded per detector
// (MaxKeys, least recently seen key evicted) and keyed by group-by values,
// so it can be partitioned like correlation state.
package anomaly

import (
	"container/list"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Event is what detectors read: a value by ECS field name.
type Event interface {
	Get(field string) (any, bool)
}

// Detector kinds.
const (
	KindRate      = "rate"
	KindFirstSeen = "first_seen"
	KindBeacon    = "beacon"
)

// Finding is one anomaly, with what it was compared to.
type Finding struct {
	Detector string    `json:"detector"` // configured name
	Kind     string    `json:"kind"`     // rate, first_seen, beacon
	Level    string    `json:"level"`    // Sigma-style level for the alert
	Time     time.Time `json:"time"`
	// Group are the group-by fields and their values (the entity).
	Group []Group `json:"group"`
	// Observed is the value seen: events in the interval (rate), the mean
	// interval in seconds (beacon).
	Observed float64 `json:"observed"`
	// Baseline and StdDev describe what was expected (rate: EWMA mean and
	// deviation of events per interval; beacon: the interval jitter as a
	// coefficient of variation in Baseline).
	Baseline  float64 `json:"baseline"`
	StdDev    float64 `json:"stddev"`
	Threshold float64 `json:"threshold"`
	// Field and Value are the new value of a first_seen finding.
	Field string `json:"field,omitempty"`
	Value string `json:"value,omitempty"`
	// Count is the events behind a beacon finding, or distinct values
	// known before a first_seen one.
	Count int `json:"count"`
	// Explanation says it in one sentence.
	Explanation string `json:"explanation"`
}

// Group is one group-by field and its value.
type Group struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// Config lists the detectors to run.
type Config struct {
	Rate      []RateConfig      `yaml:"rate" json:"rate"`
	FirstSeen []FirstSeenConfig `yaml:"first_seen" json:"first_seen"`
	Beacon    []BeaconConfig    `yaml:"beacon" json:"beacon"`
}

// When selects events: every field must hold one of its values
// (case-insensitive; "*" means present; a trailing "*" is a prefix).
type When map[string][]string

// RateConfig detects an entity producing far more events than usual.
type RateConfig struct {
	Name    string   `yaml:"name" json:"name"`
	When    When     `yaml:"when" json:"when"`
	GroupBy []string `yaml:"group_by" json:"group_by"`
	// Interval is the counting bucket (default 1m).
	Interval time.Duration `yaml:"interval" json:"interval"`
	// Alpha is the EWMA weight of the newest interval (default 0.1).
	Alpha float64 `yaml:"alpha" json:"alpha"`
	// Z is the z-score threshold (default 4).
	Z float64 `yaml:"z" json:"z"`
	// MinCount is the least count that can be anomalous (default 20).
	MinCount int `yaml:"min_count" json:"min_count"`
	// Warmup is the closed intervals needed before judging (default 10).
	Warmup  int    `yaml:"warmup" json:"warmup"`
	MaxKeys int    `yaml:"max_keys" json:"max_keys"`
	Level   string `yaml:"level" json:"level"`
}

// FirstSeenConfig detects a value never seen before for an entity, once the
// entity has been learnt for a while.
type FirstSeenConfig struct {
	Name    string   `yaml:"name" json:"name"`
	When    When     `yaml:"when" json:"when"`
	GroupBy []string `yaml:"group_by" json:"group_by"`
	Field   string   `yaml:"field" json:"field"`
	// Learn is how long after an entity's first event new values are only
	// learnt (default 24h).
	Learn time.Duration `yaml:"learn" json:"learn"`
	// MaxValues caps the values remembered per entity (default 1,000);
	// beyond it the entity is too diverse to judge and stops reporting.
	MaxValues int    `yaml:"max_values" json:"max_values"`
	MaxKeys   int    `yaml:"max_keys" json:"max_keys"`
	Level     string `yaml:"level" json:"level"`
}

// BeaconConfig detects regular connections from one source to one
// destination.
type BeaconConfig struct {
	Name string `yaml:"name" json:"name"`
	When When   `yaml:"when" json:"when"`
	// GroupBy defaults to source.ip, destination.ip, destination.port.
	GroupBy []string `yaml:"group_by" json:"group_by"`
	// MinEvents is the connections needed (default 8).
	MinEvents int `yaml:"min_events" json:"min_events"`
	// MaxJitter is the largest coefficient of variation of the intervals
	// (standard deviation / mean) still regular (default 0.1).
	MaxJitter float64 `yaml:"max_jitter" json:"max_jitter"`
	// MinInterval and MaxInterval bound the mean interval (defaults 10s
	// and 6h): faster is a stream, slower is not a callback.
	MinInterval time.Duration `yaml:"min_interval" json:"min_interval"`
	MaxInterval time.Duration `yaml:"max_interval" json:"max_interval"`
	MaxKeys     int           `yaml:"max_keys" json:"max_keys"`
	Level       string        `yaml:"level" json:"level"`
}

// Detector runs the configured detectors. Observe is safe for concurrent
// use (one mutex per detector).
type Detector struct {
	rates  []*rateDet
	firsts []*firstDet
	beacon []*beaconDet
}

// New validates cfg, applies defaults and builds a Detector.
func New(cfg *Config) (*Detector, error) {
	d := &Detector{}
	if cfg == nil {
		return d, nil
	}
	var errs []error
	names := map[string]bool{}
	name := func(kind, n string, groupBy []string) {
		if n == "" {
			errs = append(errs, fmt.Errorf("%s detector without a name", kind))
		} else if names[n] {
			errs = append(errs, fmt.Errorf("%s detector %q: duplicate name", kind, n))
		}
		names[n] = true
		if len(groupBy) == 0 {
			errs = append(errs, fmt.Errorf("%s detector %q: group_by is required", kind, n))
		}
	}
	for _, c := range cfg.Rate {
		name(KindRate, c.Name, c.GroupBy)
		c.Interval = orDur(c.Interval, time.Minute)
		c.Alpha = orF(c.Alpha, 0.1)
		c.Z = orF(c.Z, 4)
		c.MinCount = orI(c.MinCount, 20)
		c.Warmup = orI(c.Warmup, 10)
		c.MaxKeys = orI(c.MaxKeys, 100_000)
		c.Level = orS(c.Level, "medium")
		if c.Alpha <= 0 || c.Alpha > 1 {
			errs = append(errs, fmt.Errorf("rate detector %q: alpha must be in (0,1]", c.Name))
		}
		if c.Interval < time.Second {
			errs = append(errs, fmt.Errorf("rate detector %q: interval under 1s", c.Name))
		}
		d.rates = append(d.rates, &rateDet{cfg: c, keys: newLRU[*rateState](c.MaxKeys)})
	}
	for _, c := range cfg.FirstSeen {
		name(KindFirstSeen, c.Name, c.GroupBy)
		if c.Field == "" {
			errs = append(errs, fmt.Errorf("first_seen detector %q: field is required", c.Name))
		}
		c.Learn = orDur(c.Learn, 24*time.Hour)
		c.MaxValues = orI(c.MaxValues, 1000)
		c.MaxKeys = orI(c.MaxKeys, 100_000)
		c.Level = orS(c.Level, "low")
		d.firsts = append(d.firsts, &firstDet{cfg: c, keys: newLRU[*firstState](c.MaxKeys)})
	}
	for _, c := range cfg.Beacon {
		if len(c.GroupBy) == 0 {
			c.GroupBy = []string{"source.ip", "destination.ip", "destination.port"}
		}
		name(KindBeacon, c.Name, c.GroupBy)
		c.MinEvents = orI(c.MinEvents, 8)
		c.MaxJitter = orF(c.MaxJitter, 0.1)
		c.MinInterval = orDur(c.MinInterval, 10*time.Second)
		c.MaxInterval = orDur(c.MaxInterval, 6*time.Hour)
		c.MaxKeys = orI(c.MaxKeys, 100_000)
		c.Level = orS(c.Level, "medium")
		if c.MinEvents < 4 {
			errs = append(errs, fmt.Errorf("beacon detector %q: min_events below 4 cannot show regularity", c.Name))
		}
		d.beacon = append(d.beacon, &beaconDet{cfg: c, keys: newLRU[*beaconState](c.MaxKeys)})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

func orDur(v, d time.Duration) time.Duration {
	if v <= 0 {
		return d
	}
	return v
}
func orF(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}
func orI(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}
func orS(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

// Observe feeds one event at event time t and returns the anomalies it
// reveals.
func (d *Detector) Observe(ev Event, t time.Time) []Finding {
	var out []Finding
	for _, r := range d.rates {
		if f, ok := r.observe(ev, t); ok {
			out = append(out, f)
		}
	}
	for _, r := range d.firsts {
		if f, ok := r.observe(ev, t); ok {
			out = append(out, f)
		}
	}
	for _, r := range d.beacon {
		if f, ok := r.observe(ev, t); ok {
			out = append(out, f)
		}
	}
	return out
}

// Empty reports whether no detector is configured.
func (d *Detector) Empty() bool {
	return len(d.rates)+len(d.firsts)+len(d.beacon) == 0
}

func (w When) match(ev Event) bool {
	for f, vals := range w {
		v, ok := ev.Get(f)
		if !ok {
			return false
		}
		hit := false
		for _, s := range strs(v) {
			for _, want := range vals {
				switch {
				case want == "*":
					hit = true
				case strings.HasSuffix(want, "*"):
					hit = hit || strings.HasPrefix(strings.ToLower(s), strings.ToLower(strings.TrimSuffix(want, "*")))
				default:
					hit = hit || strings.EqualFold(s, want)
				}
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func strs(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := scalar(e); ok {
				out = append(out, s)
			}
		}
		return out
	}
	if s, ok := scalar(v); ok {
		return []string{s}
	}
	return nil
}

func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// group reads the group-by values; ok is false when one is missing.
func group(ev Event, fields []string) ([]Group, string, bool) {
	g := make([]Group, 0, len(fields))
	var b strings.Builder
	for _, f := range fields {
		v, ok := ev.Get(f)
		if !ok {
			return nil, "", false
		}
		s, ok := scalar(v)
		if !ok || s == "" {
			return nil, "", false
		}
		g = append(g, Group{Field: f, Value: s})
		b.WriteString(s)
		b.WriteByte(0x1f)
	}
	return g, b.String(), true
}

func describe(g []Group) string {
	parts := make([]string, len(g))
	for i, x := range g {
		parts[i] = x.Field + "=" + x.Value
	}
	return strings.Join(parts, " ")
}

// ---- rate ----

type rateDet struct {
	cfg  RateConfig
	mu   sync.Mutex
	keys *lru[*rateState]
}

type rateState struct {
	bucket   time.Time // start of the open interval
	count    int
	closed   int // intervals folded into the baseline
	mean     float64
	variance float64
	fired    bool
}

func (r *rateDet) observe(ev Event, t time.Time) (Finding, bool) {
	if !r.cfg.When.match(ev) {
		return Finding{}, false
	}
	g, key, ok := group(ev, r.cfg.GroupBy)
	if !ok {
		return Finding{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.keys.get(key)
	b := t.Truncate(r.cfg.Interval)
	if st == nil {
		st = &rateState{bucket: b}
		r.keys.put(key, st)
	}
	if b.Before(st.bucket) {
		// Late event for a closed interval: count it where it belongs
		// no more; it cannot change a baseline already folded.
		return Finding{}, false
	}
	if b.After(st.bucket) {
		r.fold(st, st.count)
		// Silent intervals in between count as zeros (at most 1,000:
		// after that long the baseline is mostly zeros anyway).
		gap := int(b.Sub(st.bucket)/r.cfg.Interval) - 1
		for i := 0; i < gap && i < 1000; i++ {
			r.fold(st, 0)
		}
		st.bucket, st.count, st.fired = b, 0, false
	}
	st.count++
	if st.fired || st.closed < r.cfg.Warmup || st.count < r.cfg.MinCount {
		return Finding{}, false
	}
	std := math.Sqrt(st.variance)
	// A floor on the deviation: a perfectly flat baseline (always 3
	// events) would otherwise call 4 events infinitely anomalous. The
	// square root of the mean is the deviation of a Poisson process.
	floor := math.Max(1, math.Sqrt(st.mean))
	if std < floor {
		std = floor
	}
	threshold := st.mean + r.cfg.Z*std
	if float64(st.count) < threshold {
		return Finding{}, false
	}
	st.fired = true
	return Finding{
		Detector: r.cfg.Name, Kind: KindRate, Level: r.cfg.Level, Time: t, Group: g,
		Observed: float64(st.count), Baseline: st.mean, StdDev: std, Threshold: threshold,
		Explanation: fmt.Sprintf("%s: %d events in %s, baseline %.1f ± %.1f (threshold %.1f, z ≥ %g)",
			describe(g), st.count, r.cfg.Interval, st.mean, std, threshold, r.cfg.Z),
	}, true
}

func (r *rateDet) fold(st *rateState, x int) {
	a := r.cfg.Alpha
	fx := float64(x)
	if st.closed == 0 {
		st.mean, st.variance = fx, 0
	} else {
		diff := fx - st.mean
		st.mean += a * diff
		st.variance = (1 - a) * (st.variance + a*diff*diff)
	}
	st.closed++
}

// ---- first seen ----

type firstDet struct {
	cfg  FirstSeenConfig
	mu   sync.Mutex
	keys *lru[*firstState]
}

type firstState struct {
	since  time.Time
	values map[string]struct{}
	full   bool
}

func (r *firstDet) observe(ev Event, t time.Time) (Finding, bool) {
	if !r.cfg.When.match(ev) {
		return Finding{}, false
	}
	g, key, ok := group(ev, r.cfg.GroupBy)
	if !ok {
		return Finding{}, false
	}
	v, ok := ev.Get(r.cfg.Field)
	if !ok {
		return Finding{}, false
	}
	vals := strs(v)
	if len(vals) == 0 {
		return Finding{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.keys.get(key)
	if st == nil {
		st = &firstState{since: t, values: map[string]struct{}{}}
		r.keys.put(key, st)
	}
	if t.Before(st.since) {
		st.since = t
	}
	var found string
	for _, s := range vals {
		s = strings.ToLower(s)
		if _, ok := st.values[s]; ok {
			continue
		}
		if len(st.values) >= r.cfg.MaxValues {
			st.full = true
			continue
		}
		known := len(st.values)
		st.values[s] = struct{}{}
		if found == "" && !st.full && t.Sub(st.since) >= r.cfg.Learn && known > 0 {
			found = s
		}
	}
	if found == "" {
		return Finding{}, false
	}
	return Finding{
		Detector: r.cfg.Name, Kind: KindFirstSeen, Level: r.cfg.Level, Time: t, Group: g,
		Field: r.cfg.Field, Value: found, Count: len(st.values) - 1, Observed: 1,
		Explanation: fmt.Sprintf("%s: first %s %q after %s of history (%d values known)",
			describe(g), r.cfg.Field, found, t.Sub(st.since).Round(time.Second), len(st.values)-1),
	}, true
}

// ---- beacon ----

type beaconDet struct {
	cfg  BeaconConfig
	mu   sync.Mutex
	keys *lru[*beaconState]
}

type beaconState struct {
	times []time.Time // recent event times, sorted, at most 4×MinEvents
	fired time.Time   // last finding
}

func (r *beaconDet) observe(ev Event, t time.Time) (Finding, bool) {
	if !r.cfg.When.match(ev) {
		return Finding{}, false
	}
	g, key, ok := group(ev, r.cfg.GroupBy)
	if !ok {
		return Finding{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.keys.get(key)
	if st == nil {
		st = &beaconState{}
		r.keys.put(key, st)
	}
	i := sort.Search(len(st.times), func(i int) bool { return st.times[i].After(t) })
	st.times = append(st.times, time.Time{})
	copy(st.times[i+1:], st.times[i:])
	st.times[i] = t
	if limit := 4 * r.cfg.MinEvents; len(st.times) > limit {
		st.times = append(st.times[:0], st.times[len(st.times)-limit:]...)
	}
	n := len(st.times)
	if n < r.cfg.MinEvents {
		return Finding{}, false
	}
	// Intervals of the last MinEvents events.
	win := st.times[n-r.cfg.MinEvents:]
	var sum float64
	for j := 1; j < len(win); j++ {
		sum += win[j].Sub(win[j-1]).Seconds()
	}
	k := float64(len(win) - 1)
	mean := sum / k
	if mean < r.cfg.MinInterval.Seconds() || mean > r.cfg.MaxInterval.Seconds() {
		return Finding{}, false
	}
	var ss float64
	for j := 1; j < len(win); j++ {
		d := win[j].Sub(win[j-1]).Seconds() - mean
		ss += d * d
	}
	cv := math.Sqrt(ss/k) / mean
	if cv > r.cfg.MaxJitter {
		return Finding{}, false
	}
	// One finding per window of MinEvents events.
	if !st.fired.IsZero() && !win[0].After(st.fired) {
		return Finding{}, false
	}
	st.fired = t
	return Finding{
		Detector: r.cfg.Name, Kind: KindBeacon, Level: r.cfg.Level, Time: t, Group: g,
		Observed: mean, Baseline: cv, StdDev: math.Sqrt(ss / k), Threshold: r.cfg.MaxJitter, Count: len(win),
		Explanation: fmt.Sprintf("%s: %d events every %s (jitter %.1f%%, threshold %.0f%%)",
			describe(g), len(win), time.Duration(mean*float64(time.Second)).Round(time.Second), cv*100, r.cfg.MaxJitter*100),
	}, true
}

// ---- bounded key map ----

// lru is a map bounded to max keys, evicting the least recently used.
type lru[V any] struct {
	max     int
	m       map[string]*list.Element
	l       *list.List
	evicted uint64
}

type lruEntry[V any] struct {
	k string
	v V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, m: map[string]*list.Element{}, l: list.New()}
}

func (c *lru[V]) get(k string) V {
	if e, ok := c.m[k]; ok {
		c.l.MoveToFront(e)
		return e.Value.(*lruEntry[V]).v
	}
	var zero V
	return zero
}

func (c *lru[V]) put(k string, v V) {
	if e, ok := c.m[k]; ok {
		e.Value.(*lruEntry[V]).v = v
		c.l.MoveToFront(e)
		return
	}
	if c.l.Len() >= c.max {
		old := c.l.Back()
		c.l.Remove(old)
		delete(c.m, old.Value.(*lruEntry[V]).k)
		c.evicted++
	}
	c.m[k] = c.l.PushFront(&lruEntry[V]{k: k, v: v})
}

// Stats reports state sizes.
type Stats struct {
	Keys    int
	Evicted uint64
}

// Stats sums the state of every detector.
func (d *Detector) Stats() Stats {
	var s Stats
	for _, r := range d.rates {
		r.mu.Lock()
		s.Keys += r.keys.l.Len()
		s.Evicted += r.keys.evicted
		r.mu.Unlock()
	}
	for _, r := range d.firsts {
		r.mu.Lock()
		s.Keys += r.keys.l.Len()
		s.Evicted += r.keys.evicted
		r.mu.Unlock()
	}
	for _, r := range d.beacon {
		r.mu.Lock()
		s.Keys += r.keys.l.Len()
		s.Evicted += r.keys.evicted
		r.mu.Unlock()
	}
	return s
}
