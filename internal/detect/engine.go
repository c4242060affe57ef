package detect

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/anomaly"
	"github.com/mcpsoc/mcpsoc/internal/detect/correlate"
	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/detect/sigma"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/lru"
)

// Event is what the engine reads: a value by ECS field name. *event.Event
// and sigma.MapEvent satisfy it.
type Event = sigma.Event

// Mode says what happens to a rule's detections.
type Mode string

// Rule modes.
const (
	// ModeEnabled raises alerts (the default).
	ModeEnabled Mode = "enabled"
	// ModeDisabled drops the rule's matches: no alerts and no hits for
	// correlations.
	ModeDisabled Mode = "disabled"
	// ModeShadow evaluates the rule and raises its alerts with Shadow set,
	// to be stored but not notified; its matches still feed correlations.
	ModeShadow Mode = "shadow"
)

// IOCRuleID is the rule id of threat-intel alerts, usable in Modes and
// Suppressions.
const IOCRuleID = "ioc"

// Suppression drops alerts of a rule whose event carries one of the values
// in a field: an allow-list entry such as "rule X, source.ip in
// 10.0.0.0/8".
type Suppression struct {
	// Rule is a rule id or name, or "*" for every rule (IOCRuleID for
	// threat-intel alerts).
	Rule string `yaml:"rule" json:"rule"`
	// Field is the event field compared (for correlation alerts, a
	// group-by field, then the last event's field).
	Field string `yaml:"field" json:"field"`
	// Values are alternatives: a CIDR block (matches IP values inside it),
	// a glob with '*' wildcards, or an exact value; case-insensitive.
	Values []string `yaml:"values" json:"values"`
	// Reason is recorded for operators.
	Reason string `yaml:"reason,omitempty" json:"reason,omitempty"`
	// Until ends the suppression; zero means permanent.
	Until time.Time `yaml:"until,omitempty" json:"until,omitzero"`

	prefixes []netip.Prefix
	patterns []string
}

// Options configure an Engine. Nil means defaults.
type Options struct {
	// Modes sets rules (by id or name, IOCRuleID for threat intel) enabled,
	// disabled or shadow. Rules not listed are enabled.
	Modes map[string]Mode
	// Suppressions drop matching alerts before dedup.
	Suppressions []Suppression
	// DedupWindow is how long, in event time, a repeat of an alert (same
	// rule, same dedup key) is not raised again. Zero means 5 minutes;
	// negative disables deduplication.
	DedupWindow time.Duration
	// MaxDedupKeys bounds dedup state (default 100,000); when full, keys
	// older than the window are dropped, then the oldest.
	MaxDedupKeys int
	// Intel is matched against every event when set. Indicators added to it
	// at runtime apply to the next event.
	Intel *ioc.Set
	// Anomaly runs baseline detectors on every event when set; findings
	// become alerts of kind anomaly with rule id "anomaly:<detector name>".
	Anomaly *anomaly.Detector
	// IntelMinConfidence skips indicators below this confidence.
	IntelMinConfidence int
	// Correlate bounds correlation state.
	Correlate *correlate.Options
	// Now is the clock for Alert.Created and for events without a
	// timestamp; nil means time.Now.
	Now func() time.Time
}

// Stats count what the engine did.
type Stats struct {
	Events       uint64 `json:"events"`
	Alerts       uint64 `json:"alerts"`
	Shadow       uint64 `json:"shadow"`
	Suppressed   uint64 `json:"suppressed"`
	Deduplicated uint64 `json:"deduplicated"`
	// Evicted counts dedup keys and correlation evidence groups dropped
	// before their window ended because their maps were full.
	Evicted uint64 `json:"evicted"`
	// CorrelationEvicted and AnomalyEvicted count groups and keys those
	// engines dropped for their limits (since the engine was built).
	CorrelationEvicted uint64 `json:"correlation_evicted"`
	AnomalyEvicted     uint64 `json:"anomaly_evicted"`
	Rules              int    `json:"rules"`
	Correlations       int    `json:"correlations"`
	Indicators         int    `json:"indicators"`
}

// Engine runs every detection on each event. Process is safe for concurrent
// use, but correlation windows assume events of one group-by key arrive
// from one goroutine in roughly event-time order.
type Engine struct {
	sig   *sigma.Engine
	corr  *correlate.Engine
	corrs []*correlate.Rule
	// refs maps a base rule id or name to the correlations referencing it.
	refs   map[string][]*correlate.Rule
	byRef  map[string]*correlate.Rule
	intel  *ioc.Set
	opts   Options
	supp   []Suppression
	nrules int

	mu    sync.Mutex
	dedup map[string]time.Time // dedup key → event time of the last raised alert
	// evidence files each correlation group's recent hits under a seeded
	// hash of its key (correlation id and name, group values): a uint64
	// key is cheaper to hash, compare and delete than the string. A
	// different group under the same hash, which the random seed makes
	// about impossible, pushes the other out (counted as evicted).
	evidence map[uint64]*evidence
	seed     maphash.Seed
	// recent orders the evidence groups, most recently hit first, so a
	// full map drops its idlest group without a scan.
	recent lru.List[evidence, *evidence]
	// longest is the longest correlation timespan: evidence idle longer
	// is expired rather than evicted.
	longest time.Duration
	keyBuf  []byte
	stats   Stats
	pool    sync.Pool
	views   sync.Pool // of *eventView
}

// evidence keeps the recent triggering events of one correlation key.
type evidence struct {
	key      string
	hash     uint64        // maphash of key, its index in Engine.evidence
	hits     []evidenceHit // in arrival order
	entities []Entity
	// one holds the first hit, so a group hit once (most groups of a
	// scan) costs no slice of its own.
	one   [1]evidenceHit
	links lru.Links[evidence]
}

// Links returns the group's place in the engine's recency list.
func (ev *evidence) Links() *lru.Links[evidence] { return &ev.links }

type evidenceHit struct {
	t  time.Time
	id string
}

// last is the event time of the group's latest hit (zero when none).
func (ev *evidence) last() time.Time {
	if len(ev.hits) == 0 {
		return time.Time{}
	}
	return ev.hits[len(ev.hits)-1].t
}

const maxEvidence = 64

// New builds an engine over compiled rules and correlation rules (either
// may be empty). Correlation references are checked as correlate.New does.
func New(rs *sigma.Ruleset, corrs []*correlate.Rule, opts *Options) (*Engine, error) {
	if rs == nil {
		rs = sigma.NewRuleset(nil)
	}
	e := &Engine{
		sig:      sigma.NewEngine(rs),
		corrs:    corrs,
		refs:     map[string][]*correlate.Rule{},
		byRef:    map[string]*correlate.Rule{},
		dedup:    map[string]time.Time{},
		evidence: map[uint64]*evidence{},
		seed:     maphash.MakeSeed(),
		nrules:   len(rs.Rules),
	}
	if opts != nil {
		e.opts = *opts
	}
	if e.opts.DedupWindow == 0 {
		e.opts.DedupWindow = 5 * time.Minute
	}
	if e.opts.MaxDedupKeys <= 0 {
		e.opts.MaxDedupKeys = 100_000
	}
	if e.opts.Now == nil {
		e.opts.Now = time.Now
	}
	e.intel = e.opts.Intel
	for id, m := range e.opts.Modes {
		switch m {
		case ModeEnabled, ModeDisabled, ModeShadow:
		default:
			return nil, fmt.Errorf("rule %q: unknown mode %q (want enabled, disabled or shadow)", id, m)
		}
	}
	var errs []error
	for i, s := range e.opts.Suppressions {
		c, err := compileSuppression(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("suppression %d: %w", i+1, err))
			continue
		}
		e.supp = append(e.supp, c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(corrs) > 0 {
		c, err := correlate.New(corrs, rs.Rules, e.opts.Correlate)
		if err != nil {
			return nil, err
		}
		e.corr = c
		for _, r := range corrs {
			e.longest = max(e.longest, r.Timespan)
			for _, ref := range r.Rules {
				e.refs[ref] = append(e.refs[ref], r)
			}
			if r.ID != "" {
				e.byRef[r.ID] = r
			}
			if r.Name != "" {
				e.byRef[r.Name] = r
			}
		}
	}
	e.pool.New = func() any { s := make([]sigma.Match, 0, 4); return &s }
	e.views.New = func() any { return new(eventView) }
	return e, nil
}

// Load reads rules and correlations from directories (see RuleFiles) and
// builds an engine.
// Rules that fail to compile are returned (one bad rule never stops the
// others); err is for unreadable roots or correlation reference errors.
func Load(dirs []string, sigmaOpts *sigma.Options, opts *Options) (*Engine, []*sigma.RuleError, error) {
	files, err := RuleFiles(dirs...)
	if err != nil {
		return nil, nil, err
	}
	rs := sigma.NewRuleset(sigmaOpts)
	var corrs []*correlate.Rule
	var cerrs []*sigma.RuleError
	if len(files) > 0 {
		if err := rs.LoadDir(files...); err != nil {
			return nil, rs.Errors, err
		}
		corrs, cerrs, err = correlate.Load(files...)
	}
	bad := append(rs.Errors, cerrs...)
	if err != nil {
		return nil, bad, err
	}
	e, err := New(rs, corrs, opts)
	return e, bad, err
}

func compileSuppression(s Suppression) (Suppression, error) {
	if s.Rule == "" || s.Field == "" || len(s.Values) == 0 {
		return s, fmt.Errorf("rule, field and values are required")
	}
	s.prefixes, s.patterns = nil, nil
	for _, v := range s.Values {
		if strings.Contains(v, "/") {
			if p, err := netip.ParsePrefix(strings.TrimSpace(v)); err == nil {
				s.prefixes = append(s.prefixes, p.Masked())
				continue
			}
		}
		s.patterns = append(s.patterns, strings.ToLower(v))
	}
	return s, nil
}

func (s *Suppression) applies(rule RuleRef, now time.Time) bool {
	if !s.Until.IsZero() && !now.Before(s.Until) {
		return false
	}
	return s.Rule == "*" || s.Rule == rule.ID || (rule.Name != "" && s.Rule == rule.Name)
}

func (s *Suppression) matchValue(v string) bool {
	if len(s.prefixes) > 0 {
		if a, err := netip.ParseAddr(v); err == nil {
			a = a.Unmap()
			for _, p := range s.prefixes {
				if p.Contains(a) {
					return true
				}
			}
		}
	}
	lv := strings.ToLower(v)
	for _, p := range s.patterns {
		if strings.Contains(p, "*") {
			if ok, _ := path.Match(strings.ReplaceAll(p, "/", "\x00"), strings.ReplaceAll(lv, "/", "\x00")); ok {
				return true
			}
		} else if p == lv {
			return true
		}
	}
	return false
}

func (s *Suppression) match(ev Event) bool {
	v, ok := ev.Get(s.Field)
	if !ok {
		return false
	}
	switch x := v.(type) {
	case []string:
		for _, e := range x {
			if s.matchValue(e) {
				return true
			}
		}
		return false
	case []any:
		for _, e := range x {
			if str, ok := scalarString(e); ok && s.matchValue(str) {
				return true
			}
		}
		return false
	}
	str, ok := scalarString(v)
	return ok && s.matchValue(str)
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// EventTime returns an event's @timestamp, or ok false.
func EventTime(ev Event) (time.Time, bool) {
	if e, ok := ev.(*event.Event); ok {
		return e.Timestamp, !e.Timestamp.IsZero()
	}
	v, ok := ev.Get("@timestamp")
	if !ok {
		return time.Time{}, false
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

func (e *Engine) mode(id, name string) Mode {
	if m, ok := e.opts.Modes[id]; ok && id != "" {
		return m
	}
	if m, ok := e.opts.Modes[name]; ok && name != "" {
		return m
	}
	return ModeEnabled
}

// Process evaluates one event and returns the alerts it raises: Sigma
// matches (unless only correlations use the rule), correlations that fire,
// and threat-intel hits, after modes, suppressions and deduplication.
func (e *Engine) Process(ev Event) []Alert {
	now := e.opts.Now()
	t, ok := EventTime(ev)
	if !ok {
		t = now
	}
	// Rules, correlations and entities read the event through a view:
	// its fields are read once for all of them.
	view := e.views.Get().(*eventView)
	view.reset(ev)
	bufp := e.pool.Get().(*[]sigma.Match)
	matches := e.sig.Match(view, (*bufp)[:0])
	defer func() {
		clear(matches)
		*bufp = matches[:0]
		e.pool.Put(bufp)
		view.reset(nil)
		e.views.Put(view)
	}()

	var out []Alert
	var evID string
	var ents []Entity
	entsDone := false
	lazyID := func() {
		if evID == "" {
			evID = EventID(ev)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	lazy := func() {
		lazyID()
		if !entsDone {
			ents, entsDone = Entities(view), true
		}
	}
	e.stats.Events++
	for _, m := range matches {
		r := m.Rule
		mode := e.mode(r.ID, r.Name)
		if mode == ModeDisabled {
			continue
		}
		if e.corr != nil {
			lazyID()
			h := correlate.Hit{ID: r.ID, Name: r.Name, Event: view, Time: t}
			e.remember(h, evID, func() []Entity { lazy(); return ents })
			for _, ca := range e.corr.Observe(h) {
				out = e.emitCorrelation(out, ca, ev, now)
			}
			if !e.corr.Standalone(r.ID, r.Name) {
				continue
			}
		}
		lazy()
		a := Alert{
			Kind:     KindRule,
			Time:     t,
			Rule:     ruleRef(r),
			Title:    r.Title,
			EventIDs: []string{evID},
			Entities: ents,
			Count:    1,
			Shadow:   mode == ModeShadow,
		}
		a.Tactics, a.Techniques = ParseAttack(r.Tags)
		a.Tags = r.Tags
		a.Severity = levelSeverity(r.Level)
		for _, f := range m.Fields {
			if f.Field == "" {
				continue
			}
			a.Matched = append(a.Matched, Matched{Field: f.Field, Value: f.Value})
		}
		parts := make([]string, 0, len(ents))
		for _, en := range ents {
			if en.Type != EntityURL {
				parts = append(parts, en.Type+"="+en.Value)
			}
		}
		a.DedupKey = dedupKey(r.ID+"/"+r.Name, parts)
		out = e.finish(out, a, ev, nil, now)
	}
	if e.intel != nil {
		hits := e.intel.Match(ev, t, &ioc.Options{MinConfidence: e.opts.IntelMinConfidence}, nil)
		if len(hits) > 0 {
			mode := e.mode(IOCRuleID, "")
			if mode != ModeDisabled {
				lazy()
				for _, h := range hits {
					out = e.finish(out, e.iocAlert(h, t, evID, ents, mode), ev, nil, now)
				}
			}
		}
	}
	if e.opts.Anomaly != nil {
		for _, f := range e.opts.Anomaly.Observe(ev, t) {
			id := AnomalyRulePrefix + f.Detector
			mode := e.mode(id, f.Detector)
			if mode == ModeDisabled {
				continue
			}
			lazy()
			out = e.finish(out, anomalyAlert(f, id, evID, ents, mode), ev, nil, now)
		}
	}
	return out
}

// eventView remembers the fields read from one event while the engine
// evaluates it. Several correlations group by the same fields, and a typed
// field such as source.ip is formatted anew on every Get. It keeps found
// values only (absent ones are cheap to ask for again) and a few of them.
type eventView struct {
	ev    Event
	n     int
	names [16]string
	vals  [16]any
}

var _ Event = (*eventView)(nil)

func (v *eventView) reset(ev Event) {
	v.ev = ev
	clear(v.vals[:v.n])
	v.n = 0
}

// Get returns what the event's Get returns.
func (v *eventView) Get(field string) (any, bool) {
	for i := range v.n {
		if v.names[i] == field {
			return v.vals[i], true
		}
	}
	x, ok := v.ev.Get(field)
	if ok && v.n < len(v.names) {
		v.names[v.n], v.vals[v.n] = field, x
		v.n++
	}
	return x, ok
}

// entityGet is Get for Entities: through the view for the address
// fields, which the event formats anew on every read, straight from the
// event for the rest. Most of the thirty entity fields are absent, and
// the view's scan would only add to each miss.
func (v *eventView) entityGet(field string) (any, bool) {
	switch field {
	case "source.ip", "destination.ip":
		return v.Get(field)
	}
	return v.ev.Get(field)
}

// AnomalyRulePrefix starts the rule id of anomaly alerts.
const AnomalyRulePrefix = "anomaly:"

func anomalyAlert(f anomaly.Finding, id, evID string, ents []Entity, mode Mode) Alert {
	sev := levelSeverity(f.Level)
	a := Alert{
		Kind:     KindAnomaly,
		Time:     f.Time,
		Severity: sev,
		Title:    f.Explanation,
		Rule:     RuleRef{ID: id, Name: f.Detector, Title: "Anomaly (" + f.Kind + "): " + f.Detector, Level: f.Level},
		EventIDs: []string{evID},
		Count:    1,
		Shadow:   mode == ModeShadow,
		Anomaly: &Anomaly{Kind: f.Kind, Observed: f.Observed, Baseline: f.Baseline, StdDev: f.StdDev,
			Threshold: f.Threshold, Field: f.Field, Value: f.Value, Explanation: f.Explanation},
	}
	if f.Kind == anomaly.KindBeacon {
		a.Count = f.Count
	}
	parts := make([]string, 0, len(f.Group)+1)
	g := make([]correlate.GroupValue, 0, len(f.Group))
	for _, x := range f.Group {
		a.Matched = append(a.Matched, Matched{Field: x.Field, Value: x.Value})
		parts = append(parts, x.Field+"="+x.Value)
		g = append(g, correlate.GroupValue{Field: x.Field, Value: x.Value})
	}
	if f.Field != "" {
		a.Matched = append(a.Matched, Matched{Field: f.Field, Value: f.Value})
		parts = append(parts, f.Field+"="+f.Value)
	}
	a.Entities = mergeEntities(groupEntities(g), ents)
	a.DedupKey = dedupKey(id, parts)
	return a
}

func (e *Engine) iocAlert(h ioc.Hit, t time.Time, evID string, ents []Entity, mode Mode) Alert {
	in := h.Indicator
	sev := event.SeverityMedium
	switch {
	case in.Confidence >= 80:
		sev = event.SeverityHigh
	case in.Confidence > 0 && in.Confidence < 40:
		sev = event.SeverityLow
	}
	title := fmt.Sprintf("Threat-intel match: %s %s", in.Type, in.Value)
	a := Alert{
		Kind:     KindIOC,
		Time:     t,
		Severity: sev,
		Title:    title,
		Rule:     RuleRef{ID: IOCRuleID, Title: "Threat-intel indicator match", Level: sev.String()},
		Matched:  []Matched{{Field: h.Field, Value: h.Value}},
		EventIDs: []string{evID},
		Entities: ents,
		Count:    1,
		Indicator: &Indicator{Type: string(in.Type), Value: in.Value, Confidence: in.Confidence,
			Source: in.Source, Description: in.Description, Expires: in.Expires},
		Shadow: mode == ModeShadow,
	}
	a.DedupKey = dedupKey(IOCRuleID, []string{string(in.Type) + "=" + in.Value, h.Field + "=" + h.Value})
	return a
}

// remember records a hit's event for every correlation that references its
// rule, so a firing correlation can list its triggering events. Caller
// holds e.mu.
func (e *Engine) remember(h correlate.Hit, evID string, ents func() []Entity) {
	var seenBuf [8]*correlate.Rule
	seen := seenBuf[:0]
	for _, ref := range []string{h.ID, h.Name} {
		if ref == "" {
			continue
		}
	next:
		for _, c := range e.refs[ref] {
			for _, x := range seen {
				if x == c {
					continue next
				}
			}
			seen = append(seen, c)
			// The key groupKey would build, in a reused buffer: the map
			// lookup does not allocate, only a new group's key does.
			k := append(append(append(e.keyBuf[:0], c.ID...), 0), c.Name...)
			k, ok := c.AppendGroup(k, h)
			e.keyBuf = k
			if !ok {
				continue
			}
			ev := e.evidenceFor(k, h.Time)
			// Drop what fell out of the window, then cap.
			cut := 0
			for cut < len(ev.hits) && h.Time.Sub(ev.hits[cut].t) > c.Timespan {
				cut++
			}
			if cut > 0 || len(ev.hits) >= maxEvidence {
				if len(ev.hits)-cut >= maxEvidence {
					cut = len(ev.hits) - maxEvidence + 1
				}
				ev.hits = append(ev.hits[:0], ev.hits[cut:]...)
			}
			ev.hits = append(ev.hits, evidenceHit{h.Time, evID})
			if n := len(ev.entities); n == 0 {
				// The event's own list, shared (never written in place;
				// the full slice expression makes a later merge copy).
				x := ents()
				ev.entities = x[:len(x):len(x)]
			} else if n < 32 {
				ev.entities = mergeEntities(ev.entities, ents())
			}
		}
	}
}

// evidenceFor returns the evidence group of key, marked as just hit, or a
// new empty one. A different group filed under the same hash goes, counted
// as evicted. Looking key up costs no allocation; only a new group copies
// it. Caller holds e.mu.
func (e *Engine) evidenceFor(key []byte, now time.Time) *evidence {
	hk := maphash.Bytes(e.seed, key)
	ev := e.evidence[hk]
	if ev != nil && ev.key != string(key) {
		e.stats.Evicted++
		e.dropEvidence(ev)
		ev = nil
	}
	if ev == nil {
		return e.newEvidence(hk, string(key), now)
	}
	e.recent.Touch(ev)
	return ev
}

// newEvidence adds an empty evidence group under key, first making room
// when the map is full: the groups idle longest go, those idle past the
// longest timespan as expired, any other counted as evicted. The groups
// are linked in order of their last hit, so this costs the same whatever
// the map holds (a scan of the map per new group would not, under a flood
// of new source addresses). Caller holds e.mu.
func (e *Engine) newEvidence(hash uint64, key string, now time.Time) *evidence {
	for len(e.evidence) >= e.opts.MaxDedupKeys && e.recent.Back() != nil {
		old := e.recent.Back()
		if len(old.hits) > 0 && now.Sub(old.last()) <= e.longest {
			e.stats.Evicted++
		}
		e.dropEvidence(old)
	}
	ev := &evidence{key: key, hash: hash}
	ev.hits = ev.one[:0]
	e.evidence[hash] = ev
	e.recent.PushFront(ev)
	return ev
}

// dropEvidence deletes a group from the map and the list.
func (e *Engine) dropEvidence(ev *evidence) {
	delete(e.evidence, ev.hash)
	e.recent.Remove(ev)
}

// lowWater is the size a full bounded map is pruned down to: three
// quarters of its limit, so the next prune is a quarter of the limit away.
func lowWater(limit int) int { return limit - max(1, limit/4) }

// evictOldest deletes about the oldest entries of m until at most keep
// remain, and returns how many it deleted. The cutoff time comes from a
// sample of up to 512 entries (Go's map order starts at a random place),
// so a prune costs one or two passes over the map rather than a sort of
// it; when the sample puts the cutoff too early, a later one is tried.
func evictOldest[V any](m map[string]V, keep int, at func(V) time.Time) int {
	excess := len(m) - keep
	if excess <= 0 {
		return 0
	}
	sample := make([]int64, 0, min(len(m), 512))
	for _, v := range m {
		if len(sample) == cap(sample) {
			break
		}
		sample = append(sample, at(v).UnixNano())
	}
	slices.Sort(sample)
	idx := int(math.Ceil(float64(excess)*float64(len(sample))/float64(len(m)))) - 1
	n := 0
	for n < excess {
		cutoff := int64(math.MaxInt64)
		if idx < len(sample)-1 {
			cutoff = sample[max(idx, 0)]
		}
		for k, v := range m {
			if n == excess {
				break
			}
			if at(v).UnixNano() <= cutoff {
				delete(m, k)
				n++
			}
		}
		idx += max(1, len(sample)/16)
	}
	return n
}

func groupKey(c *correlate.Rule, g []correlate.GroupValue) string {
	var b strings.Builder
	b.WriteString(c.ID)
	b.WriteByte(0)
	b.WriteString(c.Name)
	for _, v := range g {
		b.WriteByte(0x1f)
		b.WriteString(v.Value)
	}
	return b.String()
}

func (e *Engine) emitCorrelation(out []Alert, ca correlate.Alert, ev Event, now time.Time) []Alert {
	r := ca.Rule
	mode := e.mode(r.ID, r.Name)
	if mode == ModeDisabled {
		return out
	}
	a := Alert{
		Kind:      KindCorrelation,
		Time:      ca.End,
		FirstSeen: ca.Start,
		LastSeen:  ca.End,
		Title:     r.Title,
		Rule: RuleRef{ID: r.ID, Name: r.Name, Title: r.Title, Level: r.Level, Status: r.Status,
			File: r.File, Version: r.Modified},
		Severity: levelSeverity(r.Level),
		Tags:     r.Tags,
		Count:    ca.Count,
		Shadow:   mode == ModeShadow,
	}
	if a.Rule.Version == "" {
		a.Rule.Version = r.Date
	}
	a.Tactics, a.Techniques = ParseAttack(r.Tags)
	parts := make([]string, 0, len(ca.Group))
	group := sigma.MapEvent{}
	for _, g := range ca.Group {
		a.Matched = append(a.Matched, Matched{Field: g.Field, Value: g.Value})
		parts = append(parts, g.Field+"="+g.Value)
		group[g.Field] = g.Value
	}
	if len(ca.Values) > 0 {
		a.Matched = append(a.Matched, Matched{Field: r.Condition.Field, Value: ca.Values})
	}
	if r.Type.Numeric() {
		// The aggregate that met the condition, named after it:
		// value_sum(source.bytes).
		a.Matched = append(a.Matched, Matched{Field: string(r.Type) + "(" + r.Condition.Field + ")", Value: ca.Value})
	}
	// Triggering events: the evidence of the base hits within the window;
	// for a chained correlation, those of the correlations it references.
	k := groupKey(r, ca.Group)
	if evd := e.evidence[maphash.String(e.seed, k)]; evd != nil && evd.key == k {
		for _, x := range evd.hits {
			if !x.t.Before(ca.Start) && !x.t.After(ca.End) {
				a.EventIDs = append(a.EventIDs, x.id)
			}
		}
		a.Entities = mergeEntities(a.Entities, evd.entities)
		e.dropEvidence(evd)
	}
	if len(a.EventIDs) == 0 {
		a.EventIDs = []string{EventID(ev)}
		a.Entities = mergeEntities(a.Entities, Entities(ev))
	}
	// Group-by values are entities too, whatever field they came from.
	a.Entities = mergeEntities(groupEntities(ca.Group), a.Entities)
	a.DedupKey = dedupKey(r.ID+"/"+r.Name, parts)
	// A correlation that feeds another one passes its evidence on.
	for _, parent := range e.refsOf(r) {
		g, ok := parent.Group(correlate.Hit{ID: r.ID, Name: r.Name, Event: group, Time: ca.End})
		if !ok {
			continue
		}
		pk := groupKey(parent, g)
		pe := e.evidenceFor([]byte(pk), ca.End)
		for _, id := range a.EventIDs {
			pe.hits = append(pe.hits, evidenceHit{ca.End, id})
		}
		pe.entities = mergeEntities(pe.entities, a.Entities)
	}
	return e.finish(out, a, ev, group, now)
}

func (e *Engine) refsOf(r *correlate.Rule) []*correlate.Rule {
	var out []*correlate.Rule
	for _, ref := range []string{r.ID, r.Name} {
		if ref == "" {
			continue
		}
	next:
		for _, c := range e.refs[ref] {
			for _, x := range out {
				if x == c {
					continue next
				}
			}
			out = append(out, c)
		}
	}
	return out
}

func groupEntities(g []correlate.GroupValue) []Entity {
	var out []Entity
	for _, v := range g {
		for _, f := range entityFields {
			if f.field == v.Field {
				out = append(out, Entity{Type: f.typ, Value: v.Value, Field: v.Field})
				break
			}
		}
	}
	return out
}

// finish applies suppressions and dedup, fills the derived fields and
// appends a. Caller holds e.mu.
func (e *Engine) finish(out []Alert, a Alert, ev Event, group sigma.MapEvent, now time.Time) []Alert {
	for i := range e.supp {
		s := &e.supp[i]
		if !s.applies(a.Rule, now) {
			continue
		}
		if (group != nil && s.match(group)) || s.match(ev) {
			e.stats.Suppressed++
			return out
		}
	}
	if a.FirstSeen.IsZero() {
		a.FirstSeen, a.LastSeen = a.Time, a.Time
	}
	if e.opts.DedupWindow > 0 {
		if last, ok := e.dedup[a.DedupKey]; ok && a.Time.Sub(last) < e.opts.DedupWindow && a.Time.Sub(last) > -e.opts.DedupWindow {
			e.stats.Deduplicated++
			return out
		}
		if len(e.dedup) >= e.opts.MaxDedupKeys {
			e.pruneDedup(a.Time)
		}
		e.dedup[a.DedupKey] = a.Time
	}
	a.Created = now
	a.SeverityName = a.Severity.String()
	first := ""
	if len(a.EventIDs) > 0 {
		first = a.EventIDs[0]
	}
	a.ID = alertID(a.DedupKey, a.Time, first)
	e.stats.Alerts++
	if a.Shadow {
		e.stats.Shadow++
	}
	return append(out, a)
}

// pruneDedup drops dedup keys past the window and, if the map is still
// above its low-water mark, the oldest keys. Pruning down to the mark, not
// by one key, keeps a flood of new keys at amortized constant cost per
// alert instead of a scan of the whole map per alert.
func (e *Engine) pruneDedup(now time.Time) {
	for k, t := range e.dedup {
		if now.Sub(t) >= e.opts.DedupWindow {
			delete(e.dedup, k)
		}
	}
	e.stats.Evicted += uint64(evictOldest(e.dedup, lowWater(e.opts.MaxDedupKeys), func(t time.Time) time.Time { return t }))
}

// Sweep drops correlation and dedup state idle since before now minus
// their windows. Call it periodically with the current event time.
func (e *Engine) Sweep(now time.Time) {
	if e.corr != nil {
		e.corr.Sweep(now)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, t := range e.dedup {
		if now.Sub(t) >= e.opts.DedupWindow {
			delete(e.dedup, k)
		}
	}
	for _, ev := range e.evidence {
		if len(ev.hits) == 0 || now.Sub(ev.last()) > e.longest {
			e.dropEvidence(ev)
		}
	}
}

// Stats reports counters and sizes.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	s := e.stats
	e.mu.Unlock()
	s.Rules = e.nrules
	s.Correlations = len(e.corrs)
	if e.corr != nil {
		s.CorrelationEvicted = e.corr.Stats().Evicted
	}
	if e.opts.Anomaly != nil {
		s.AnomalyEvicted = e.opts.Anomaly.Stats().Evicted
	}
	if e.intel != nil {
		s.Indicators = e.intel.Len()
	}
	return s
}

func ruleRef(r *sigma.Rule) RuleRef {
	v := r.Modified
	if v == "" {
		v = r.Date
	}
	return RuleRef{ID: r.ID, Name: r.Name, Title: r.Title, Version: v, Level: r.Level, Status: r.Status, File: r.File}
}

// levelSeverity maps a Sigma level to OCSF severity; a rule without a level
// is medium, as Sigma tools treat it. Fatal is never produced.
func levelSeverity(level string) event.Severity {
	if level == "" {
		return event.SeverityMedium
	}
	s := event.ParseSeverity(level)
	if s == event.SeverityFatal || s == event.SeverityUnknown {
		return event.SeverityMedium
	}
	return s
}
