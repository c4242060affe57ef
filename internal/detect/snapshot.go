package detect

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/anomaly"
	"github.com/mcpsoc/mcpsoc/internal/detect/correlate"
)

// State is everything the engine has learnt that a restart, a reload or
// another process taking over should not forget: the correlation windows,
// the dedup windows (so a repeat is not raised again after a restart) and
// the anomaly baselines. The evidence kept for correlation alerts (event
// ids) is not part of it: after a restart a correlation alert lists only
// the events seen since.
type State struct {
	// Version of the state format.
	Version int `json:"version"`
	// Taken is when the state was copied.
	Taken       time.Time          `json:"taken"`
	Correlation correlate.Snapshot `json:"correlation"`
	// Dedup maps a dedup key to the event time of the last alert raised
	// with it.
	Dedup   map[string]time.Time `json:"dedup,omitempty"`
	Anomaly *anomaly.Snapshot    `json:"anomaly,omitempty"`
}

// stateVersion is the current State.Version.
const stateVersion = 2

// Restored says what RestoreState or TakeOver carried over.
type Restored struct {
	// Groups are correlation group keys restored.
	Groups int
	// Dedup are dedup keys restored.
	Dedup int
	// Anomaly are anomaly detector keys restored.
	Anomaly int
	// Changed are correlations that held state under the same id but
	// whose definition changed: they start with empty windows.
	Changed []string
}

// State copies the engine's learnt state. It is safe to call while events
// are processed.
func (e *Engine) State() State {
	s := State{Version: stateVersion, Taken: time.Now().UTC()}
	if e.corr != nil {
		s.Correlation = e.corr.Snapshot()
	}
	e.mu.Lock()
	s.Dedup = make(map[string]time.Time, len(e.dedup))
	for k, t := range e.dedup {
		s.Dedup[k] = t
	}
	e.mu.Unlock()
	if e.opts.Anomaly != nil {
		a := e.opts.Anomaly.Snapshot()
		s.Anomaly = &a
	}
	return s
}

// RestoreState loads state saved by State into an engine that has not
// processed events yet. Correlations and anomaly detectors whose
// definition changed start fresh; the engine's limits apply.
func (e *Engine) RestoreState(s State) Restored {
	var r Restored
	if s.Version != stateVersion {
		return r
	}
	if e.corr != nil {
		for _, c := range e.corr.Changed(s.Correlation) {
			r.Changed = append(r.Changed, ruleLabel(c))
		}
		r.Groups = e.corr.Restore(s.Correlation)
	}
	if e.opts.DedupWindow > 0 {
		e.mu.Lock()
		for k, t := range s.Dedup {
			if len(e.dedup) >= e.opts.MaxDedupKeys {
				break
			}
			if _, ok := e.dedup[k]; !ok {
				e.dedup[k] = t
				r.Dedup++
			}
		}
		e.mu.Unlock()
	}
	if e.opts.Anomaly != nil && s.Anomaly != nil {
		r.Anomaly = e.opts.Anomaly.Restore(*s.Anomaly)
	}
	return r
}

// TakeOver moves the state of old, the engine being replaced by a reload,
// into e before e processes events: what RestoreState carries, plus the
// evidence of correlations whose definition is unchanged and the
// counters. When both engines share one anomaly detector its baselines
// are kept as they are. Call it while old no longer processes events.
func (e *Engine) TakeOver(old *Engine) Restored {
	s := old.State()
	if old.opts.Anomaly == e.opts.Anomaly {
		s.Anomaly = nil // shared: nothing to copy
	}
	r := e.RestoreState(s)
	keep := map[string]bool{}
	for _, c := range e.corrs {
		if oc := old.byRef[ruleKeyOf(c)]; oc != nil && oc.Hash == c.Hash {
			keep[c.ID+"\x00"+c.Name] = true
		}
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	// Oldest first, so the groups keep their order in e's list.
	for ev := old.recent.Back(); ev != nil; {
		prev := old.recent.Prev(ev)
		k := ev.key
		if i := strings.IndexByte(k, 0x1f); i >= 0 && keep[k[:i]] || i < 0 && keep[k] {
			old.dropEvidence(ev)
			ev.hash = maphash.String(e.seed, k)
			if cur := e.evidence[ev.hash]; cur != nil {
				e.dropEvidence(cur)
			}
			e.evidence[ev.hash] = ev
			e.recent.PushFront(ev)
		}
		ev = prev
	}
	st := old.stats
	e.stats.Events += st.Events
	e.stats.Alerts += st.Alerts
	e.stats.Shadow += st.Shadow
	e.stats.Suppressed += st.Suppressed
	e.stats.Deduplicated += st.Deduplicated
	e.stats.Evicted += st.Evicted
	return r
}

func ruleKeyOf(c *correlate.Rule) string {
	if c.ID != "" {
		return c.ID
	}
	return c.Name
}

func ruleLabel(c *correlate.Rule) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// DecodeState reads a State from JSON. It also accepts the correlation
// snapshot alone, as written before dedup and anomaly state were kept.
func DecodeState(b []byte) (State, error) {
	var probe struct {
		Version      int             `json:"version"`
		Correlations json.RawMessage `json:"correlations"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return State{}, err
	}
	if probe.Version == 1 && probe.Correlations != nil {
		var snap correlate.Snapshot
		if err := json.Unmarshal(b, &snap); err != nil {
			return State{}, err
		}
		return State{Version: stateVersion, Taken: snap.Taken, Correlation: snap}, nil
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, err
	}
	if s.Version != stateVersion {
		return State{}, fmt.Errorf("detection state version %d, want %d", s.Version, stateVersion)
	}
	return s, nil
}
