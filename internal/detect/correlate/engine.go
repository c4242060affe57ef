package correlate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
	"github.com/mcpsoc/mcpsoc/internal/lru"
)

// Options bound the engine's state. Nil means defaults.
type Options struct {
	// MaxKeys caps group-by keys held per correlation (default 100,000);
	// the least recently active key is evicted first.
	MaxKeys int
	// MaxValues caps distinct values held per key by value_count (default
	// 10,000); the oldest value is dropped first.
	MaxValues int
	// MaxEvents caps the event_count threshold (default 100,000): one
	// timestamp per event is held per key until the threshold is reached,
	// so a larger threshold is rejected rather than risking memory.
	MaxEvents int
	// MaxSamples caps the samples (time and value) held per key by
	// value_sum, value_avg and value_percentile (default 10,000); the
	// oldest are dropped first and counted in Stats.Trimmed.
	MaxSamples int
}

// Hit is one match of a referenced rule: the rule's identifiers, the event
// (read for group-by and value fields) and its event time.
type Hit struct {
	ID    string
	Name  string
	Event sigma.Event
	Time  time.Time
}

// GroupValue is one group-by field and its value.
type GroupValue struct {
	Field string
	Value string
}

// Alert is a correlation that fired.
type Alert struct {
	Rule  *Rule
	Group []GroupValue
	// Start and End are the event times of the first and last hits that
	// made the correlation fire.
	Start, End time.Time
	// Count is the number of events (event_count), distinct values
	// (value_count) or referenced rules seen (temporal, temporal_ordered).
	Count int
	// Values are the distinct values counted by value_count, sorted.
	Values []string
	// Value is the aggregate of value_sum, value_avg and value_percentile
	// (the sum, the mean or the percentile) that met the condition; Count
	// is then the number of samples in the window.
	Value float64
}

// Stats report the engine's state size.
type Stats struct {
	Keys    int    // group-by keys held, all correlations
	Evicted uint64 // keys dropped because a correlation hit MaxKeys
	Trimmed uint64 // samples dropped because a key hit MaxSamples
}

// Engine holds correlation state. It is safe for concurrent use (one mutex:
// shard engines by group-by key to scale out).
type Engine struct {
	mu      sync.Mutex
	byRef   map[string][]*corr
	corrs   []*corr
	opts    Options
	evicted uint64
	trimmed uint64
	// keyBuf and groupBuf are update's scratch: a hit's key is looked up
	// from them, and copied only for a new group.
	keyBuf   []byte
	groupBuf []GroupValue
	// seed hashes group keys for corr.keys.
	seed maphash.Seed
}

type corr struct {
	r *Rule
	// keys files each group's state under a seeded hash of its key: a
	// uint64 is cheaper to hash, compare and delete than the key. A
	// different group under the same hash, which the random seed makes
	// about impossible, pushes the other out (counted as evicted).
	keys map[uint64]*state
	// recent orders the states, most recently active first, so the least
	// recently active is evicted in constant time.
	recent lru.List[state, *state]
	steps  int
}

// remove drops st from the map and the list.
func (c *corr) remove(st *state) {
	delete(c.keys, st.hash)
	c.recent.Remove(st)
}

type valueSeen struct {
	v string
	t time.Time
}

type state struct {
	key    string
	hash   uint64 // maphash of key, its index in corr.keys
	group  []GroupValue
	newest time.Time
	times  []time.Time // event_count, sorted
	values valueSet    // value_count: value -> last seen
	order  []valueSeen // value_count, in arrival order
	last   []time.Time // temporal: last hit per position; ordered: latest chain start per step
	num    *numWindow  // value_sum, value_avg, value_percentile

	links lru.Links[state]
}

// Links returns the state's place in its correlation's recency list.
func (st *state) Links() *lru.Links[state] { return &st.links }

// maxChain bounds correlation chaining depth at run time; cycles are
// rejected at load time already.
const maxChain = 16

// New checks the rules (every reference resolves to a base rule or another
// correlation, by id or name; no cycles) and builds an engine.
func New(rules []*Rule, base []*sigma.Rule, opts *Options) (*Engine, error) {
	e := &Engine{byRef: map[string][]*corr{}, seed: maphash.MakeSeed()}
	if opts != nil {
		e.opts = *opts
	}
	if e.opts.MaxKeys <= 0 {
		e.opts.MaxKeys = 100_000
	}
	if e.opts.MaxValues <= 0 {
		e.opts.MaxValues = 10_000
	}
	if e.opts.MaxEvents <= 0 {
		e.opts.MaxEvents = 100_000
	}
	if e.opts.MaxSamples <= 0 {
		e.opts.MaxSamples = 10_000
	}
	known := map[string]bool{}
	for _, b := range base {
		if b.ID != "" {
			known[b.ID] = true
		}
		if b.Name != "" {
			known[b.Name] = true
		}
	}
	corrByRef := map[string]*Rule{}
	for _, r := range rules {
		for _, ref := range []string{r.ID, r.Name} {
			if ref == "" {
				continue
			}
			if corrByRef[ref] != nil || known[ref] {
				return nil, fmt.Errorf("%s:%d: identifier %q is used twice", r.File, r.Line, ref)
			}
			corrByRef[ref] = r
		}
	}
	var problems []string
	for _, r := range rules {
		if r.Type == EventCount {
			if lb := r.Condition.lowerBound(); lb > float64(e.opts.MaxEvents) {
				problems = append(problems, fmt.Sprintf("%s:%d: correlation %q needs %.0f events per key, limit %d", r.File, r.Line, r.Title, lb, e.opts.MaxEvents))
			}
		}
		for _, ref := range r.Rules {
			if !known[ref] && corrByRef[ref] == nil {
				problems = append(problems, fmt.Sprintf("%s:%d: correlation %q references unknown rule %q", r.File, r.Line, r.Title, ref))
			}
		}
	}
	// Cycle check: depth-first over correlation references.
	color := map[*Rule]int{}
	var visit func(r *Rule, path []string) bool
	visit = func(r *Rule, path []string) bool {
		switch color[r] {
		case 1:
			problems = append(problems, fmt.Sprintf("%s:%d: correlation cycle: %s", r.File, r.Line, strings.Join(append(path, r.Title), " -> ")))
			return false
		case 2:
			return true
		}
		color[r] = 1
		for _, ref := range r.Rules {
			if c := corrByRef[ref]; c != nil && !visit(c, append(path, r.Title)) {
				return false
			}
		}
		color[r] = 2
		return true
	}
	for _, r := range rules {
		visit(r, nil)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	foldHashes(rules, base, corrByRef)
	for _, r := range rules {
		c := &corr{r: r, keys: map[uint64]*state{}, steps: len(r.Rules)}
		e.corrs = append(e.corrs, c)
		seen := map[string]bool{}
		for _, ref := range r.Rules {
			if !seen[ref] {
				seen[ref] = true
				e.byRef[ref] = append(e.byRef[ref], c)
			}
		}
	}
	return e, nil
}

// foldHashes sets each rule's Hash to a digest of its own definition and
// the hashes of the rules it references, correlations first resolved the
// same way (references are acyclic by now).
func foldHashes(rules []*Rule, base []*sigma.Rule, corrByRef map[string]*Rule) {
	baseHash := map[string]string{}
	for _, b := range base {
		for _, ref := range []string{b.ID, b.Name} {
			if ref != "" {
				baseHash[ref] = b.Hash
			}
		}
	}
	done := map[*Rule]string{}
	var fold func(r *Rule) string
	fold = func(r *Rule) string {
		if h, ok := done[r]; ok {
			return h
		}
		h := sha256.New()
		h.Write([]byte(r.hash()))
		for _, ref := range r.Rules {
			sub := baseHash[ref]
			if c := corrByRef[ref]; c != nil {
				sub = fold(c)
			}
			fmt.Fprintf(h, "\x00%d:%s\x00%s", len(ref), ref, sub)
		}
		s := hex.EncodeToString(h.Sum(nil)[:12])
		done[r] = s
		return s
	}
	for _, r := range rules {
		r.Hash = fold(r)
	}
}

// Standalone reports whether the matches of a base rule should still be
// reported on their own: false when every correlation referencing it (by
// id or name) has generate: false.
func (e *Engine) Standalone(id, name string) bool {
	refs := 0
	for _, ref := range []string{id, name} {
		if ref == "" {
			continue
		}
		for _, c := range e.byRef[ref] {
			refs++
			if c.r.Generate {
				return true
			}
		}
	}
	return refs == 0
}

// Observe feeds one hit and returns the correlations that fired, including
// chained correlations fed by those.
func (e *Engine) Observe(h Hit) []Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.observe(h, nil, 0)
}

func (e *Engine) observe(h Hit, out []Alert, depth int) []Alert {
	if depth > maxChain {
		return out
	}
	var done []*corr
	for _, ref := range []string{h.ID, h.Name} {
		if ref == "" {
			continue
		}
	next:
		for _, c := range e.byRef[ref] {
			for _, d := range done {
				if d == c {
					continue next
				}
			}
			done = append(done, c)
			a, ok := e.update(c, h)
			if !ok {
				continue
			}
			out = append(out, a)
			ev := sigma.MapEvent{}
			for _, g := range a.Group {
				ev[g.Field] = g.Value
			}
			out = e.observe(Hit{ID: c.r.ID, Name: c.r.Name, Event: ev, Time: h.Time}, out, depth+1)
		}
	}
	return out
}

// fieldFor resolves a group-by name through the rule's aliases for the hit.
func (r *Rule) fieldFor(name string, h Hit) string {
	if m, ok := r.Aliases[name]; ok {
		if f, ok := m[h.Name]; ok && h.Name != "" {
			return f
		}
		if f, ok := m[h.ID]; ok && h.ID != "" {
			return f
		}
	}
	return name
}

func valueString(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case bool:
		return strconv.FormatBool(x), true
	case fmt.Stringer:
		return x.String(), true
	}
	return fmt.Sprint(v), true
}

func (e *Engine) update(c *corr, h Hit) (Alert, bool) {
	r := c.r
	group, kb := e.groupBuf[:0], e.keyBuf[:0]
	for _, g := range r.GroupBy {
		s, ok := r.groupValue(g, h)
		if !ok {
			return Alert{}, false
		}
		group = append(group, GroupValue{Field: g, Value: s})
		kb = append(kb, s...)
		kb = append(kb, 0x1f)
	}
	e.groupBuf, e.keyBuf = group, kb
	var value string
	var num float64
	if r.Type.Numeric() {
		v, ok := h.Event.Get(r.fieldFor(r.Condition.Field, h))
		if !ok {
			return Alert{}, false
		}
		if num, ok = numericValue(v); !ok {
			return Alert{}, false
		}
	}
	if r.Type == ValueCount {
		v, ok := h.Event.Get(r.fieldFor(r.Condition.Field, h))
		if !ok {
			return Alert{}, false
		}
		if value, ok = valueString(v); !ok {
			return Alert{}, false
		}
	}
	hk := maphash.Bytes(e.seed, kb)
	st, ok := c.keys[hk]
	if ok && st.key != string(kb) {
		c.remove(st)
		e.evicted++
		ok = false
	}
	if !ok {
		if b := c.recent.Back(); len(c.keys) >= e.opts.MaxKeys && b != nil {
			c.remove(b)
			e.evicted++
		}
		st = &state{key: string(kb), hash: hk, group: slices.Clone(group)}
		if r.Type == Temporal || r.Type == TemporalOrdered {
			st.last = make([]time.Time, len(r.Rules))
		}
		c.recent.PushFront(st)
		c.keys[hk] = st
	} else {
		c.recent.Touch(st)
	}
	t := h.Time
	if t.After(st.newest) {
		st.newest = t
	}
	floor := st.newest.Add(-r.Timespan)
	if t.Before(floor) {
		return Alert{}, false // later than the window allows
	}
	var a Alert
	fired := false
	switch r.Type {
	case EventCount:
		i := sort.Search(len(st.times), func(i int) bool { return st.times[i].After(t) })
		st.times = append(st.times, time.Time{})
		copy(st.times[i+1:], st.times[i:])
		st.times[i] = t
		drop := 0
		for drop < len(st.times) && st.times[drop].Before(floor) {
			drop++
		}
		st.times = st.times[drop:]
		if n := len(st.times); r.Condition.holds(float64(n)) {
			a = Alert{Count: n, Start: st.times[0], End: st.times[n-1]}
			fired = true
		}
	case ValueCount:
		if prev, ok := st.values.get(value); !ok || t.After(prev) {
			st.values.set(value, t)
		}
		st.order = append(st.order, valueSeen{value, t})
		drop := 0
		for drop < len(st.order) && (st.order[drop].t.Before(floor) || st.values.len() > e.opts.MaxValues) {
			o := st.order[drop]
			if last, ok := st.values.get(o.v); ok && !last.After(o.t) {
				st.values.del(o.v)
			}
			drop++
		}
		st.order = st.order[drop:]
		if len(st.order) > 4*st.values.len()+64 {
			// Compact repeated sightings so the order slice stays
			// proportional to the distinct values.
			kept := st.order[:0]
			for _, o := range st.order {
				if last, _ := st.values.get(o.v); last.Equal(o.t) {
					kept = append(kept, o)
				}
			}
			st.order = kept
		}
		if n := st.values.len(); r.Condition.holds(float64(n)) {
			a = Alert{Count: n, Start: t, End: t}
			for v, seen := range st.values.all() {
				a.Values = append(a.Values, v)
				if seen.Before(a.Start) {
					a.Start = seen
				}
				if seen.After(a.End) {
					a.End = seen
				}
			}
			sort.Strings(a.Values)
			fired = true
		}
	case ValueSum, ValueAvg, ValuePercentile, ValueMedian:
		if st.num == nil {
			st.num = &numWindow{}
		}
		pct := r.Type == ValuePercentile || r.Type == ValueMedian
		st.num.add(t, num, pct)
		e.trimmed += uint64(st.num.expire(floor, e.opts.MaxSamples, pct))
		w := st.num
		if n := len(w.samples); n > 0 {
			if agg := w.aggregate(r); r.Condition.holds(agg) {
				a = Alert{Count: n, Value: agg, Start: w.samples[0].t, End: w.samples[n-1].t}
				fired = true
			}
		}
	case Temporal:
		for k, ref := range r.Rules {
			if ref == h.ID || ref == h.Name {
				if t.After(st.last[k]) {
					st.last[k] = t
				}
			}
		}
		n := 0
		a.Start, a.End = t, t
		for _, lt := range st.last {
			if lt.IsZero() || lt.Before(floor) {
				continue
			}
			n++
			if lt.Before(a.Start) {
				a.Start = lt
			}
			if lt.After(a.End) {
				a.End = lt
			}
		}
		if (r.Condition.empty() && n == len(r.Rules)) || (!r.Condition.empty() && r.Condition.holds(float64(n))) {
			a.Count = n
			fired = true
		}
	case TemporalOrdered:
		// last[k]: latest start time of a chain that has matched steps
		// 0..k in order. Walk positions backwards so one hit advances a
		// chain by one step only.
		for k := len(r.Rules) - 1; k >= 0; k-- {
			if r.Rules[k] != h.ID && r.Rules[k] != h.Name {
				continue
			}
			if k == 0 {
				if t.After(st.last[0]) || st.last[0].IsZero() {
					st.last[0] = t
				}
				continue
			}
			prev := st.last[k-1]
			if prev.IsZero() || prev.Before(t.Add(-r.Timespan)) || prev.After(t) {
				continue
			}
			if prev.After(st.last[k]) || st.last[k].IsZero() {
				st.last[k] = prev
			}
		}
		if end := st.last[len(r.Rules)-1]; !end.IsZero() && !end.Before(t.Add(-r.Timespan)) {
			a = Alert{Count: len(r.Rules), Start: end, End: t}
			fired = true
		}
	}
	if !fired {
		return Alert{}, false
	}
	a.Rule = r
	a.Group = st.group
	// A fired window starts over: the same events do not fire again.
	c.remove(st)
	return a, true
}

// Sweep drops keys with no hit since now minus their correlation's
// timespan. Call it periodically with the current event time.
func (e *Engine) Sweep(now time.Time) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.corrs {
		floor := now.Add(-c.r.Timespan)
		for st := c.recent.Back(); st != nil && st.newest.Before(floor); st = c.recent.Back() {
			c.remove(st)
			n++
		}
	}
	return n
}

// Stats reports state size.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{Evicted: e.evicted, Trimmed: e.trimmed}
	for _, c := range e.corrs {
		s.Keys += len(c.keys)
	}
	return s
}
