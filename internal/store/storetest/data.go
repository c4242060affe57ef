// Package storetest is the one test suite every store.Store backend must
// pass (store/sqlite and store/postgres run it), plus the synthetic event
// generator the suite and the benchmarks share. It is imported by tests
// only.
package storetest

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

// Base is the newest timestamp the suite's data set uses.
var Base = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

var (
	actions  = []string{"block", "pass", "deny", "allow"}
	users    = []string{"root", "admin", "adm1n", "alice", "bob", ""}
	hosts    = []string{"web-01", "web-02", "db-1", "fw-edge", ""}
	messages = []string{
		"Failed password for %s from %s port %d ssh2",
		"Accepted publickey for %s from %s port %d",
		"connection DENIED by policy for %s (%s:%d)",
		"ok %s %s %d",
		"100%% of quota used by %s_%s on %d",
		"",
	}
)

// Events returns n deterministic events spread over the ten days before
// Base, with the hot fields, multi-valued fields, JSON-only fields and
// absent fields the suite's queries exercise. Distinct seeds give disjoint
// events.
func Events(n int, seed uint64) []*event.Event {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]*event.Event, n)
	span := int64(10 * 24 * time.Hour / time.Second)
	for i := range out {
		ev := &event.Event{}
		ts := Base.Add(-time.Duration(r.Int64N(span))*time.Second - time.Duration(r.IntN(1000))*time.Microsecond)
		if i%17 == 0 && i > 0 {
			// Several events share a timestamp: the cursor must break
			// ties by id.
			ts = out[i-1].Timestamp
		}
		ev.Timestamp = ts
		ev.Kind = event.KindEvent
		ev.Dataset = []string{"pfsense.filterlog", "system.auth", "suricata.eve"}[r.IntN(3)]
		ev.Module, _, _ = strings.Cut(ev.Dataset, ".")
		ev.Action = actions[r.IntN(len(actions))]
		ev.Outcome = []string{"success", "failure", ""}[r.IntN(3)]
		ev.Severity = int64(r.IntN(5))
		var src netip.Addr
		switch r.IntN(5) {
		case 0:
			src = netip.AddrFrom4([4]byte{192, 0, 2, byte(r.IntN(16))})
		case 1:
			src = netip.AddrFrom4([4]byte{10, byte(r.IntN(3)), byte(r.IntN(4)), byte(r.IntN(250) + 1)})
		case 2:
			src = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", r.IntN(8)+1))
		case 3:
			src = netip.AddrFrom4([4]byte{198, 51, 100, byte(r.IntN(8))})
		}
		ev.Source = event.Endpoint{IP: src, Port: []int{0, 22, 443, 51514, 1024}[r.IntN(5)]}
		ev.Destination = event.Endpoint{IP: netip.AddrFrom4([4]byte{203, 0, 113, byte(r.IntN(4))}), Port: []int{0, 22, 80, 443, 1024, 3389, 8080}[r.IntN(7)]}
		ev.Rule.ID = []string{"", "1000000103", "2019401"}[r.IntN(3)]
		ev.Observer.Name = []string{"fw-1", "fw-2"}[r.IntN(2)]
		user := users[r.IntN(len(users))]
		ev.PutString("user.name", user)
		ev.PutString("host.name", hosts[r.IntN(len(hosts))])
		msg := messages[r.IntN(len(messages))]
		if msg != "" {
			ev.Message = fmt.Sprintf(msg, user, src, ev.Source.Port)
		}
		ev.Original = fmt.Sprintf("seed=%d i=%d %s", seed, i, ev.Message)
		ev.Provenance.SourceID = "test:storetest"
		ev.Provenance.Parser = "synthetic"
		ev.Provenance.IngestTime = Base.Add(time.Hour)
		if r.IntN(2) == 0 {
			ev.AddCategory("network")
		}
		if user != "" {
			ev.AddCategory("authentication")
		}
		if r.IntN(3) == 0 {
			ev.PutString("url.original", "/login?user="+user)
			ev.PutInt("http.response.status_code", []int64{200, 302, 403, 404, 500}[r.IntN(5)])
		}
		if src.IsValid() {
			ev.AddRelated("ip", src.String(), ev.Destination.IP.String())
		}
		ev.Put("labels.prod", r.IntN(2) == 0)
		ev.PutString("labels.env", []string{"prod", "staging", "Prod"}[r.IntN(3)])
		out[i] = ev
	}
	return out
}

// Sorted returns the ids of evs in search order: newest first by
// @timestamp (microseconds), then id descending.
func Sorted(evs []*event.Event) []string {
	type key struct {
		us int64
		id string
	}
	keys := make([]key, 0, len(evs))
	seen := map[string]bool{}
	for _, ev := range evs {
		r := store.MakeRow(ev, nil)
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		keys = append(keys, key{r.Time.UnixMicro(), r.ID})
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.us != b.us {
			if a.us > b.us {
				return -1
			}
			return 1
		}
		return strings.Compare(b.id, a.id)
	})
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	return ids
}
