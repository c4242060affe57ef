package correlate

import (
	"hash/maphash"
	"math"
	"time"
)

// Snapshot is the windowed state of every correlation, in a form that can
// be written to disk and read back, so a restart does not forget the first
// nine of ten failed logins.
type Snapshot struct {
	// Version of the snapshot format.
	Version int `json:"version"`
	// Taken is when the snapshot was made.
	Taken time.Time `json:"taken"`
	// Correlations maps a correlation's id (or name) to its groups, most
	// recently active first.
	Correlations map[string][]GroupState `json:"correlations"`
	// Hashes maps the same keys to Rule.Hash of the rule the state was
	// kept for; Restore skips groups of a rule whose definition changed.
	// Snapshots without hashes (written before they existed) restore by
	// id alone.
	Hashes map[string]string `json:"hashes,omitempty"`
}

// GroupState is one group-by key's window.
type GroupState struct {
	Key    string       `json:"key"`
	Group  []GroupValue `json:"group,omitempty"`
	Newest time.Time    `json:"newest"`
	Times  []time.Time  `json:"times,omitempty"`  // event_count
	Values []ValueTime  `json:"values,omitempty"` // value_count, in arrival order
	Last   []time.Time  `json:"last,omitempty"`   // temporal kinds, one per referenced rule
	// Samples are the numeric types' window, in event-time order.
	Samples []Sample `json:"samples,omitempty"`
}

// Sample is one value of a value_sum, value_avg or value_percentile window.
type Sample struct {
	Time  time.Time `json:"t"`
	Value float64   `json:"v"`
}

// ValueTime is a value_count value and when it was last seen.
type ValueTime struct {
	Value string    `json:"v"`
	Time  time.Time `json:"t"`
}

// snapshotVersion is the current Snapshot.Version.
const snapshotVersion = 1

func ruleKey(r *Rule) string {
	if r.ID != "" {
		return r.ID
	}
	return r.Name
}

// Snapshot copies the engine's state. It is safe to call while events are
// observed.
func (e *Engine) Snapshot() Snapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Snapshot{Version: snapshotVersion, Taken: time.Now().UTC(), Correlations: map[string][]GroupState{}, Hashes: map[string]string{}}
	for _, c := range e.corrs {
		var groups []GroupState
		for st := c.recent.Front(); st != nil; st = c.recent.Next(st) {
			g := GroupState{Key: st.key, Group: append([]GroupValue(nil), st.group...), Newest: st.newest,
				Times: append([]time.Time(nil), st.times...), Last: append([]time.Time(nil), st.last...)}
			if st.num != nil {
				g.Samples = make([]Sample, len(st.num.samples))
				for i, x := range st.num.samples {
					g.Samples[i] = Sample{Time: x.t, Value: x.v}
				}
			}
			for _, v := range st.order {
				if t, ok := st.values.get(v.v); ok && t.Equal(v.t) {
					g.Values = append(g.Values, ValueTime{Value: v.v, Time: v.t})
				}
			}
			groups = append(groups, g)
		}
		if len(groups) > 0 {
			s.Correlations[ruleKey(c.r)] = groups
			s.Hashes[ruleKey(c.r)] = c.r.Hash
		}
	}
	return s
}

// Changed lists the correlations that had state in s under the same id
// but another definition (Rule.Hash): Restore starts them fresh.
func (e *Engine) Changed(s Snapshot) []*Rule {
	var out []*Rule
	for _, c := range e.corrs {
		k := ruleKey(c.r)
		if h, ok := s.Hashes[k]; ok && h != c.r.Hash && len(s.Correlations[k]) > 0 {
			out = append(out, c.r)
		}
	}
	return out
}

// Restore loads state saved by Snapshot into an engine that has not
// observed anything yet, and returns how many groups it restored. Groups of
// correlations the engine no longer has, whose definition changed, or
// whose shape no longer fits the rule (a temporal rule that now references another number of rules), are
// skipped; the engine's limits still apply.
func (e *Engine) Restore(s Snapshot) int {
	if s.Version != snapshotVersion {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.corrs {
		groups := s.Correlations[ruleKey(c.r)]
		if h, ok := s.Hashes[ruleKey(c.r)]; ok && h != c.r.Hash {
			continue
		}
		temporal := c.r.Type == Temporal || c.r.Type == TemporalOrdered
		// Oldest first, so PushFront leaves the most recent at the front.
		for i := len(groups) - 1; i >= 0; i-- {
			g := groups[i]
			hk := maphash.String(e.seed, g.Key)
			if _, dup := c.keys[hk]; dup || len(c.keys) >= e.opts.MaxKeys {
				continue
			}
			if temporal && len(g.Last) != len(c.r.Rules) {
				continue
			}
			st := &state{key: g.Key, hash: hk, group: g.Group, newest: g.Newest, times: g.Times}
			if temporal {
				st.last = g.Last
			}
			if c.r.Type == ValueCount {
				for _, v := range g.Values {
					if st.values.len() >= e.opts.MaxValues {
						break
					}
					st.values.set(v.Value, v.Time)
					st.order = append(st.order, valueSeen{v: v.Value, t: v.Time})
				}
			}
			if c.r.Type.Numeric() {
				pct := c.r.Type == ValuePercentile || c.r.Type == ValueMedian
				st.num = &numWindow{}
				for _, x := range g.Samples {
					if !math.IsNaN(x.Value) && !math.IsInf(x.Value, 0) {
						st.num.add(x.Time, x.Value, pct)
					}
				}
				e.trimmed += uint64(st.num.expire(time.Time{}, e.opts.MaxSamples, pct))
			}
			if c.r.Type == EventCount && len(st.times) > e.opts.MaxEvents {
				st.times = st.times[len(st.times)-e.opts.MaxEvents:]
			}
			c.recent.PushFront(st)
			c.keys[hk] = st
			n++
		}
	}
	return n
}
