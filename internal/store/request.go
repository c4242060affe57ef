package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/query"
)

// SearchText is a search as people and agents write it: query text, time
// bounds as RFC 3339, a date, "now" or "now-24h", a page size and a cursor.
type SearchText struct {
	Query, From, To, Cursor string
	Limit                   int
}

// ParseSearch turns t into a SearchRequest, ANDing base (a query the caller
// always applies, such as "event.kind:alert") into the user's query. A bad
// query is a *query.Error; other problems name the parameter.
func ParseSearch(t SearchText, base string, now time.Time) (SearchRequest, error) {
	req := SearchRequest{Cursor: t.Cursor, Limit: t.Limit}
	if t.Limit < 0 {
		return req, errors.New("limit must be a positive integer")
	}
	q := t.Query
	switch {
	case base != "" && q != "":
		q = base + " AND (" + q + ")"
	case base != "":
		q = base
	}
	if q != "" {
		parsed, err := query.Parse(q)
		if err != nil {
			return req, err
		}
		req.Query = parsed
	}
	for _, b := range []struct {
		name, text string
		dst        *time.Time
	}{{"from", t.From, &req.From}, {"to", t.To, &req.To}} {
		if b.text == "" {
			continue
		}
		v, err := query.ParseTime(b.text, now)
		if err != nil {
			return req, fmt.Errorf("%s: %w", b.name, err)
		}
		*b.dst = v
	}
	return req, nil
}
