package taxii

import (
	"testing"
)

// FuzzRequestParams feeds peers' paging tokens and Accept headers to the
// server's parsers.
func FuzzRequestParams(f *testing.F) {
	f.Add("eyJtIjoxLCJpIjoyfQ", "application/taxii+json;version=2.1")
	f.Add("", "application/taxii+json, */*;q=0.1")
	f.Add("!!", "application/taxii+json;version=")
	f.Fuzz(func(t *testing.T, next, accept string) {
		if c, err := decodeNext(next); err == nil {
			if back, err := decodeNext(encodeNext(c)); err != nil || *back != *c {
				t.Fatalf("cursor does not round-trip: %+v %+v %v", c, back, err)
			}
		}
		_ = acceptable(accept)
	})
}
