package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/bus"
	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/detect"
	"github.com/mcpsoc/mcpsoc/internal/detect/correlate"
	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/store"
	"github.com/mcpsoc/mcpsoc/rules"
	"github.com/prometheus/client_golang/prometheus"
)

// loadDetection builds the detection engine from the built-in rule packs
// (written to data_dir/rules/builtin so operators can read them) and the
// configured rule directories. Rules that fail to compile are logged and
// skipped; one bad rule never stops the others. set, when not nil, is the
// indicator set detection matches (the intel store's).
func loadDetection(cfg *config.Config, log *slog.Logger, set *ioc.Set) (*detect.Engine, error) {
	var dirs []string
	if !cfg.Detect.NoBuiltinRules {
		dir, err := rules.WriteTo(filepath.Join(cfg.DataDir, "rules", "builtin"))
		if err != nil {
			return nil, fmt.Errorf("writing the built-in rules: %w", err)
		}
		dirs = append(dirs, dir)
	}
	dirs = append(dirs, cfg.Detect.Rules...)
	opts := &detect.Options{DedupWindow: cfg.Detect.DedupWindow, Modes: map[string]detect.Mode{}}
	for id, m := range cfg.Detect.Modes {
		opts.Modes[id] = detect.Mode(m)
	}
	for _, sp := range cfg.Detect.Suppressions {
		opts.Suppressions = append(opts.Suppressions, detect.Suppression{
			Rule: sp.Rule, Field: sp.Field, Values: sp.Values, Reason: sp.Reason, Until: sp.Until})
	}
	// set is the intel store's matcher when serve has one: indicators
	// imported at runtime apply to the next event. detect.intel files are
	// matched too, without being stored.
	if set == nil && len(cfg.Detect.Intel) > 0 {
		set = ioc.NewSet()
	}
	for _, f := range cfg.Detect.Intel {
		inds, err := detect.ReadIntelFile(f)
		if err != nil {
			return nil, fmt.Errorf("intel %s: %w", f, err)
		}
		if err := set.Add(inds...); err != nil {
			return nil, fmt.Errorf("intel %s: %w", f, err)
		}
	}
	if set != nil {
		opts.Intel = set
		log.Info("threat intel loaded", "indicators", set.Len())
	}
	if cfg.Detect.Anomaly != "" {
		det, err := loadAnomalyConfig(cfg.Detect.Anomaly)
		if err != nil {
			return nil, err
		}
		opts.Anomaly = det
	}
	eng, bad, err := detect.Load(dirs, nil, opts)
	if err != nil {
		return nil, fmt.Errorf("loading rules: %w", err)
	}
	for _, e := range bad {
		log.Warn("rule not loaded", "file", e.File, "line", e.Line, "rule", e.RuleID, "reason", e.Reason)
	}
	st := eng.Stats()
	log.Info("detection ready", "rules", st.Rules, "correlations", st.Correlations, "rejected", len(bad))
	if b, err := os.ReadFile(statePath(cfg)); err == nil {
		var snap correlate.Snapshot
		if err := json.Unmarshal(b, &snap); err != nil {
			log.Warn("correlation state unreadable; starting with empty windows", "file", statePath(cfg), "error", err)
		} else {
			log.Info("correlation state restored", "groups", eng.Restore(snap), "taken", snap.Taken)
		}
	}
	return eng, nil
}

// statePath is where the correlation windows are saved across restarts.
func statePath(cfg *config.Config) string {
	return filepath.Join(cfg.DataDir, "detect", "correlation-state.json")
}

// saveState writes the correlation windows atomically.
func saveState(path string, eng *detect.Engine) error {
	b, err := json.Marshal(eng.Snapshot())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// detectFromBus runs detection as its own durable consumer of the bus, so
// it scales and restarts independently of storage, and stores the alerts
// it raises as events of kind alert.
func detectFromBus(ctx context.Context, b *bus.Bus, eng *detect.Engine, st store.Store, state string, log *slog.Logger, reg prometheus.Registerer) error {
	// The correlation windows are saved every 30 s and when detection
	// stops, so a restart resumes them.
	save := time.NewTicker(30 * time.Second)
	defer save.Stop()
	defer func() {
		if err := saveState(state, eng); err != nil {
			log.Error("saving correlation state", "error", err)
		}
	}()
	alerts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcpsoc_alerts_total", Help: "Alerts raised, by severity.",
	}, []string{"severity"})
	reg.MustRegister(alerts)
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	var latest time.Time
	return b.Consume(ctx, "detect", 1000, func(ctx context.Context, batch []bus.Delivery) error {
		var out []*event.Event
		for _, d := range batch {
			ev := new(event.Event)
			if err := ev.UnmarshalJSON(d.Data); err != nil {
				continue // the store consumer logs and counts these
			}
			if ev.Kind == event.KindAlert && ev.Dataset == alertDataset {
				continue // our own alerts are not evidence
			}
			if ev.Timestamp.After(latest) {
				latest = ev.Timestamp
			}
			for _, a := range eng.Process(ev) {
				alerts.WithLabelValues(a.SeverityName).Inc()
				aev, err := alertEvent(&a)
				if err != nil {
					log.Error("encoding an alert", "rule", a.Rule.ID, "error", err)
					continue
				}
				out = append(out, aev)
			}
		}
		select {
		case <-sweep.C:
			eng.Sweep(latest)
		default:
		}
		select {
		case <-save.C:
			if err := saveState(state, eng); err != nil {
				log.Error("saving correlation state", "error", err)
			}
		default:
		}
		if len(out) == 0 {
			return nil
		}
		_, err := st.Append(ctx, out)
		return err
	})
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
