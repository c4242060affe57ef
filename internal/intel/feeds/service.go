package feeds

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/intel"
	"github.com/mcpsoc/mcpsoc/internal/intel/taxii"
	"github.com/prometheus/client_golang/prometheus"
)

// Service is the intel side of serve: the store, its feeds on their
// schedule, the refresh that picks up other processes' imports, expiry,
// and the TAXII endpoint.
type Service struct {
	Store  *intel.Store
	syncer *Syncer
	cfg    config.Intel
	taxii  http.Handler
	log    *slog.Logger
}

// DBPath is the store's file for a config.
func DBPath(c *config.Config) string {
	if c.Intel.DB != "" {
		return c.Intel.DB
	}
	return filepath.Join(c.DataDir, "intel", "intel.db")
}

// Open opens the store (loading its indicators into set, which detection
// matches against) and prepares feeds and the TAXII endpoint. reg may be
// nil.
func Open(ctx context.Context, c *config.Config, set *ioc.Set, log *slog.Logger, reg prometheus.Registerer) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := intel.Open(ctx, DBPath(c), &intel.Options{Set: set})
	if err != nil {
		return nil, err
	}
	s := &Service{Store: st, cfg: c.Intel, log: log.With("component", "intel")}
	s.syncer = NewSyncer(st, c.Intel.Feeds, log, NewMetrics(reg))
	if reg != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mcpsoc_intel_indicators", Help: "Indicators held by the detection matcher.",
		}, func() float64 { return float64(st.Set().Len()) }))
	}
	if !c.Intel.TAXII.Disabled {
		s.taxii = taxii.NewServer(st, &taxii.ServerOptions{Prefix: "/taxii2/",
			Keys: config.NewKeySet(c.Intel.TAXII.APIKeys, c.API.APIKeys), MaxPage: c.Intel.TAXII.MaxPage, Logger: log})
	}
	return s, nil
}

// Close closes the store. A nil Service (intel disabled) does nothing.
func (s *Service) Close() error {
	if s == nil {
		return nil
	}
	return s.Store.Close()
}

// Set is the matcher the store keeps in step; nil for a nil Service.
func (s *Service) Set() *ioc.Set {
	if s == nil {
		return nil
	}
	return s.Store.Set()
}

// TAXII is the /taxii2/ handler, nil when disabled.
func (s *Service) TAXII() http.Handler {
	if s == nil || s.taxii == nil {
		return nil
	}
	return s.taxii
}

// Syncer runs the configured feeds.
func (s *Service) Syncer() *Syncer { return s.syncer }

// Run syncs feeds on schedule, refreshes the matcher from other writers
// and prunes expired indicators until ctx ends. Errors are logged, never
// returned: intel trouble does not stop serve.
func (s *Service) Run(ctx context.Context) error {
	go func() { _ = s.syncer.Run(ctx) }()
	n, _ := s.Store.Len(ctx)
	s.log.Info("intel store open", "indicators", n, "feeds", len(s.cfg.Feeds), "taxii", s.taxii != nil)
	refresh := time.NewTicker(s.cfg.RefreshInterval)
	defer refresh.Stop()
	prune := time.NewTicker(s.cfg.PruneInterval)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-refresh.C:
			if n, err := s.Store.Refresh(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("intel refresh", "error", err)
			} else if n > 0 {
				s.log.Info("intel indicators loaded from other writers", "indicators", n)
			}
		case <-prune.C:
			if n, err := s.Store.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("intel prune", "error", err)
			} else if n > 0 {
				s.log.Info("expired intel indicators pruned", "indicators", n)
			}
		}
	}
}
