package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/api"
	"github.com/mcpsoc/mcpsoc/internal/bus"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/demo"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/ingest"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/servers/soc"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/internal/store/postgres"
	"github.com/mcpsoc/mcpsoc/internal/store/sqlite"
	"github.com/mcpsoc/mcpsoc/internal/telemetry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

func init() { register("serve", newServeCmd) }

func newServeCmd() *cobra.Command {
	var cfgPath, dataDir, listen string
	var demoData bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the SOC: ingest, storage, search, API, metrics and health, connected MCP servers",
		Long: `Run the SOC. With no --config, embedded defaults run the product: state under
./data (SQLite store, embedded NATS JetStream bus) and the API on
127.0.0.1:8080. Flags override the config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			if dataDir != "" {
				cfg.DataDir = dataDir
			}
			if listen != "" {
				cfg.API.Listen = listen
			}
			if err := cfg.Validate(); err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			return serve(cmd.Context(), cmd, cfgPath, cfg, demoData)
		},
	}
	cmd.Flags().BoolVar(&demoData, "demo", false, "seed a sample multi-source attack scenario, timed to end now (once per data directory)")
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "YAML config `file` (default: embedded defaults)")
	cmd.Flags().StringVar(&dataDir, "data", "", "data `directory` (overrides data_dir)")
	cmd.Flags().StringVar(&listen, "listen", "", "API listen `address` host:port (overrides api.listen)")
	return cmd
}

// group runs components until one fails or ctx ends, then stops them all.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

func newGroup(ctx context.Context) *group {
	g := &group{}
	g.ctx, g.cancel = context.WithCancel(ctx)
	return g
}

func (g *group) Go(name string, f func(context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		err := f(g.ctx)
		if err != nil && g.ctx.Err() == nil {
			g.once.Do(func() { g.err = fmt.Errorf("%s: %w", name, err) })
		}
		g.cancel() // one component ending ends the process
	}()
}

func (g *group) Wait() error {
	g.wg.Wait()
	return g.err
}

func serve(ctx context.Context, cmd *cobra.Command, cfgPath string, cfg *config.Config, demoData bool) error {
	log, err := telemetry.NewLogger(cmd.ErrOrStderr(), cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	reg := telemetry.NewRegistry()
	version, _ := buildVersion()
	pipelineGC()

	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	if ss, ok := st.(*sqlite.Store); ok {
		registerSegmentMetrics(reg, ss)
	}
	defer st.Close()
	b, err := bus.Open(ctx, bus.Options{URL: cfg.Bus.URL, DataDir: cfg.DataDir, MaxBytes: cfg.Bus.MaxBytes,
		MaxAge: cfg.Bus.MaxAge, SyncAlways: cfg.Bus.Sync == "always", Logger: log, Registerer: reg})
	if err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	defer b.Close()
	pipe := ingest.NewPipeline(b, &ingest.PipelineOptions{Logger: log, Registerer: reg})
	keys, keyFile, err := ingestKeys(cfg)
	if err != nil {
		return err
	}
	if demoData {
		if err := seedDemo(ctx, cfg.DataDir, pipe, log); err != nil {
			return fmt.Errorf("seeding the demo: %w", err)
		}
	}
	var syslogs []*ingest.Syslog
	for _, sc := range cfg.Ingest.Syslog {
		s, err := pipe.ListenSyslog(sc)
		if err != nil {
			return err
		}
		syslogs = append(syslogs, s)
	}
	offsets, err := ingest.OpenOffsets(filepath.Join(cfg.DataDir, "ingest", "offsets.json"))
	if err != nil {
		return err
	}
	var tailers []*ingest.Tailer
	for _, fc := range cfg.Ingest.Files {
		t, err := pipe.NewTailer(fc, offsets)
		if err != nil {
			return err
		}
		tailers = append(tailers, t)
	}

	intelSvc, err := openIntel(ctx, cfg, log, reg) // nil when intel.disabled
	if err != nil {
		return err
	}
	defer intelSvc.Close()
	var det *detector
	if !cfg.Detect.Disabled {
		if det, err = newDetector(ctx, cfgPath, cfg, st, intelSvc.Set(), log, reg); err != nil {
			return err
		}
	}

	mgr := mcpx.NewManager(cfg.MCP.Servers, &mcpx.ManagerOptions{
		Logger: log, Registerer: reg, ClientName: "mcpsoc", ClientVersion: version,
	})
	apiSrv := api.New(api.Options{
		Logger: log, Registry: reg, MCP: mgr, Events: st,
		Ingest: pipe.PushHandler(ingest.PushOptions{Keys: keys, MaxBodyBytes: cfg.Ingest.MaxBodyBytes}),
		MCPServer: soc.NewWithIndicators(st, intelIndicators(intelSvc), nil, &mcpx.ServerOptions{Logger: log}).HTTPHandler(&mcpx.HTTPOptions{
			AllowedHosts: cfg.API.AllowedHosts, MaxBodyBytes: cfg.API.MaxBodyBytes, Logger: log}),
		MCPKeys: keys,
		APIKeys: cfg.API.APIKeys, AllowedHosts: cfg.API.AllowedHosts, MaxBodyBytes: cfg.API.MaxBodyBytes,
		TAXII: intelSvc.TAXII(), ReloadDetection: det.reloadFunc(),
	})
	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return fmt.Errorf("api listener: %w", err)
	}
	scheme := "http"
	if cfg.API.TLS.Enabled() {
		scheme = "https"
	}
	attrs := []any{"version", version, "api", scheme + "://" + ln.Addr().String(), "data_dir", cfg.DataDir,
		"store", cfg.Store.Driver, "mcp_servers", len(cfg.MCP.Servers), "syslog", len(syslogs), "files", len(tailers)}
	if keyFile != "" {
		attrs = append(attrs, "ingest_key_file", keyFile)
	}
	log.Info("mcpsoc serving", attrs...)

	g := newGroup(ctx)
	g.Go("mcp", mgr.Run)
	for _, s := range syslogs {
		g.Go("syslog", s.Serve)
	}
	for _, t := range tailers {
		g.Go("file", t.Run)
	}
	g.Go("event-consumer", func(ctx context.Context) error { return consumeEvents(ctx, b, st, det, log, reg) })
	if det != nil {
		g.Go("detection-reload", func(ctx context.Context) error { return det.watch(ctx, cfg.Detect.ReloadInterval) })
	}
	if intelSvc != nil {
		g.Go("intel", intelSvc.Run)
	}
	g.Go("retention", func(ctx context.Context) error { return retention(ctx, cfg.Store, st, log) })
	g.Go("ready", func(ctx context.Context) error {
		if mgr.WaitReady(ctx) == nil {
			apiSrv.SetReady(true)
			log.Info("ready")
		}
		<-ctx.Done()
		return nil
	})
	g.Go("api", func(ctx context.Context) error {
		srv := &http.Server{Handler: apiSrv, ReadHeaderTimeout: api.ReadHeaderTimeout}
		errc := make(chan error, 1)
		go func() {
			if cfg.API.TLS.Enabled() {
				errc <- srv.ServeTLS(ln, cfg.API.TLS.CertFile, cfg.API.TLS.KeyFile)
			} else {
				errc <- srv.Serve(ln)
			}
		}()
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	err = g.Wait()
	log.Info("shut down")
	return err
}

func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (store.Store, error) {
	opts := &store.Options{Logger: log, TimeRangeRequiredAbove: cfg.Store.TimeRangeRequiredAbove, SegmentRows: cfg.Store.SegmentRows}
	switch cfg.Store.Driver {
	case "postgres":
		s, err := postgres.Open(ctx, cfg.Store.DSN.Value(), opts)
		if err != nil {
			return nil, fmt.Errorf("postgres store: %w", err)
		}
		return s, nil
	default:
		s, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "events.db"), opts)
		if err != nil {
			return nil, fmt.Errorf("sqlite store: %w", err)
		}
		return s, nil
	}
}

// registerSegmentMetrics exports the SQLite store's segment files: a
// growing count of unsealed segments or of failed seals means searches
// scan more and more unindexed rows.
func registerSegmentMetrics(reg prometheus.Registerer, s *sqlite.Store) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mcpsoc_store_segments", Help: "SQLite segment files, the open one included.",
		}, func() float64 { return float64(s.SegmentStats().Files) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mcpsoc_store_segments_unsealed", Help: "Full SQLite segments whose indexes are not built yet (normally 0 or 1).",
		}, func() float64 { return float64(s.SegmentStats().Unsealed) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "mcpsoc_store_seal_failures_total", Help: "SQLite segment seals that failed (retried at the next segment).",
		}, func() float64 { return float64(s.SegmentStats().SealFailures) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "mcpsoc_store_last_seal_seconds", Help: "How long the last SQLite segment seal took.",
		}, func() float64 { return s.SegmentStats().LastSeal.Seconds() }),
	)
}

// ingestKeys returns the keys that may push events. With none configured
// it reads, or creates on first start, a random key in data_dir/ingest.key
// (mode 0600), so pushing is authenticated from the first run and
// 'mcpsoc ingest' on the same machine finds the key.
func ingestKeys(cfg *config.Config) (keys []config.Secret, file string, err error) {
	keys = append(append(keys, cfg.Ingest.APIKeys...), cfg.API.APIKeys...)
	if len(keys) > 0 {
		return keys, "", nil
	}
	file = filepath.Join(cfg.DataDir, "ingest.key")
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		var raw [24]byte
		_, _ = rand.Read(raw[:])
		b = []byte(hex.EncodeToString(raw[:]))
		if err := os.WriteFile(file, append(b, '\n'), 0o600); err != nil {
			return nil, "", fmt.Errorf("writing the ingest key: %w", err)
		}
	} else if err != nil {
		return nil, "", fmt.Errorf("reading the ingest key: %w", err)
	}
	return []config.Secret{config.NewSecret(strings.TrimSpace(string(b)))}, file, nil
}

// consumeEvents moves events from the bus into the store and through
// detection (det nil: detection is off). One durable consumer decodes each
// event once for both. A batch is acknowledged on the bus only after the
// store committed it and detection evaluated it and stored its alerts; a
// crash in between redelivers the batch, the store skips the ids it
// already holds, and detection's alerts for events it evaluates again are
// the same alerts (same ids), dropped by its dedup window or by the store.
//
// The three steps run as a pipeline, each on its own batch: the next batch
// is decoded while one is being stored and the one before is in detection.
// At most three batches are in the pipeline, so a slow detection slows
// storage down to its pace but never holds more than that.
func consumeEvents(ctx context.Context, b *bus.Bus, st store.Store, det *detector, log *slog.Logger, reg prometheus.Registerer) error {
	undecodable := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mcpsoc_store_undecodable_total", Help: "Bus records that were not events (logged and skipped).",
	})
	stored := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "mcpsoc_store_events_total", Help: "Events newly written to the store.",
	})
	reg.MustRegister(undecodable, stored)
	// Earlier versions ran detection on a consumer of its own; it is
	// dropped, detection now reads from this one.
	if n, ok, err := b.DeleteConsumer(ctx, "detect"); err != nil {
		log.Warn("removing the previous version's detection consumer", "error", err)
	} else if ok {
		log.Info("removed the previous version's detection consumer", "messages_it_had_not_evaluated", n)
	}

	type handed struct {
		evs  []store.Encoded
		done func(error)
	}
	toStore, toDetect := make(chan handed), make(chan handed)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // store
		defer wg.Done()
		defer close(toDetect)
		for h := range toStore {
			n, err := st.AppendEncoded(ctx, h.evs)
			switch {
			case err != nil:
				h.done(err)
			case det == nil:
				stored.Add(float64(n))
				h.done(nil)
			default:
				stored.Add(float64(n))
				toDetect <- h
			}
		}
	}()
	if det != nil {
		wg.Add(1)
		go func() { // detection
			defer wg.Done()
			feed := det.feed()
			defer feed.close(ctx)
			for h := range toDetect {
				evs := make([]*event.Event, len(h.evs))
				for i := range h.evs {
					evs[i] = h.evs[i].Event
				}
				h.done(feed.process(ctx, evs))
			}
		}()
	}
	err := b.ConsumeAsync(ctx, "store", storeBatchSize, 3, func(ctx context.Context, batch []bus.Delivery, done func(error)) {
		evs := make([]store.Encoded, 0, len(batch))
		fields := 0 // extension fields of the last event: room made for as many
		for _, d := range batch {
			ev := new(event.Event)
			ev.Grow(fields)
			if err := ev.UnmarshalJSON(d.Data); err != nil {
				undecodable.Inc()
				log.Error("bus record is not an event; skipped", "message", d.ID, "error", err)
				continue
			}
			fields = ev.Len()
			// The bus bytes are the event's encoding: the store writes
			// them as they are.
			evs = append(evs, store.Encoded{Event: ev, JSON: d.Data})
		}
		if p, ok := st.(store.Preparer); ok {
			p.PrepareEncoded(evs)
		}
		toStore <- handed{evs, done}
	})
	close(toStore)
	wg.Wait()
	return err
}

// storeBatchSize is how many events the store consumer takes at once: one
// store transaction each. Large transactions amortize the index pages
// every commit rewrites (most of an append's cost).
const storeBatchSize = 5000

// pipelineGC makes the collector run less often than Go's default (a
// cycle whenever the heap doubled): every event allocates a parse, an
// encoding and a decode, and under sustained ingest the collector took
// about an eighth of serve's CPU. An operator's GOGC or GOMEMLIMIT wins.
func pipelineGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(300)
	}
}

// retention applies the store's age and size limits every ten minutes,
// and gives stores with housekeeping (partitions ahead of time, WAL
// checkpoints) their turn.
func retention(ctx context.Context, cfg config.Store, st store.Store, log *slog.Logger) error {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if m, ok := st.(store.Maintainer); ok {
			if err := m.Maintain(ctx); err != nil && ctx.Err() == nil {
				log.Warn("store maintenance", "error", err)
			}
		}
		if cfg.MaxAge > 0 {
			if n, err := st.DeleteBefore(ctx, time.Now().Add(-cfg.MaxAge)); err != nil {
				log.Warn("retention by age", "error", err)
			} else if n > 0 {
				log.Info("retention deleted old events", "events", n)
			}
		}
		if cfg.MaxBytes > 0 {
			if n, err := st.TrimToSize(ctx, cfg.MaxBytes); err != nil {
				log.Warn("retention by size", "error", err)
			} else if n > 0 {
				log.Info("retention trimmed events", "events", n)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// seedDemo publishes the demo scenario once per data directory; a marker
// file records that it was done.
func seedDemo(ctx context.Context, dataDir string, pipe *ingest.Pipeline, log *slog.Logger) error {
	marker := filepath.Join(dataDir, "demo-seeded")
	if b, err := os.ReadFile(marker); err == nil {
		log.Info("demo data already seeded; delete the marker to seed again", "seeded_at", strings.TrimSpace(string(b)), "marker", marker)
		return nil
	}
	now := time.Now()
	srcs := demo.Generate(now, uint64(now.UnixNano()))
	for _, s := range srcs {
		if err := pipe.Seed(ctx, ingest.Source{Kind: "demo", Name: s.Name}, s.Format, strings.NewReader(s.String())); err != nil {
			return err
		}
	}
	log.Info("demo scenario seeded", "events", demo.Count(srcs),
		"try", "mcpsoc events search 'source.ip:"+demo.Scanner+"' or 'event.dataset:modsecurity.audit'")
	return os.WriteFile(marker, []byte(now.UTC().Format(time.RFC3339)+"\n"), 0o600)
}
