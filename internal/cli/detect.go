package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/detect"
	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/rules"
	"github.com/prometheus/client_golang/prometheus"
)

// detector runs detection inside serve: it builds the engine from the
// built-in rule packs (written to data_dir/rules/builtin so operators can
// read them) and the configured rule directories, consumes the bus, keeps
// its learnt state in the store, and reloads the rules and the detect
// section of the config on SIGHUP or when their files change.
type detector struct {
	cfgPath string // "" when serve runs on the embedded defaults
	dataDir string
	st      store.Store
	log     *slog.Logger
	// intel, when not nil, is a long-lived indicator set (an intel
	// store's) that every engine, across reloads, matches; detect.intel
	// files are added to it (Add replaces, so a reload does not
	// duplicate).
	intel *ioc.Set

	reloads  *prometheus.CounterVec
	alerts   *prometheus.CounterVec
	events   prometheus.Counter
	reloadMu sync.Mutex // one reload at a time

	mu      sync.Mutex // held while a batch is processed and while the engine is swapped
	eng     *detect.Engine
	cfg     config.Detect
	bad     map[string]bool // rule errors the running set was loaded with
	printed string          // fingerprint of the files the running set came from

	lease stateLease // see detect_lease.go
}

// evictionCollector reports the detection state dropped because a bound
// was reached: correlation groups, anomaly keys, and dedup keys or
// correlation evidence. The correlation and anomaly counts restart when a
// reload builds a new engine, which Prometheus reads as a counter reset.
type evictionCollector struct{ d *detector }

var evictedDesc = prometheus.NewDesc("mcpsoc_detect_state_evicted_total",
	"Detection state dropped before its window ended because its bound was reached, by kind.",
	[]string{"state"}, nil)

func (c evictionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- evictedDesc }

func (c evictionCollector) Collect(ch chan<- prometheus.Metric) {
	c.d.mu.Lock()
	s := c.d.eng.Stats()
	c.d.mu.Unlock()
	for _, m := range []struct {
		state string
		n     uint64
	}{{"correlation", s.CorrelationEvicted}, {"anomaly", s.AnomalyEvicted}, {"dedup_evidence", s.Evicted}} {
		ch <- prometheus.MustNewConstMetric(evictedDesc, prometheus.CounterValue, float64(m.n), m.state)
	}
}

// stateKey is the detection state's key in the store's detect_state table.
const stateKey = "detect"

// newDetector loads the rules (rules that fail to compile are logged and
// skipped; one bad rule never stops the others) and restores the state
// saved by the last run.
func newDetector(ctx context.Context, cfgPath string, cfg *config.Config, st store.Store, intel *ioc.Set, log *slog.Logger, reg prometheus.Registerer) (*detector, error) {
	d := &detector{cfgPath: cfgPath, dataDir: cfg.DataDir, st: st, intel: intel, log: log,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpsoc_detect_reloads_total", Help: "Rule reloads, by result (ok, rejected).",
		}, []string{"result"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcpsoc_alerts_total", Help: "Alerts raised, by severity.",
		}, []string{"severity"}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mcpsoc_detect_events_total", Help: "Events evaluated by detection (counted once their alerts are stored).",
		}),
	}
	reg.MustRegister(d.reloads, d.alerts, d.events, evictionCollector{d})
	if !cfg.Detect.NoBuiltinRules {
		if _, err := rules.WriteTo(d.builtinDir()); err != nil {
			return nil, fmt.Errorf("writing the built-in rules: %w", err)
		}
	}
	eng, bad, printed, err := d.build(cfg.Detect)
	if err != nil {
		return nil, err
	}
	for _, e := range bad {
		log.Warn("rule not loaded", "file", e.File, "line", e.Line, "rule", e.RuleID, "reason", e.Reason)
	}
	d.eng, d.cfg, d.bad, d.printed = eng, cfg.Detect, badSet(bad), printed
	s := eng.Stats()
	log.Info("detection ready", "rules", s.Rules, "correlations", s.Correlations, "rejected", len(bad))
	d.restore(ctx)
	return d, nil
}

func (d *detector) builtinDir() string { return filepath.Join(d.dataDir, "rules", "builtin") }

func (d *detector) dirs(dc config.Detect) []string {
	var dirs []string
	if !dc.NoBuiltinRules {
		dirs = append(dirs, d.builtinDir())
	}
	return append(dirs, dc.Rules...)
}

// build compiles an engine from a detect config and fingerprints the files
// it read.
func (d *detector) build(dc config.Detect) (*detect.Engine, []*sigma.RuleError, string, error) {
	printed, err := d.fingerprint(dc)
	if err != nil {
		return nil, nil, "", err
	}
	opts := &detect.Options{DedupWindow: dc.DedupWindow, Modes: map[string]detect.Mode{}}
	for id, m := range dc.Modes {
		opts.Modes[id] = detect.Mode(m)
	}
	for _, sp := range dc.Suppressions {
		opts.Suppressions = append(opts.Suppressions, detect.Suppression{
			Rule: sp.Rule, Field: sp.Field, Values: sp.Values, Reason: sp.Reason, Until: sp.Until})
	}
	if set := d.intel; set != nil || len(dc.Intel) > 0 {
		if set == nil {
			set = ioc.NewSet()
		}
		for _, f := range dc.Intel {
			inds, err := detect.ReadIntelFile(f)
			if err != nil {
				return nil, nil, "", fmt.Errorf("intel %s: %w", f, err)
			}
			if err := set.Add(inds...); err != nil {
				return nil, nil, "", fmt.Errorf("intel %s: %w", f, err)
			}
		}
		opts.Intel = set
		d.log.Info("threat intel loaded", "indicators", set.Len())
	}
	if dc.Anomaly != "" {
		det, err := loadAnomalyConfig(dc.Anomaly)
		if err != nil {
			return nil, nil, "", err
		}
		opts.Anomaly = det
	}
	eng, bad, err := detect.Load(d.dirs(dc), nil, opts)
	if err != nil {
		return nil, bad, "", fmt.Errorf("loading rules: %w", err)
	}
	return eng, bad, printed, nil
}

// fingerprint summarizes the files a detect config reads (the config file,
// rule files, intel and anomaly files) by path, size and modification
// time: a change to any of them changes it.
func (d *detector) fingerprint(dc config.Detect) (string, error) {
	h := sha256.New()
	files, err := detect.RuleFiles(d.dirs(dc)...)
	if err != nil {
		return "", err
	}
	files = append(files, dc.Intel...)
	if dc.Anomaly != "" {
		files = append(files, dc.Anomaly)
	}
	if d.cfgPath != "" {
		files = append(files, d.cfgPath)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			fmt.Fprintf(h, "%s\x00missing\n", f)
			continue
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", f, fi.Size(), fi.ModTime().UnixNano())
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func badSet(bad []*sigma.RuleError) map[string]bool {
	m := map[string]bool{}
	for _, e := range bad {
		m[e.File+"\x00"+e.RuleID+"\x00"+e.Reason] = true
	}
	return m
}

// reload builds a new engine from the current files and, when it is valid,
// swaps it in, carrying over the state of every correlation whose
// definition is unchanged. A new rule set with an error the running one did
// not have (a rule that does not compile, a broken correlation reference,
// an invalid detect section) is rejected as a whole: the running engine
// keeps going.
func (d *detector) reload(reason string) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	err := d.doReload(reason)
	if err != nil {
		d.reloads.WithLabelValues("rejected").Inc()
		d.log.Error("rule reload rejected; the running rules stay in force", "trigger", reason, "error", err)
		return err
	}
	d.reloads.WithLabelValues("ok").Inc()
	return nil
}

// reloadFunc is the API's reload hook; nil when detection is disabled.
func (d *detector) reloadFunc() func() error {
	if d == nil {
		return nil
	}
	return func() error { return d.reload("api") }
}

func (d *detector) doReload(reason string) error {
	dc := d.cfg
	if d.cfgPath != "" {
		cfg, err := config.Load(d.cfgPath)
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			return err
		}
		if cfg.Detect.Disabled {
			return fmt.Errorf("detect.disabled needs a restart")
		}
		dc = cfg.Detect
	}
	eng, bad, printed, err := d.build(dc)
	if err != nil {
		return err
	}
	var fresh []string
	for _, e := range bad {
		if !d.bad[e.File+"\x00"+e.RuleID+"\x00"+e.Reason] {
			fresh = append(fresh, fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason))
		}
	}
	if len(fresh) > 0 {
		return fmt.Errorf("%d rule(s) do not compile: %s", len(fresh), strings.Join(fresh, "; "))
	}
	d.mu.Lock()
	kept := eng.TakeOver(d.eng)
	d.eng, d.cfg, d.bad, d.printed = eng, dc, badSet(bad), printed
	d.mu.Unlock()
	for _, c := range kept.Changed {
		d.log.Info("correlation changed; its windows start fresh", "rule", c)
	}
	s := eng.Stats()
	d.log.Info("detection reloaded", "trigger", reason, "rules", s.Rules, "correlations", s.Correlations,
		"groups_kept", kept.Groups, "changed", len(kept.Changed))
	return nil
}

// watch reloads on SIGHUP and when the fingerprint of the detection files
// changes (checked every detect.reload_interval).
func (d *detector) watch(ctx context.Context, every time.Duration) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	d.log.Info("watching detection rules", "sighup", true, "interval", every)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			_ = d.reload("SIGHUP")
		case <-tick:
			d.mu.Lock()
			dc, was := d.cfg, d.printed
			d.mu.Unlock()
			// The config file is part of the fingerprint, so a config
			// that now names other rule directories is caught through
			// the running detect section.
			now, err := d.fingerprint(dc)
			if err != nil || now == was {
				continue
			}
			if d.reload("files changed") != nil {
				// Do not retry the same broken files every tick.
				d.mu.Lock()
				d.printed = now
				d.mu.Unlock()
			}
		}
	}
}

// restore loads the state the last run saved: from the store, or once
// from the file older versions wrote under data_dir.
func (d *detector) restore(ctx context.Context) {
	d.watchStop(ctx)
	d.holdLease(ctx) // logs whether this instance or another saves
	var data []byte
	from := "store"
	if ss, ok := d.st.(store.StateStore); ok {
		blob, err := ss.GetState(ctx, stateKey)
		switch {
		case err == nil:
			data = blob.Data
		case !errors.Is(err, store.ErrNoState):
			d.log.Warn("detection state unreadable; starting empty", "error", err)
			return
		}
	}
	legacy := filepath.Join(d.dataDir, "detect", "correlation-state.json")
	if data == nil {
		b, err := os.ReadFile(legacy)
		if err != nil {
			return
		}
		data, from = b, legacy
	}
	s, err := detect.DecodeState(data)
	if err != nil {
		d.log.Warn("detection state unreadable; starting empty", "from", from, "error", err)
		return
	}
	d.mu.Lock()
	r := d.eng.RestoreState(s)
	d.mu.Unlock()
	for _, c := range r.Changed {
		d.log.Info("correlation changed since the state was saved; its windows start fresh", "rule", c)
	}
	d.log.Info("detection state restored", "from", from, "taken", s.Taken, "groups", r.Groups, "dedup", r.Dedup, "anomaly_keys", r.Anomaly)
	if from == legacy {
		if err := d.saveState(ctx); err == nil {
			_ = os.Remove(legacy)
		}
	}
}

// save writes the engine's state to the store when this instance holds the
// state lease (see detect_lease.go); otherwise it does nothing.
func (d *detector) save(ctx context.Context) error {
	err := d.saveState(ctx)
	if errors.Is(err, errLeaseHeld) {
		return nil // holdLease logged it
	}
	return err
}

// saveState is save, returning errLeaseHeld when another instance holds
// the lease.
func (d *detector) saveState(ctx context.Context) error {
	ss, ok := d.st.(store.StateStore)
	if !ok {
		return fmt.Errorf("the store keeps no state")
	}
	if !d.holdLease(ctx) {
		return errLeaseHeld
	}
	defer d.releaseLeaseIfStopping(ctx)
	d.mu.Lock()
	s := d.eng.State()
	d.mu.Unlock()
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return ss.PutState(ctx, stateKey, s.Version, b)
}

// detectFeed evaluates the events serve's bus consumer decoded (see
// consumeEvents), one batch at a time, and stores the alerts raised as
// events of kind alert. The state is saved every 30 s and when detection
// stops, so a restart (or another instance on the same database) resumes
// it.
type detectFeed struct {
	d           *detector
	save, sweep *time.Ticker
	latest      time.Time
}

func (d *detector) feed() *detectFeed {
	return &detectFeed{d: d, save: time.NewTicker(30 * time.Second), sweep: time.NewTicker(time.Minute)}
}

// process evaluates one batch. It returns nil once the batch's alerts are
// stored; an error means the batch is to be evaluated again.
func (f *detectFeed) process(ctx context.Context, batch []*event.Event) error {
	d := f.d
	var out []*event.Event
	seen := 0
	d.mu.Lock()
	eng := d.eng
	for _, ev := range batch {
		if ev.Kind == event.KindAlert && ev.Dataset == alertDataset {
			continue // our own alerts are not evidence
		}
		if ev.Timestamp.After(f.latest) {
			f.latest = ev.Timestamp
		}
		seen++
		for _, a := range eng.Process(ev) {
			d.alerts.WithLabelValues(a.SeverityName).Inc()
			aev, err := alertEvent(&a)
			if err != nil {
				d.log.Error("encoding an alert", "rule", a.Rule.ID, "error", err)
				continue
			}
			out = append(out, aev)
		}
	}
	select {
	case <-f.sweep.C:
		eng.Sweep(f.latest)
	default:
	}
	d.mu.Unlock()
	select {
	case <-f.save.C:
		if err := d.save(ctx); err != nil {
			d.log.Error("saving detection state", "error", err)
		}
	default:
	}
	if len(out) > 0 {
		if _, err := d.st.Append(ctx, out); err != nil {
			return err
		}
	}
	// Counted once the batch's alerts are stored, so a caller that sees
	// the count also finds the alerts.
	d.events.Add(float64(seen))
	return nil
}

// close saves the state when detection stops.
func (f *detectFeed) close(ctx context.Context) {
	f.save.Stop()
	f.sweep.Stop()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := f.d.save(sctx); err != nil {
		f.d.log.Error("saving detection state", "error", err)
	}
}

// alertDataset marks alerts MCPSoc raised itself.
const alertDataset = "mcpsoc.alert"

// alertEvent represents an alert as an ECS event of kind alert: rule,
// severity, ATT&CK and related entities are searchable fields, and the
// alert document itself is kept whole in mcpsoc.alert.
func alertEvent(a *detect.Alert) (*event.Event, error) {
	doc, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	ev := &event.Event{
		Timestamp: a.Time,
		Kind:      event.KindAlert,
		Dataset:   alertDataset,
		Module:    "mcpsoc",
		Message:   a.Title,
		Severity:  int64(a.Severity),
		Rule:      event.Rule{ID: a.Rule.ID, Name: a.Rule.Title},
	}
	ev.Category = []string{"intrusion_detection"}
	ev.Type = []string{"info"}
	sum := sha256.Sum256([]byte(a.ID))
	ev.Put("event.id", hex.EncodeToString(sum[:16]))
	ev.Put("mcpsoc.severity_id", int64(a.Severity))
	ev.Put("mcpsoc.alert", string(doc))
	ev.Put("mcpsoc.alert_level", a.SeverityName)
	if a.Shadow {
		ev.Put("mcpsoc.shadow", true)
	}
	ev.Put("tags", a.Tags)
	ev.Put("threat.technique.id", a.Techniques)
	var tactics []string
	for _, t := range a.Tactics {
		tactics = append(tactics, t.Name)
	}
	ev.Put("threat.tactic.name", tactics)
	related := map[string][]string{}
	for _, e := range a.Entities {
		switch e.Type {
		case "ip":
			related["related.ip"] = append(related["related.ip"], e.Value)
		case "host":
			related["related.hosts"] = append(related["related.hosts"], e.Value)
		case "user":
			related["related.user"] = append(related["related.user"], e.Value)
		case "hash":
			related["related.hash"] = append(related["related.hash"], e.Value)
		}
	}
	for k, v := range related {
		ev.Put(k, v)
	}
	return ev, nil
}
