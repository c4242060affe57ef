package store

import (
	"context"
	"fmt"
)

// Searcher is the search half of Store.
type Searcher interface {
	Search(ctx context.Context, req SearchRequest) (Page, error)
}

// Each pages through every event req selects, newest first, calling fn on
// each, and stops after max events (max <= 0: no bound). truncated reports
// that events were left when it stopped at max.
func Each(ctx context.Context, s Searcher, req SearchRequest, max int, fn func(Record)) (truncated bool, err error) {
	n := 0
	for {
		page, err := s.Search(ctx, req)
		if err != nil {
			return false, fmt.Errorf("searching the MCPSoc store: %w", err)
		}
		for i, r := range page.Records {
			fn(r)
			if n++; max > 0 && n >= max {
				return i < len(page.Records)-1 || page.Next != "", nil
			}
		}
		if page.Next == "" {
			return false, nil
		}
		req.Cursor = page.Next
	}
}
