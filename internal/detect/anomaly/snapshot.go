package anomaly

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Snapshot is the learned state of every detector (rate baselines,
// known values, recent beacon times), so a restart or a reload does not
// start the baselines from nothing.
type Snapshot struct {
	Version   int                      `json:"version"`
	Detectors map[string]DetectorState `json:"detectors,omitempty"`
}

// DetectorState is one detector's keys, most recently used first. Hash
// identifies the detector's configuration: state is restored only into a
// detector of the same name, kind and configuration.
type DetectorState struct {
	Kind string     `json:"kind"`
	Hash string     `json:"hash"`
	Keys []KeyState `json:"keys,omitempty"`
}

// KeyState is one group key's state; which fields are set depends on the
// detector kind.
type KeyState struct {
	Key string `json:"key"`
	// rate
	Bucket   time.Time `json:"bucket,omitzero"`
	Count    int       `json:"count,omitempty"`
	Closed   int       `json:"closed,omitempty"`
	Mean     float64   `json:"mean,omitempty"`
	Variance float64   `json:"variance,omitempty"`
	Fired    bool      `json:"fired,omitempty"`
	// first_seen
	Since  time.Time `json:"since,omitzero"`
	Values []string  `json:"values,omitempty"`
	Full   bool      `json:"full,omitempty"`
	// beacon
	Times   []time.Time `json:"times,omitempty"`
	FiredAt time.Time   `json:"fired_at,omitzero"`
}

const anomalySnapshotVersion = 1

func configHash(cfg any) string {
	b, _ := json.Marshal(cfg)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// each visits the entries of an LRU from the most recently used.
func (c *lru[V]) each(f func(k string, v V)) {
	for e := c.l.Front(); e != nil; e = e.Next() {
		x := e.Value.(*lruEntry[V])
		f(x.k, x.v)
	}
}

// Snapshot copies every detector's state. Safe while events are observed.
func (d *Detector) Snapshot() Snapshot {
	s := Snapshot{Version: anomalySnapshotVersion, Detectors: map[string]DetectorState{}}
	for _, r := range d.rates {
		ds := DetectorState{Kind: KindRate, Hash: configHash(r.cfg)}
		r.mu.Lock()
		r.keys.each(func(k string, st *rateState) {
			ds.Keys = append(ds.Keys, KeyState{Key: k, Bucket: st.bucket, Count: st.count, Closed: st.closed,
				Mean: st.mean, Variance: st.variance, Fired: st.fired})
		})
		r.mu.Unlock()
		s.Detectors[r.cfg.Name] = ds
	}
	for _, r := range d.firsts {
		ds := DetectorState{Kind: KindFirstSeen, Hash: configHash(r.cfg)}
		r.mu.Lock()
		r.keys.each(func(k string, st *firstState) {
			ks := KeyState{Key: k, Since: st.since, Full: st.full, Values: make([]string, 0, len(st.values))}
			for v := range st.values {
				ks.Values = append(ks.Values, v)
			}
			ds.Keys = append(ds.Keys, ks)
		})
		r.mu.Unlock()
		s.Detectors[r.cfg.Name] = ds
	}
	for _, r := range d.beacon {
		ds := DetectorState{Kind: KindBeacon, Hash: configHash(r.cfg)}
		r.mu.Lock()
		r.keys.each(func(k string, st *beaconState) {
			ds.Keys = append(ds.Keys, KeyState{Key: k, Times: append([]time.Time(nil), st.times...), FiredAt: st.fired})
		})
		r.mu.Unlock()
		s.Detectors[r.cfg.Name] = ds
	}
	return s
}

// Restore loads a snapshot into a detector that has not observed events
// yet and returns how many keys it restored. Detectors whose name, kind
// or configuration differ start empty; the detectors' key and value limits
// still apply.
func (d *Detector) Restore(s Snapshot) int {
	if s.Version != anomalySnapshotVersion {
		return 0
	}
	n := 0
	for _, r := range d.rates {
		ds, ok := s.Detectors[r.cfg.Name]
		if !ok || ds.Kind != KindRate || ds.Hash != configHash(r.cfg) {
			continue
		}
		r.mu.Lock()
		for i := len(ds.Keys) - 1; i >= 0; i-- { // oldest first
			k := ds.Keys[i]
			r.keys.put(k.Key, &rateState{bucket: k.Bucket, count: k.Count, closed: k.Closed, mean: k.Mean, variance: k.Variance, fired: k.Fired})
			n++
		}
		r.mu.Unlock()
	}
	for _, r := range d.firsts {
		ds, ok := s.Detectors[r.cfg.Name]
		if !ok || ds.Kind != KindFirstSeen || ds.Hash != configHash(r.cfg) {
			continue
		}
		r.mu.Lock()
		for i := len(ds.Keys) - 1; i >= 0; i-- {
			k := ds.Keys[i]
			st := &firstState{since: k.Since, full: k.Full, values: map[string]struct{}{}}
			for _, v := range k.Values {
				if len(st.values) >= r.cfg.MaxValues {
					st.full = true
					break
				}
				st.values[v] = struct{}{}
			}
			r.keys.put(k.Key, st)
			n++
		}
		r.mu.Unlock()
	}
	for _, r := range d.beacon {
		ds, ok := s.Detectors[r.cfg.Name]
		if !ok || ds.Kind != KindBeacon || ds.Hash != configHash(r.cfg) {
			continue
		}
		r.mu.Lock()
		for i := len(ds.Keys) - 1; i >= 0; i-- {
			k := ds.Keys[i]
			times := k.Times
			if limit := 4 * r.cfg.MinEvents; len(times) > limit {
				times = times[len(times)-limit:]
			}
			r.keys.put(k.Key, &beaconState{times: append([]time.Time(nil), times...), fired: k.FiredAt})
			n++
		}
		r.mu.Unlock()
	}
	return n
}
