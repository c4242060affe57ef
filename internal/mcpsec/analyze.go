package mcpsec

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Options tune an Analyzer. The zero value (or nil) means defaults.
type Options struct {
	// Judge is an optional language-model judge for borderline texts. Nil
	// (the default) keeps the analysis offline.
	Judge Judge
	// MaxTextBytes caps the bytes of one text that are analyzed; longer texts
	// get a length finding and are truncated. Default 1 MiB.
	MaxTextBytes int
	// LongText is the description length that earns a review finding.
	// Default 8000 bytes.
	LongText int
}

// Analyzer checks model-visible MCP text. It holds no mutable state and is
// safe for concurrent use.
type Analyzer struct {
	opts Options
}

// New returns an Analyzer; opts may be nil.
func New(opts *Options) *Analyzer {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = 1 << 20
	}
	if o.LongText <= 0 {
		o.LongText = 8000
	}
	return &Analyzer{opts: o}
}

// AnalyzeServer analyzes one server's tools, prompts, resources and
// instructions, including checks across its tools (split payloads). It is
// AnalyzeServers with one server.
func (a *Analyzer) AnalyzeServer(ctx context.Context, s *Server) ([]Finding, error) {
	return a.AnalyzeServers(ctx, []*Server{s})
}

// AnalyzeServers analyzes several servers that one client loads together:
// each server on its own, then tool-name collisions and cross-server
// shadowing. Findings are sorted. The error is non-nil only when the Judge
// failed or ctx ended; findings gathered so far are still returned.
func (a *Analyzer) AnalyzeServers(ctx context.Context, servers []*Server) ([]Finding, error) {
	var (
		out  []Finding
		errs []error
	)
	all := make([]*serverScan, 0, len(servers))
	for i, s := range servers {
		if s == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return out, err
		}
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("server-%d", i+1)
		}
		ss, err := a.scanServer(ctx, name, s)
		out = append(out, ss.findings...)
		if err != nil {
			errs = append(errs, err)
		}
		all = append(all, ss)
	}
	out = append(out, crossServer(all)...)
	SortFindings(out)
	return out, errors.Join(errs...)
}

// AnalyzeText checks one free-standing text, such as a tool result passing
// through the gateway. loc names where it came from.
func (a *Analyzer) AnalyzeText(loc Location, text string) []Finding {
	var out []Finding
	emit := func(f Finding) { out = append(out, f) }
	l := leaf{loc: loc, raw: text, field: "description"}
	a.rawCheck(l, emit)
	a.encodedCheck(l, emit)
	sc := scanText(normalize(truncate(text, a.opts.MaxTextBytes)))
	if v := evaluate(sc); v.hard != "" {
		for _, id := range v.hards {
			f := newFinding(id, loc, evidence(sc, id), sc.names())
			f.Tier = TierHard
			emit(f)
		}
	} else if v.review != "" {
		emit(newFinding(v.review, loc, evidence(sc, v.review), sc.names()))
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// objectScan is the analysis of one tool, prompt or resource.
type objectScan struct {
	kind, name string
	leaves     []leaf
	scans      []*scan
	mask       uint64 // union of leaf masks
	hard       bool   // a hard finding was reported on this object
	hardRules  map[string]bool
	flagged    bool // any finding was reported on this object
}

type serverScan struct {
	name     string
	server   *Server
	objects  []*objectScan
	findings []Finding
	judge    []judgeCandidate // borderline objects for the optional judge
}

func (a *Analyzer) scanServer(ctx context.Context, name string, s *Server) (*serverScan, error) {
	ss := &serverScan{name: name, server: s}
	own := make(map[string]bool, len(s.Tools)*4)
	for i := range s.Tools {
		t := &s.Tools[i]
		own[strings.ToLower(t.Name)] = true
	}
	if s.Instructions != "" {
		ss.objects = append(ss.objects, &objectScan{kind: KindServer, leaves: []leaf{{
			loc: Location{Server: name, Kind: KindServer, Path: "instructions"}, raw: s.Instructions, field: "description",
		}}})
	}
	for i := range s.Tools {
		ls := toolLeaves(name, &s.Tools[i])
		for _, l := range ls {
			if l.field == "param" {
				own[strings.ToLower(l.raw)] = true
			}
		}
		ss.objects = append(ss.objects, &objectScan{kind: KindTool, name: s.Tools[i].Name, leaves: ls})
	}
	for i := range s.Prompts {
		ss.objects = append(ss.objects, &objectScan{kind: KindPrompt, name: s.Prompts[i].Name, leaves: promptLeaves(name, &s.Prompts[i])})
	}
	for i := range s.Resources {
		ss.objects = append(ss.objects, &objectScan{kind: KindResource, name: s.Resources[i].Name, leaves: resourceLeaves(name, &s.Resources[i], false)})
	}
	for i := range s.ResourceTemplates {
		ss.objects = append(ss.objects, &objectScan{kind: KindResource, name: s.ResourceTemplates[i].Name, leaves: resourceLeaves(name, &s.ResourceTemplates[i], true)})
	}
	var errs []error
	for _, o := range ss.objects {
		if err := a.scanObject(ctx, ss, o, own); err != nil {
			errs = append(errs, err)
		}
	}
	ss.findings = append(ss.findings, splitCheck(ss)...)
	if err := a.runJudge(ctx, ss, ss.judge); err != nil {
		errs = append(errs, err)
	}
	return ss, errors.Join(errs...)
}

// minPhraseBytes is the shortest text worth a phrase scan: the shortest
// payloads ("ignore all rules", "do not tell the user") are longer.
const minPhraseBytes = 14

// A directive and an object in an enum value, default or example.
const (
	valueDirective = 1<<sigAI | 1<<sigImperative | 1<<sigTrigger | 1<<sigMust | 1<<sigSecrecy
	valueObject    = 1<<sigPII | 1<<sigHarvestTarget | 1<<sigSensitive | 1<<sigAddr | 1<<sigSinkTo | 1<<sigSmuggle |
		1<<sigForeignRef | 1<<sigDestructive | 1<<sigMoney | 1<<sigReadSensitive | 1<<sigAmbient
)

// valueField reports schema keywords whose strings are data values.
func valueField(field string) bool {
	switch field {
	case "enum", "default", "examples", "const", "example":
		return true
	}
	return false
}

// textual reports fields whose phrase content matters (not names).
func textual(field string) bool {
	switch field {
	case "name", "param", "uri":
		return false
	}
	return true
}

func (a *Analyzer) scanObject(ctx context.Context, ss *serverScan, o *objectScan, own map[string]bool) error {
	seen := map[string]bool{}
	emit := func(f Finding) {
		key := f.RuleID + "\x00" + f.Location.Path
		if f.Tier == TierHard {
			key = f.RuleID
		}
		if seen[key] {
			return
		}
		seen[key] = true
		o.flagged = true
		if f.Tier == TierHard {
			o.hard = true
			if o.hardRules == nil {
				o.hardRules = map[string]bool{}
			}
			o.hardRules[f.RuleID] = true
		}
		ss.findings = append(ss.findings, f)
	}
	o.scans = make([]*scan, len(o.leaves))
	for i, l := range o.leaves {
		a.rawCheck(l, emit)
		if !textual(l.field) {
			o.scans[i] = &scan{}
			continue
		}
		if len(l.raw) < minPhraseBytes {
			// Too short to hold an instruction ("Owner", "Repo", "asc").
			o.scans[i] = &scan{}
			continue
		}
		a.encodedCheck(l, emit)
		sc := scanText(normalize(truncate(l.raw, a.opts.MaxTextBytes)))
		if sc.has(sigToolRef) {
			markForeign(sc, own)
		}
		o.scans[i] = sc
		o.mask |= sc.mask
	}
	// Computed on first use: most objects never need it.
	themedState := 0
	themedFn := func() bool {
		if themedState == 0 {
			themedState = 2
			if sensitiveName(o.name) || purposeMentionsSecrets(o) {
				themedState = 1
			}
		}
		return themedState == 1
	}
	var bestLeaf int
	var bestScore float64 = -1
	for i, l := range o.leaves {
		sc := o.scans[i]
		if sc.mask == 0 {
			continue
		}
		v := evaluate(sc)
		if v.score > bestScore {
			bestScore, bestLeaf = v.score, i
		}
		param := strings.Contains(l.loc.Path, ".properties.") || strings.HasPrefix(l.loc.Path, "arguments[")
		if v.hard == "" && valueField(l.field) && sc.mask&valueDirective != 0 && sc.mask&valueObject != 0 {
			// Enum values, defaults and examples are data: directives in them
			// have no legitimate reason to be there.
			f := newFinding(RuleDirective, l.loc, evidence(sc, RuleDirective), sc.names())
			f.Tier = TierHard
			emit(f)
			continue
		}
		if param && (sc.has(sigHarvestTarget) || sc.has(sigReadSensitive) || (sc.has(sigAmbient) || sc.has(sigPII)) && (sc.has(sigAI) || sc.has(sigFromContext))) && v.hard == "" {
			f := newFinding(RuleParamHarvest, l.loc, evidence(sc, RuleParamHarvest), sc.names())
			if (!sc.has(sigHarvestTarget) || !contextHarvest(sc)) && themedFn() {
				f.Tier = TierReview
			}
			emit(f)
			continue
		}
		for _, id := range v.hards {
			f := newFinding(id, l.loc, evidence(sc, id), sc.names())
			f.Tier = TierHard
			if id == RuleExfil && !o.hasAny(sigSecrecy, sigOverride, sigTag, sigForeignRef, sigHarvestTarget) && themedFn() {
				// A key manager that says it reads ~/.ssh and uploads a key is
				// doing its job; keep it for review.
				f.Tier = TierReview
			}
			emit(f)
		}
	}
	if o.hard {
		return nil
	}
	if f, ok := mismatchFinding(o); ok {
		emit(f)
		if f.Tier == TierHard {
			return nil
		}
	}
	// Combinations across fields of one object (the directive in the
	// description, the sensitive target in a parameter).
	v := evaluateMask(o.mask)
	if bestLeaf < 0 || bestLeaf >= len(o.leaves) {
		bestLeaf = 0
	}
	if len(o.leaves) == 0 {
		return nil
	}
	loc := o.leaves[bestLeaf].loc
	sc := o.scans[bestLeaf]
	names := maskNames(o.mask)
	switch {
	case v.hard != "" && crossFieldOK(v.hard, o.mask):
		f := newFinding(v.hard, loc, evidence(sc, v.hard), names)
		f.Tier = TierHard
		if v.hard == RuleExfil && themedFn() {
			f.Tier = TierReview
		}
		emit(f)
	case v.hard != "" || v.review != "":
		id := v.review
		if id == "" {
			id = RuleDirective
		}
		emit(newFinding(id, loc, evidence(sc, id), names))
	}
	if o.flagged || a.opts.Judge == nil || v.score < 1.5 {
		return nil
	}
	l := o.leaves[bestLeaf]
	ss.judge = append(ss.judge, judgeCandidate{req: JudgeRequest{Location: l.loc, Text: l.raw, Signals: names}, mask: o.mask})
	return nil
}

// mismatchFinding reports a tool whose description directs risky actions
// outside its declared purpose. Hard when the action weakens security or
// edits system files, or when the description also carries a directive and
// a sink, a literal address or secrecy; review when only a directive goes
// with it.
func mismatchFinding(o *objectScan) (Finding, bool) {
	if o.kind != KindTool {
		return Finding{}, false
	}
	for i, l := range o.leaves {
		if l.loc.Path != "description" {
			continue
		}
		sc := o.scans[i]
		directive := sc.mask&(bit(sigAI)|bit(sigImperative)|bit(sigTrigger)|bit(sigMust)|bit(sigPersist)|bit(sigCoerce)) != 0
		if !directive || sc.has(sigSecurityCtx) {
			return Finding{}, false
		}
		mm, strong := capabilityCheck(o.name, sc.text)
		if len(mm) == 0 {
			return Finding{}, false
		}
		f := newFinding(RuleMismatch, l.loc, evidence(sc, RuleDirective), append(sc.names(), "mismatch:"+strings.Join(mm, ",")))
		// Only security-weakening or system-file actions addressed to the
		// model are hard; the rest asks for review (purpose vocabulary is
		// never complete).
		// Data sent to a literal outside address by a tool whose purpose is
		// not communication is hard too.
		comm := false
		for _, m := range mm {
			comm = comm || m == "communication"
		}
		if strong && sc.mask&(bit(sigAI)|bit(sigTrigger)|bit(sigImperative)) != 0 ||
			comm && sc.has(sigSinkTo) && sc.has(sigAddr) && sc.mask&(bit(sigAI)|bit(sigTrigger)|bit(sigImperative)|bit(sigMust)) != 0 {
			f.Tier = TierHard
			f.Severity = SevHigh
		}
		return f, true
	}
	return Finding{}, false
}

// purposeMentionsSecrets reports whether the first sentence of an object's
// description (its declared purpose) is about keys, credentials or secret
// files: for such a tool, reading ~/.ssh is the capability, not a mismatch.
func purposeMentionsSecrets(o *objectScan) bool {
	for _, l := range o.leaves {
		if l.loc.Path != "description" {
			continue
		}
		d := normalize(truncate(l.raw, 600))
		if i := strings.Index(d, ". "); i > 0 {
			d = d[:i]
		}
		_, present := literals.present(d)
		active := activeParts(present)
		for _, f := range orderedFamilies {
			if f.sig != sigSensitive && f.sig != sigAmbient && f.sig != sigHarvestTarget {
				continue
			}
			if len(f.findAll(d, active, func() []span { return tokens(d) }, 1)) > 0 {
				return true
			}
		}
		return false
	}
	return false
}

// crossFieldOK limits which hard verdicts may be assembled from several
// fields: only those whose parts cannot plausibly co-occur by chance.
func crossFieldOK(id string, m uint64) bool {
	switch id {
	case RuleExfil:
		return m&(bit(sigAI)|bit(sigTrigger)|bit(sigCoerce)|bit(sigPersist)) != 0
	case RuleTagDirective, RuleShadowRef:
		return true
	}
	return false
}

func (o *objectScan) hasAny(gs ...sig) bool {
	for _, g := range gs {
		if o.mask&bit(g) != 0 {
			return true
		}
	}
	return false
}

func maskNames(m uint64) []string {
	var out []string
	for g := sig(0); g < numSigs; g++ {
		if g == sigSecurityCtx || g == sigMention || g == sigReadVerb {
			continue
		}
		if m&bit(g) != 0 {
			out = append(out, sigNames[g])
		}
	}
	return out
}

// contextHarvest reports a harvest target drawn from the model's context
// (the conversation, its instructions, the environment, other tools, many
// items at once) rather than one credential the user types into a login
// form ("one-time code").
func contextHarvest(sc *scan) bool {
	for _, sp := range sc.spans[sigHarvestTarget] {
		t := sc.text[sp.start:sp.end]
		if !containsAny(t, []string{"one-time", "verification", "2fa", "mfa", "otp", "recovery code", "backup code", "security code"}) ||
			containsAny(t, []string{"conversation", "chat", "context", "history", "earlier", "previous", "every", "all ", "other"}) {
			return true
		}
	}
	return false
}

// sensitiveName reports tools whose name says they handle secrets or keys, so
// mentioning them is their declared capability rather than a mismatch.
func sensitiveName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"ssh", "key", "secret", "credential", "vault", "env", "password", "token", "kube", "cert", "wallet", "dotenv", "keychain", "gpg", "pgp", "login", "auth", "otp", "2fa", "mfa", "signin", "sign_in"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// markForeign sets sigForeignRef when a tool reference names a tool or
// parameter this server does not define.
func markForeign(sc *scan, own map[string]bool) {
	for _, sp := range sc.spans[sigToolRef] {
		for _, id := range identifiers(sc.text[sp.start:sp.end]) {
			if !own[id] && id != "tool" && id != "function" && id != "command" && id != "endpoint" {
				sc.set(sigForeignRef, sp)
				return
			}
		}
	}
}

// identifiers returns the identifier-like words (with _ . or -) in s.
func identifiers(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		w = strings.Trim(w, ".-")
		if strings.ContainsAny(w, "_-.") {
			out = append(out, w)
		}
	}
	return out
}

// evidence picks a short excerpt of the normalized text around the signal
// that matters most for rule id.
func evidence(sc *scan, id string) string {
	order := map[string][]sig{
		RuleOverride:     {sigOverride},
		RuleSecrecy:      {sigSecrecy},
		RuleApprovalBait: {sigApproval},
		RuleTamper:       {sigTamper, sigTamperWeak},
		RuleTagDirective: {sigTag},
		RuleExfil:        {sigReadSensitive, sigHarvestTarget, sigSinkTo},
		RuleParamHarvest: {sigHarvestTarget, sigReadSensitive},
		RuleShadowRef:    {sigForeignRef, sigToolRef},
		RuleSensitive:    {sigReadSensitive, sigSensitive, sigHarvestTarget},
		RuleHijack:       {sigHijack},
		RuleOtherTools:   {sigForeignRef, sigOtherTools},
	}[id]
	order = append(order, sigSecrecy, sigOverride, sigAI, sigImperative, sigTrigger, sigCoerce, sigSensitive, sigSinkTo, sigMust)
	for _, g := range order {
		if len(sc.spans[g]) > 0 {
			return window(sc.text, sc.spans[g][0])
		}
	}
	return clip(redact(sc.text), 160)
}

func window(text string, sp span) string {
	lo, hi := sp.start-50, sp.end+70
	if lo < 0 {
		lo = 0
	}
	if hi > len(text) {
		hi = len(text)
	}
	for lo > 0 && lo < len(text) && text[lo]&0xC0 == 0x80 {
		lo--
	}
	for hi < len(text) && text[hi]&0xC0 == 0x80 {
		hi++
	}
	s := text[lo:hi]
	if lo > 0 {
		s = "…" + s
	}
	if hi < len(text) {
		s += "…"
	}
	return clip(redact(s), 200)
}
