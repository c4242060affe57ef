// Package feeds fetches threat-intelligence feeds by format (stix, taxii,
// misp-feed, misp, csv, text) into the intel store, once ('mcpsoc intel
// import', 'mcpsoc intel sync') or on a schedule inside serve. A failed
// sync is logged, counted in metrics and recorded in the store's feed
// state; it never stops the others or the process.
package feeds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/intel"
	"github.com/mcpsoc/mcpsoc/internal/intel/misp"
	"github.com/mcpsoc/mcpsoc/internal/intel/stix"
	"github.com/mcpsoc/mcpsoc/internal/intel/taxii"
	"github.com/mcpsoc/mcpsoc/internal/intel/textfeed"
	"github.com/prometheus/client_golang/prometheus"
)

// Formats are the accepted feed formats.
var Formats = []string{"stix", "taxii", "misp-feed", "misp", "csv", "text"}

// Fetched is what one fetch read.
type Fetched struct {
	Batch intel.Batch
	// Since is where the next incremental fetch may start (zero: the
	// format has no incremental fetch).
	Since time.Time
}

// location is the feed's URL or path.
func location(f *config.IntelFeed) string {
	if f.URL != "" {
		return f.URL
	}
	return f.Path
}

func isURL(s string) bool { return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") }

// Fetch reads a feed. since starts incremental formats (TAXII added_after,
// MISP timestamps) where the last sync ended.
func Fetch(ctx context.Context, f *config.IntelFeed, since time.Time) (Fetched, error) {
	hc := intel.NewHTTPClient(f.Timeout)
	loc := location(f)
	var out Fetched
	readAll := func() ([]byte, error) { return intel.ReadLocation(ctx, hc, loc, f.MaxBytes) }
	switch f.Type {
	case "stix":
		data, err := readAll()
		if err != nil {
			return out, err
		}
		b, _, err := stix.Read(data)
		out.Batch = b
		return out, err
	case "csv", "text":
		data, err := readAll()
		if err != nil {
			return out, err
		}
		t, err := textfeed.ParseType(f.IndicatorType)
		if err != nil {
			return out, err
		}
		o := &textfeed.Options{Type: t, Header: f.Header}
		if f.Delimiter != "" {
			o.Comma = []rune(f.Delimiter)[0]
		}
		if m := f.Mapping; m != nil {
			o.Mapping = &textfeed.Mapping{Value: m.Value, Type: m.Type, Confidence: m.Confidence, ValidUntil: m.ValidUntil,
				Description: m.Description, Labels: m.Labels, Ref: m.Ref}
		}
		if f.Type == "text" {
			out.Batch, err = textfeed.ReadText(strings.NewReader(string(data)), o)
		} else {
			out.Batch, err = textfeed.ReadCSV(strings.NewReader(string(data)), o)
		}
		return out, err
	case "taxii":
		c := &taxii.Client{APIKey: f.APIKey.Value(), Username: f.Username, Password: f.Password.Value(), HTTP: hc, MaxBytes: f.MaxBytes}
		root := loc
		if !strings.HasSuffix(root, "/") {
			root += "/"
		}
		res, err := c.Poll(ctx, root, f.Collection, &taxii.PollOptions{AddedAfter: since})
		out.Batch = res.Batch
		out.Since = since
		if res.AddedLast.After(since) {
			out.Since = res.AddedLast
		}
		return out, err
	case "misp-feed":
		get := func(ctx context.Context, name string) ([]byte, error) {
			if isURL(loc) {
				u, err := url.Parse(loc)
				if err != nil {
					return nil, err
				}
				u.Path = path.Join(u.Path, name)
				return intel.ReadLocation(ctx, hc, u.String(), f.MaxBytes)
			}
			return intel.ReadLocation(ctx, hc, filepath.Join(loc, name), f.MaxBytes)
		}
		started := time.Now()
		b, err := misp.ReadFeed(ctx, get, &misp.FeedOptions{Since: since})
		out.Batch = b
		if err == nil {
			out.Since = started.Add(-time.Minute) // manifest timestamps are in seconds
		}
		return out, err
	case "misp":
		started := time.Now()
		c := &misp.Client{BaseURL: loc, Key: f.APIKey.Value(), HTTP: hc, MaxBytes: f.MaxBytes}
		b, err := c.Search(ctx, &misp.SearchOptions{Since: since, Tags: f.Tags})
		out.Batch = b
		if err == nil {
			out.Since = started.Add(-time.Minute)
		}
		return out, err
	}
	return out, fmt.Errorf("unknown feed type %q (want %s)", f.Type, strings.Join(Formats, ", "))
}

// ApplyDefaults gives entries without a confidence the feed's, and
// entries without a valid_until now+ttl (ttl 0: none).
func ApplyDefaults(b *intel.Batch, confidence int, ttl time.Duration, now time.Time) {
	for i := range b.Entries {
		e := &b.Entries[i]
		if e.Confidence == 0 {
			e.Confidence = confidence
		}
		if e.ValidUntil.IsZero() && ttl > 0 {
			e.ValidUntil = now.Add(ttl).UTC()
		}
	}
}

// Metrics count syncs; register them once per registry.
type Metrics struct {
	Syncs      *prometheus.CounterVec
	Indicators *prometheus.CounterVec
	LastOK     *prometheus.GaugeVec
	Duration   *prometheus.HistogramVec
}

// NewMetrics registers the sync metrics on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpsoc_intel_syncs_total", Help: "Feed syncs, by feed and outcome (ok or error).",
		}, []string{"feed", "outcome"}),
		Indicators: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpsoc_intel_sync_indicators_total", Help: "Indicators seen by feed syncs, by feed and result (added, updated, skipped).",
		}, []string{"feed", "result"}),
		LastOK: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "mcpsoc_intel_sync_last_success_timestamp_seconds", Help: "When each feed last synced successfully.",
		}, []string{"feed"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mcpsoc_intel_sync_duration_seconds", Help: "Time a feed sync took.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 9),
		}, []string{"feed"}),
	}
	if reg != nil {
		reg.MustRegister(m.Syncs, m.Indicators, m.LastOK, m.Duration)
	}
	return m
}

// Syncer syncs configured feeds into a store.
type Syncer struct {
	store *intel.Store
	feeds []config.IntelFeed
	log   *slog.Logger
	m     *Metrics
	now   func() time.Time
}

// NewSyncer builds a syncer; m may be nil (metrics not kept), log nil
// (discarded).
func NewSyncer(st *intel.Store, feeds []config.IntelFeed, log *slog.Logger, m *Metrics) *Syncer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Syncer{store: st, feeds: feeds, log: log.With("component", "intel"), m: m, now: time.Now}
}

// ErrNoFeed is returned by Sync for a name no feed has.
var ErrNoFeed = errors.New("no such feed")

// Sync fetches one feed now and imports it; the outcome is recorded in
// the store's feed state and in metrics.
func (s *Syncer) Sync(ctx context.Context, name string) (intel.Result, error) {
	for i := range s.feeds {
		if s.feeds[i].Name == name {
			return s.sync(ctx, &s.feeds[i])
		}
	}
	return intel.Result{Source: name}, fmt.Errorf("%w %q", ErrNoFeed, name)
}

func (s *Syncer) sync(ctx context.Context, f *config.IntelFeed) (intel.Result, error) {
	start := s.now()
	st, err := s.store.FeedState(ctx, f.Name)
	if err != nil {
		return intel.Result{Source: f.Name}, err
	}
	st.LastTry = start
	res, err := s.fetchImport(ctx, f, &st)
	s.m.Duration.WithLabelValues(f.Name).Observe(s.now().Sub(start).Seconds())
	if err != nil {
		st.LastError = err.Error()
		s.m.Syncs.WithLabelValues(f.Name, "error").Inc()
	} else {
		st.LastOK, st.LastError = start, ""
		s.m.Syncs.WithLabelValues(f.Name, "ok").Inc()
		s.m.LastOK.WithLabelValues(f.Name).Set(float64(start.Unix()))
	}
	s.m.Indicators.WithLabelValues(f.Name, "added").Add(float64(res.Added))
	s.m.Indicators.WithLabelValues(f.Name, "updated").Add(float64(res.Updated))
	s.m.Indicators.WithLabelValues(f.Name, "skipped").Add(float64(len(res.Skipped)))
	if serr := s.store.SetFeedState(context.WithoutCancel(ctx), st); serr != nil && err == nil {
		err = serr
	}
	return res, err
}

func (s *Syncer) fetchImport(ctx context.Context, f *config.IntelFeed, st *intel.FeedState) (intel.Result, error) {
	got, err := Fetch(ctx, f, st.Since)
	if err != nil {
		return intel.Result{Source: f.Name, Skipped: got.Batch.Skipped}, err
	}
	ApplyDefaults(&got.Batch, f.Confidence, f.TTL, s.now())
	res, err := s.store.Import(ctx, f.Name, got.Batch)
	if err != nil {
		return res, err
	}
	if !got.Since.IsZero() {
		st.Since = got.Since
	}
	return res, nil
}

// Run syncs every feed at start and then on its interval until ctx ends.
// Failures are logged and counted; Run returns nil on cancellation.
func (s *Syncer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := range s.feeds {
		f := &s.feeds[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, f)
		}()
	}
	wg.Wait()
	return nil
}

func (s *Syncer) loop(ctx context.Context, f *config.IntelFeed) {
	log := s.log.With("feed", f.Name, "type", f.Type)
	// Start where the last run left off: a restart does not refetch a feed
	// synced less than an interval ago.
	wait := time.Duration(0)
	if st, err := s.store.FeedState(ctx, f.Name); err == nil && !st.LastOK.IsZero() {
		wait = max(0, f.Interval-s.now().Sub(st.LastOK))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := s.sync(ctx, f)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("intel feed sync failed", "error", err)
		default:
			log.Info("intel feed synced", "added", res.Added, "updated", res.Updated, "skipped", len(res.Skipped))
		}
		t.Reset(f.Interval)
	}
}

// Import reads one input of a format (a file, URL or directory) for
// 'mcpsoc intel import'; f carries the format in Type and the location in
// URL or Path, plus the import's options.
func Import(ctx context.Context, st *intel.Store, f *config.IntelFeed, now time.Time) (intel.Result, error) {
	got, err := Fetch(ctx, f, time.Time{})
	if err != nil {
		return intel.Result{Source: f.Name, Skipped: got.Batch.Skipped}, err
	}
	ApplyDefaults(&got.Batch, f.Confidence, f.TTL, now)
	return st.Import(ctx, f.Name, got.Batch)
}

// DefaultSourceName names a source after its location: a URL's host, a
// file's base name.
func DefaultSourceName(loc string) string {
	if isURL(loc) {
		if u, err := url.Parse(loc); err == nil && u.Host != "" {
			return u.Hostname()
		}
	}
	return filepath.Base(filepath.Clean(loc))
}
