package intel

import (
	"context"
	"net/netip"
	"sync"
)

// memStore is an in-memory Indicators for tests: exact values in a map,
// CIDR records scanned for containment, as the Lookup contract asks.
type memStore struct {
	mu    sync.RWMutex
	exact map[string][]Record
	cidrs []Record
	calls int
	err   error
}

var _ Indicators = (*memStore)(nil)

func newMemStore(recs ...Record) *memStore {
	m := &memStore{exact: map[string][]Record{}}
	for _, r := range recs {
		m.add(r)
	}
	return m
}

func (m *memStore) add(r Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.exact[r.Value] = append(m.exact[r.Value], r)
	if r.Type == "cidr" {
		m.cidrs = append(m.cidrs, r)
	}
}

func (m *memStore) Lookup(ctx context.Context, value string) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.calls++
	m.mu.Unlock()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.err != nil {
		return nil, m.err
	}
	out := append([]Record(nil), m.exact[value]...)
	if a, err := netip.ParseAddr(value); err == nil {
		for _, r := range m.cidrs {
			if p, err := netip.ParsePrefix(r.Value); err == nil && p.Contains(a) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}
