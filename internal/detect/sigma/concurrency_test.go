package sigma

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestConcurrentMatch runs Match from several goroutines while lanes are
// still being built; with -race it checks the engine's sharing.
func TestConcurrentMatch(t *testing.T) {
	e := loadTestdata(t, nil)
	events := genEvents(2000, 21, (*eventGen).mixed)
	want := make([][]string, len(events))
	ref := loadTestdata(t, nil)
	for i, ev := range events {
		want[i] = matchIDs(ref.Match(MapEvent(ev), nil))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var buf []Match
			for i := range events {
				k := (i + g*500) % len(events)
				buf = e.Match(MapEvent(events[k]), buf[:0])
				if d := cmp.Diff(want[k], matchIDs(buf)); d != "" {
					errs <- d
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for d := range errs {
		t.Errorf("concurrent result differs:\n%s", d)
	}
}
