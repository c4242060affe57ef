package detect

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/intel"
	"github.com/mcpsoc/mcpsoc/internal/intel/stix"
	"github.com/mcpsoc/mcpsoc/internal/intel/textfeed"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// CaseFile is the name of a test case descriptor inside its folder.
const CaseFile = "case.yml"

// FormatNDJSON is the input format of ECS events, one JSON object a line
// (what `mcpsoc parse` prints).
const FormatNDJSON = "ndjson"

// Case is one rule test case: the rules under test, input events and the
// alerts expected. It is read from a folder's case.yml; docs/rules.md
// describes the format.
type Case struct {
	// Name is the folder path relative to the root given to LoadCases.
	Name string `yaml:"-"`
	// Dir is the folder; relative paths in the case resolve against it.
	Dir         string `yaml:"-"`
	Description string `yaml:"description"`
	// Rules are rule files or directories. Empty means the .yml/.yaml
	// files of the case folder other than case.yml.
	Rules []string `yaml:"rules"`
	// Intel are indicator files: .json is STIX 2.1, anything else CSV.
	Intel  []string `yaml:"intel"`
	Inputs []Input  `yaml:"inputs"`
	Expect []Expect `yaml:"expect"`
	// Now is the receive time given to parsers (RFC 3339): it sets the
	// year of syslog timestamps that lack one. Default: the case's
	// first RFC 3339 timestamp is not guessed; time.Now is used.
	Now string `yaml:"now"`
	// DedupWindow overrides the engine's (Go duration; "-1s" disables).
	DedupWindow  string          `yaml:"dedup_window"`
	Modes        map[string]Mode `yaml:"modes"`
	Suppressions []Suppression   `yaml:"suppressions"`
}

// Input is one source of events for a case.
type Input struct {
	// File is read relative to the case folder; Lines is inline text.
	// Exactly one of them is set.
	File  string `yaml:"file"`
	Lines string `yaml:"lines"`
	// Format is a parser name, "auto", or "ndjson" for ECS events.
	Format   string `yaml:"format"`
	Timezone string `yaml:"timezone"`
}

// Expect is one expected alert set: alerts of one rule (by id, name, or
// "ioc"), how many, and values they must carry.
type Expect struct {
	Rule string `yaml:"rule"`
	// Count is the exact number of alerts; nil means 1.
	Count *int `yaml:"count"`
	// Fields must each appear among an alert's matched values or entity
	// values (for list values, as one element).
	Fields map[string]string `yaml:"fields"`
	// Shadow, when set, must equal the alerts' shadow flag.
	Shadow *bool `yaml:"shadow"`
}

// LoadCases finds every folder under root (root included) holding a
// case.yml and reads it. Unknown keys are errors.
func LoadCases(root string) ([]*Case, error) {
	var cases []*Case
	var errs []error
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() != CaseFile {
			return nil
		}
		c, err := ReadCase(filepath.Dir(p))
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		c.Name, _ = filepath.Rel(root, c.Dir)
		if c.Name == "." {
			c.Name = filepath.Base(c.Dir)
		}
		cases = append(cases, c)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, errors.Join(errs...)
}

// ReadCase reads dir/case.yml.
func ReadCase(dir string) (*Case, error) {
	p := filepath.Join(dir, CaseFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading test case: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	c := &Case{Dir: dir, Name: filepath.Base(dir)}
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if len(c.Inputs) == 0 {
		return nil, fmt.Errorf("%s: no inputs", p)
	}
	for i, in := range c.Inputs {
		if (in.File == "") == (in.Lines == "") {
			return nil, fmt.Errorf("%s: input %d: set exactly one of file and lines", p, i+1)
		}
		if in.Format == "" {
			return nil, fmt.Errorf("%s: input %d: format is required (a parser name, auto or ndjson)", p, i+1)
		}
	}
	for i, e := range c.Expect {
		if e.Rule == "" {
			return nil, fmt.Errorf("%s: expect %d: rule is required", p, i+1)
		}
		if e.Count != nil && *e.Count < 0 {
			return nil, fmt.Errorf("%s: expect %d: negative count", p, i+1)
		}
	}
	return c, nil
}

// CaseResult is the outcome of running a case.
type CaseResult struct {
	Case   *Case
	Events int
	Alerts []Alert
	// RuleErrors are rules of the case that failed to load.
	RuleErrors []string
	// Failures are the expectation mismatches, one line each.
	Failures []string
}

// OK reports whether the case passed.
func (r *CaseResult) OK() bool { return len(r.Failures) == 0 && len(r.RuleErrors) == 0 }

// Run loads the case's rules and intel, feeds every input event through a
// fresh Engine and compares the alerts with the expectations. The error is
// for cases that cannot run (missing files, unknown format).
func (c *Case) Run() (*CaseResult, error) {
	res := &CaseResult{Case: c}
	roots := append([]string(nil), c.Rules...)
	if len(roots) == 0 {
		ents, err := os.ReadDir(c.Dir)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && e.Name() != CaseFile && (ext == ".yml" || ext == ".yaml") {
				roots = append(roots, e.Name())
			}
		}
		if len(roots) == 0 {
			return nil, fmt.Errorf("case %s: no rules (set rules: or put rule files next to case.yml)", c.Name)
		}
	}
	for i, r := range roots {
		roots[i] = c.path(r)
	}
	opts := &Options{Modes: c.Modes, Suppressions: c.Suppressions}
	if c.DedupWindow != "" {
		d, err := time.ParseDuration(c.DedupWindow)
		if err != nil {
			return nil, fmt.Errorf("case %s: dedup_window: %w", c.Name, err)
		}
		if d == 0 {
			d = -1
		}
		opts.DedupWindow = d
	}
	var now time.Time
	if c.Now != "" {
		t, err := time.Parse(time.RFC3339, c.Now)
		if err != nil {
			return nil, fmt.Errorf("case %s: now: %w", c.Name, err)
		}
		now = t
		opts.Now = func() time.Time { return t }
	}
	if len(c.Intel) > 0 {
		set := ioc.NewSet()
		for _, f := range c.Intel {
			inds, err := ReadIntelFile(c.path(f))
			if err != nil {
				return nil, fmt.Errorf("case %s: %w", c.Name, err)
			}
			if err := set.Add(inds...); err != nil {
				return nil, fmt.Errorf("case %s: %w", c.Name, err)
			}
		}
		opts.Intel = set
	}
	eng, bad, err := Load(roots, nil, opts)
	for _, b := range bad {
		res.RuleErrors = append(res.RuleErrors, b.Error())
	}
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", c.Name, err)
	}
	// Correlations name events seen before the one that fires them, so
	// every event is kept when an expectation checks fields.
	needFields := false
	for _, e := range c.Expect {
		needFields = needFields || len(e.Fields) > 0
	}
	seen := map[string]map[string][]string{}
	for i, in := range c.Inputs {
		var r io.Reader
		if in.File != "" {
			f, err := os.Open(c.path(in.File))
			if err != nil {
				return nil, fmt.Errorf("case %s: %w", c.Name, err)
			}
			defer f.Close()
			r = f
		} else {
			r = strings.NewReader(in.Lines)
		}
		err := ReadEvents(r, in.Format, &parse.Config{Timezone: in.Timezone, Now: nowFunc(now), SourceID: fmt.Sprintf("test:%s#%d", c.Name, i+1)},
			func(ev *event.Event) {
				res.Events++
				as := eng.Process(ev)
				if len(as) > 0 || needFields {
					// Keep the fields of triggering events: expectations may
					// name fields the alert itself does not carry.
					seen[EventID(ev)] = eventFields(ev)
				}
				res.Alerts = append(res.Alerts, as...)
			})
		if err != nil {
			return nil, fmt.Errorf("case %s: input %d: %w", c.Name, i+1, err)
		}
	}
	res.Failures = c.compare(res.Alerts, seen)
	return res, nil
}

func nowFunc(t time.Time) func() time.Time {
	if t.IsZero() {
		return nil
	}
	return func() time.Time { return t }
}

func (c *Case) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// ReadEvents reads events from r in a parser format, "auto", or ndjson
// (ECS events as `mcpsoc parse` prints them) and calls fn for each. The
// event passed to fn is reused afterwards.
func ReadEvents(r io.Reader, format string, cfg *parse.Config, fn func(*event.Event)) error {
	if format == FormatNDJSON || format == "ecs" {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), parse.DefaultMaxRecordBytes)
		line := 0
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			var ev event.Event
			if err := ev.UnmarshalJSON(b); err != nil {
				return fmt.Errorf("line %d: %w", line, err)
			}
			fn(&ev)
		}
		return sc.Err()
	}
	n, err := parse.New(format, cfg)
	if err != nil {
		return err
	}
	sc := parse.NewScanner(r, n)
	for sc.Scan() {
		fn(sc.Event())
	}
	return sc.Err()
}

// ReadIntelFile reads indicators from a STIX 2.1 JSON file (.json) or a CSV
// list (anything else; type,value[,confidence,expires,source]). A CSV list
// is loaded whole or not at all: a bad line is an error naming it.
func ReadIntelFile(name string) ([]ioc.Indicator, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading intel: %w", err)
	}
	var b intel.Batch
	if strings.EqualFold(filepath.Ext(name), ".json") {
		if b, _, err = stix.Read(data); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(b.Entries) == 0 && len(b.Skipped) > 0 {
			return nil, fmt.Errorf("%s: no usable indicator (%s: %s)", name, b.Skipped[0].Ref, b.Skipped[0].Reason)
		}
	} else {
		if b, err = textfeed.ReadCSV(bytes.NewReader(data), nil); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(b.Skipped) > 0 {
			return nil, fmt.Errorf("%s: %s: %s", name, b.Skipped[0].Ref, b.Skipped[0].Reason)
		}
	}
	out := make([]ioc.Indicator, 0, len(b.Entries))
	for _, e := range b.Entries {
		out = append(out, e.Indicator())
	}
	return out, nil
}

// compare checks alerts against the expectations: each expectation's
// count, and no alert of a rule no expectation names.
func (c *Case) compare(alerts []Alert, events map[string]map[string][]string) []string {
	var fails []string
	named := func(a Alert, rule string) bool {
		return a.Rule.ID == rule || (a.Rule.Name != "" && a.Rule.Name == rule)
	}
	for _, e := range c.Expect {
		want := 1
		if e.Count != nil {
			want = *e.Count
		}
		got, ofRule := 0, 0
		for _, a := range alerts {
			if !named(a, e.Rule) {
				continue
			}
			ofRule++
			if e.Shadow != nil && a.Shadow != *e.Shadow {
				continue
			}
			if hasFields(a, e.Fields, events) {
				got++
			}
		}
		if got != want {
			line := fmt.Sprintf("- %s: want %d alert(s)", e.Rule, want)
			if len(e.Fields) > 0 || e.Shadow != nil {
				line += " with " + describe(e)
			}
			line += fmt.Sprintf("\n+ %s: got %d", e.Rule, got)
			if ofRule != got {
				line += fmt.Sprintf(" (%d alert(s) of the rule in all)", ofRule)
			}
			fails = append(fails, line)
		}
	}
	unexpected := map[string]int{}
	var order []string
	for _, a := range alerts {
		known := false
		for _, e := range c.Expect {
			known = known || named(a, e.Rule)
		}
		if known {
			continue
		}
		k := a.Rule.ID
		if a.Rule.Name != "" {
			k = a.Rule.Name
		}
		if unexpected[k] == 0 {
			order = append(order, k)
		}
		unexpected[k]++
	}
	for _, k := range order {
		fails = append(fails, fmt.Sprintf("- %s: want no alert\n+ %s: got %d", k, k, unexpected[k]))
	}
	return fails
}

func describe(e Expect) string {
	var parts []string
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+e.Fields[k])
	}
	if e.Shadow != nil {
		parts = append(parts, fmt.Sprintf("shadow=%v", *e.Shadow))
	}
	return strings.Join(parts, ", ")
}

// eventFields flattens an event to field → string values.
func eventFields(ev *event.Event) map[string][]string {
	m := map[string][]string{}
	ev.Fields(func(name string, v any) bool {
		switch x := v.(type) {
		case []string:
			m[name] = append(m[name], x...)
		case []any:
			for _, e := range x {
				if s, ok := scalarString(e); ok {
					m[name] = append(m[name], s)
				}
			}
		default:
			if s, ok := scalarString(v); ok {
				m[name] = append(m[name], s)
			}
		}
		return true
	})
	return m
}

// hasFields reports whether every field/value is among the alert's
// matched values, its entities, its indicator or the fields of one of its
// triggering events.
func hasFields(a Alert, fields map[string]string, events map[string]map[string][]string) bool {
	for f, want := range fields {
		found := false
		for _, id := range a.EventIDs {
			for _, v := range events[id][f] {
				found = found || strings.EqualFold(v, want)
			}
		}
		for _, m := range a.Matched {
			if m.Field == f && valueHas(m.Value, want) {
				found = true
				break
			}
		}
		for _, en := range a.Entities {
			if !found && en.Field == f && strings.EqualFold(en.Value, want) {
				found = true
			}
		}
		if !found && a.Indicator != nil && (f == "indicator.value" && a.Indicator.Value == want || f == "indicator.type" && a.Indicator.Type == want) {
			found = true
		}
		if !found {
			return false
		}
	}
	return true
}

func valueHas(v any, want string) bool {
	switch x := v.(type) {
	case []string:
		for _, s := range x {
			if strings.EqualFold(s, want) {
				return true
			}
		}
		return false
	case []any:
		for _, e := range x {
			if valueHas(e, want) {
				return true
			}
		}
		return false
	}
	s, ok := scalarString(v)
	return ok && strings.EqualFold(s, want)
}

// Summary renders a case's alerts one per line (rule, time, matched), for
// failure reports.
func (r *CaseResult) Summary() string {
	var b strings.Builder
	counts := map[string]int{}
	var order []string
	for _, a := range r.Alerts {
		k := a.Rule.ID
		if a.Rule.Name != "" {
			k = a.Rule.Name
		}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	for _, k := range order {
		fmt.Fprintf(&b, "  %s ×%d\n", k, counts[k])
	}
	return b.String()
}
