package correlate

import (
	"iter"
	"time"
)

// valueSet holds value_count's distinct values of one group and when each
// was last seen. Most groups see few values (one source, a handful of
// ports) and many groups are new, so it is a short slice searched in order
// until it passes smallValues, and a map from then on: a new group costs
// one small slice instead of a map.
type valueSet struct {
	small []valueSeen
	m     map[string]time.Time
}

// smallValues is the most values a valueSet keeps in its slice.
const smallValues = 16

func (s *valueSet) len() int {
	if s.m != nil {
		return len(s.m)
	}
	return len(s.small)
}

func (s *valueSet) get(v string) (time.Time, bool) {
	if s.m != nil {
		t, ok := s.m[v]
		return t, ok
	}
	for i := range s.small {
		if s.small[i].v == v {
			return s.small[i].t, true
		}
	}
	return time.Time{}, false
}

func (s *valueSet) set(v string, t time.Time) {
	if s.m != nil {
		s.m[v] = t
		return
	}
	for i := range s.small {
		if s.small[i].v == v {
			s.small[i].t = t
			return
		}
	}
	if len(s.small) < smallValues {
		if s.small == nil {
			s.small = make([]valueSeen, 0, 2)
		}
		s.small = append(s.small, valueSeen{v, t})
		return
	}
	s.m = make(map[string]time.Time, 2*smallValues)
	for _, x := range s.small {
		s.m[x.v] = x.t
	}
	s.small = nil
	s.m[v] = t
}

func (s *valueSet) del(v string) {
	if s.m != nil {
		delete(s.m, v)
		return
	}
	for i := range s.small {
		if s.small[i].v == v {
			s.small = append(s.small[:i], s.small[i+1:]...)
			return
		}
	}
}

// all yields every value and its time, in no particular order.
func (s *valueSet) all() iter.Seq2[string, time.Time] {
	return func(yield func(string, time.Time) bool) {
		if s.m != nil {
			for v, t := range s.m {
				if !yield(v, t) {
					return
				}
			}
			return
		}
		for _, x := range s.small {
			if !yield(x.v, x.t) {
				return
			}
		}
	}
}
