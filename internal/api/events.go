package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/query"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

// EventStore is what the API reads of the event store.
type EventStore interface {
	Search(ctx context.Context, req store.SearchRequest) (store.Page, error)
	Get(ctx context.Context, id string) (store.Record, error)
}

// eventView is a stored event as the API returns it: its id and the ECS
// document.
type eventView struct {
	ID    string          `json:"id"`
	Event json.RawMessage `json:"event"`
}

// searchEvents serves GET /api/v1/events?q=&from=&to=&limit=&cursor=.
func (s *Server) searchEvents(w http.ResponseWriter, r *http.Request) {
	s.search(w, r, "", func(rec store.Record) (any, error) {
		b, err := rec.Event.MarshalJSON()
		return eventView{ID: rec.ID, Event: b}, err
	}, "events")
}

// searchAlerts serves GET /api/v1/alerts: the same search, over the alerts
// detection stored, answering with the alert documents.
func (s *Server) searchAlerts(w http.ResponseWriter, r *http.Request) {
	s.search(w, r, "event.kind:alert AND event.dataset:mcpsoc.alert", func(rec store.Record) (any, error) {
		doc, _ := rec.Event.Get("mcpsoc.alert")
		text, _ := doc.(string)
		if !json.Valid([]byte(text)) {
			return nil, errors.New("stored alert without its document")
		}
		return json.RawMessage(text), nil
	}, "alerts")
}

// search runs a search request, ANDing base into the user's query, and
// answers with one page of items under key.
func (s *Server) search(w http.ResponseWriter, r *http.Request, base string, view func(store.Record) (any, error), key string) {
	if s.opts.Events == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "no event store is configured")
		return
	}
	v := r.URL.Query()
	limit := 0
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "bad_limit", "limit must be a positive integer")
			return
		}
		limit = n
	}
	req, err := store.ParseSearch(store.SearchText{Query: v.Get("q"), From: v.Get("from"), To: v.Get("to"),
		Cursor: v.Get("cursor"), Limit: limit}, base, time.Now())
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			writeError(w, http.StatusBadRequest, "bad_query", qe.Error())
		} else {
			writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		}
		return
	}
	page, err := s.opts.Events.Search(r.Context(), req)
	if err != nil {
		s.storeError(w, err)
		return
	}
	out := make([]any, 0, len(page.Records))
	for _, rec := range page.Records {
		item, err := view(rec)
		if err != nil {
			s.storeError(w, err)
			return
		}
		out = append(out, item)
	}
	writeJSON(w, http.StatusOK, map[string]any{key: out, "next": page.Next})
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	if s.opts.Events == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "no event store is configured")
		return
	}
	rec, err := s.opts.Events.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, err)
		return
	}
	b, err := rec.Event.MarshalJSON()
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, eventView{ID: rec.ID, Event: b})
}

// storeError maps store errors to HTTP: what the caller can fix is said,
// anything else is logged under an id.
func (s *Server) storeError(w http.ResponseWriter, err error) {
	var qe *query.Error
	switch {
	case errors.As(err, &qe):
		writeError(w, http.StatusBadRequest, "bad_query", qe.Error())
	case errors.Is(err, store.ErrTimeRangeRequired):
		writeError(w, http.StatusBadRequest, "time_range_required", "this store is large: give from/to or an @timestamp range in the query")
	case errors.Is(err, store.ErrBadCursor):
		writeError(w, http.StatusBadRequest, "bad_cursor", "the cursor is not valid for this search")
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no event with that id")
	default:
		id := writeError(w, http.StatusInternalServerError, "internal", "the search failed; see the server log")
		s.log.Error("event store", "error", err, "error_id", id)
	}
}
