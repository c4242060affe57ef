package parse

import (
	"slices"

	"github.com/mcpsoc/mcpsoc/internal/event"
)

// Names of the formats this package registers itself.
const (
	FormatAuto   = "auto"
	FormatSyslog = "syslog"
)

func init() {
	Register(FormatAuto, func(cfg *Config) (Parser, error) { return newAuto(FormatAuto, cfg, false) })
	Register(FormatSyslog, func(cfg *Config) (Parser, error) { return newAuto(FormatSyslog, cfg, true) })
}

// auto picks a parser per record by asking every Detector. It remembers the
// last winner and keeps it while it is certain, so a homogeneous stream
// costs one Detect call per record.
//
// With format "syslog" a record must have a syslog envelope; its payload is
// detected the same way. Under both names a record with an envelope whose
// payload no parser claims becomes a plain syslog event (message and
// envelope fields), not a pipeline error: an sshd or sudo line is useful as
// it is.
type auto struct {
	name            string
	requireEnvelope bool
	detectors       []detectorParser
	multi           []MultiLiner // registered multi-line formats, for the Scanner
	last            int          // index into detectors, -1 when none
}

type detectorParser struct {
	p Parser
	d Detector
}

var _ Parser = (*auto)(nil)

func newAuto(name string, cfg *Config, requireEnvelope bool) (*auto, error) {
	a := &auto{name: name, requireEnvelope: requireEnvelope, last: -1}
	for _, n := range Names() {
		if n == FormatAuto || n == FormatSyslog {
			continue
		}
		p, err := build(n, cfg)
		if err != nil {
			return nil, err
		}
		if d, ok := p.(Detector); ok {
			a.detectors = append(a.detectors, detectorParser{p, d})
		}
		if m, ok := p.(MultiLiner); ok {
			a.multi = append(a.multi, m)
		}
	}
	return a, nil
}

func (a *auto) Name() string { return a.name }

// certain is the Detect score at which auto stops looking further.
const certain = 90

func (a *auto) Parse(ev *event.Event, rec *Record) error {
	if a.requireEnvelope && rec.Syslog == nil {
		return NotMine(a.name, "a syslog envelope (<PRI>, RFC 5424 or \"Mmm dd hh:mm:ss host tag:\")")
	}
	if a.last >= 0 && a.detectors[a.last].d.Detect(rec) >= certain {
		err := a.run(ev, rec, a.last)
		if err == nil {
			return nil
		}
		// The usual parser failed: give every other candidate a chance.
		resetForRetry(ev, rec)
	}
	type cand struct{ i, score int }
	var cands []cand
	for i, dp := range a.detectors {
		if s := dp.d.Detect(rec); s > 0 {
			cands = append(cands, cand{i, s})
		}
	}
	if len(cands) == 0 {
		if rec.Syslog != nil {
			plainSyslog(ev, rec)
			return nil
		}
		return Errorf("no parser recognized the record")
	}
	slices.SortStableFunc(cands, func(x, y cand) int { return y.score - x.score })
	var firstErr error
	for _, c := range cands {
		err := a.run(ev, rec, c.i)
		if err == nil {
			a.last = c.i
			return nil
		}
		if firstErr == nil {
			firstErr = err
		}
		// Start the next candidate from a clean event.
		resetForRetry(ev, rec)
	}
	return firstErr
}

func (a *auto) run(ev *event.Event, rec *Record, i int) error {
	p := a.detectors[i].p
	ev.Provenance.Parser = p.Name()
	return p.Parse(ev, rec)
}

// resetForRetry restores ev to the state Normalizer left it in before the
// first parser ran.
func resetForRetry(ev *event.Event, rec *Record) {
	original, prov := ev.Original, ev.Provenance
	var flags [3]any
	names := [3]string{"event.truncated", "log.original_size", "event.invalid_utf8"}
	for i, n := range names {
		flags[i], _ = ev.Get(n)
	}
	ev.Reset()
	ev.Original, ev.Provenance = original, prov
	for i, n := range names {
		if flags[i] != nil {
			ev.Append(n, flags[i])
		}
	}
	if rec.Syslog != nil {
		rec.Syslog.apply(ev)
	}
}

// plainSyslog fills a generic syslog event from the envelope alone.
func plainSyslog(ev *event.Event, rec *Record) {
	ev.Kind = event.KindEvent
	ev.Module = "syslog"
	ev.Dataset = "syslog.log"
	ev.Message = rec.Payload
	ev.Provenance.Parser = FormatSyslog
	if rec.Syslog.HasPri {
		ev.Append("log.level", syslogLevelNames[rec.Syslog.Severity])
	}
}

var syslogLevelNames = [8]string{"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}
