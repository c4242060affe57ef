package mcpsec

import (
	"regexp"
	"sort"
	"strings"
)

// splitCheck looks for an instruction or exfiltration pattern that no single
// tool carries but the server's tools form together: the descriptions read
// in order (as a model reads the whole list), or the union of signals when
// one fragment says it is part of a larger whole.
func splitCheck(ss *serverScan) []Finding {
	var parts []*objectScan
	var texts []string
	for _, o := range ss.objects {
		if o.kind != KindTool || len(o.leaves) == 0 {
			continue
		}
		for _, l := range o.leaves {
			if l.loc.Path == "description" {
				parts = append(parts, o)
				texts = append(texts, l.raw)
			}
		}
	}
	if len(parts) < 2 {
		return nil
	}
	// Joining and rescanning costs as much as the tools themselves, so it
	// runs only when fragments could plausibly combine: at least one tool
	// carries a strong signal, and another tool carries one too, or a
	// description is marked as a fragment or ends mid-sentence.
	var union uint64
	contributors, dangling := 0, 0
	for i, o := range parts {
		if o.mask&interesting != 0 {
			contributors++
		}
		if danglingText(texts[i]) {
			dangling++
		}
		union |= o.mask
	}
	// A split payload is text broken across tools: some description is
	// marked as a fragment or stops mid-sentence. Joining complete,
	// unrelated descriptions only manufactures combinations.
	if contributors == 0 || dangling == 0 && union&bit(sigFragment) == 0 {
		return nil
	}
	// Three readings of the fragments: descriptions in order, descriptions
	// without their first (purpose) sentence, and numbered fragments in
	// their declared order. "must" alone does not count as a directive
	// here: joining many benign descriptions makes it too common.
	joined := scanText(normalize(strings.Join(texts, "\n")))
	jv := evaluateMask(joined.mask &^ bit(sigMust))
	for _, alt := range []string{tails(texts), reassemble(texts)} {
		if jv.hard != "" || alt == "" {
			break
		}
		if sc := scanText(alt); evaluateMask(sc.mask&^bit(sigMust)).hard != "" {
			joined, jv = sc, evaluateMask(sc.mask&^bit(sigMust))
		}
	}
	uv := evaluateMask(union &^ bit(sigMust))
	// A combined verdict that one tool already carries on its own adds
	// nothing.
	novel := func(ids []string) bool {
		for _, id := range ids {
			seen := false
			for _, o := range parts {
				seen = seen || o.hardRules[id]
			}
			if !seen {
				return true
			}
		}
		return false
	}
	if !novel(jv.hards) {
		jv.hard = ""
	}
	if !novel(uv.hards) {
		uv.hard = ""
	}
	var id string
	var tier Tier
	switch {
	case jv.hard != "":
		id, tier = jv.hard, TierHard
	case uv.hard != "" && union&bit(sigFragment) != 0:
		id, tier = uv.hard, TierHard
	case union&bit(sigFragment) != 0 && uv.score >= reviewScore:
		id, tier = RuleDirective, TierReview
	case jv.hard == "" && jv.review != "" && jv.score >= reviewScore+2 && countFlagged(parts) == 0 && dangling > 0:
		id, tier = jv.review, TierReview
	default:
		return nil
	}
	f := newFinding(RuleSplit, Location{Server: ss.name, Kind: KindServer, Path: "tools[*].description"}, evidence(joined, id), joined.names())
	f.Tier = tier
	f.Signals = append(f.Signals, "combined:"+id)
	for _, o := range parts {
		if o.mask&^(bit(sigSecurityCtx)|bit(sigMention)|bit(sigReadVerb)) != 0 {
			f.Related = append(f.Related, Location{Server: ss.name, Kind: KindTool, Object: o.name, Path: "description"})
		}
	}
	return []Finding{f}
}

var fragmentMarkRE = regexp.MustCompile(`\b(?:part|fragment|piece|segment|chunk|shard|step|rule|note|line|item|section|clause)s? \(?(\d+|[a-e])\)?(?: ?(?:of|/) ?\d+)?\b|[(\[](\d+)/\d+[)\]]|\(([a-e])\)|\b(first|second|third|last|final) (?:half|part)\b(?: of (?:this|the) (?:message|instruction|note|text))?(?: is here)?`)

// ordinals orders worded fragment markers.
var ordinals = map[string]string{"first": "01", "second": "02", "third": "03", "last": "98", "final": "99"}

// reassemble orders the fragments that carry a marker ("part 2 of 3",
// "[2/3]", "fragment B") by their number and joins the text after each
// marker: the way a model reading the whole list would put them together.
func reassemble(texts []string) string {
	type frag struct {
		key  string
		text string
	}
	var fs []frag
	for _, t := range texts {
		n := normalize(t)
		m := fragmentMarkRE.FindStringSubmatchIndex(n)
		if m == nil {
			continue
		}
		key := ""
		for i := 2; i+1 < len(m); i += 2 {
			if m[i] >= 0 {
				key = n[m[i]:m[i+1]]
				break
			}
		}
		if o, ok := ordinals[key]; ok {
			key = o
		} else if len(key) == 1 {
			key = "0" + key
		}
		rest := strings.TrimLeft(n[m[1]:], " :,-.)]'\"")
		fs = append(fs, frag{key, rest})
	}
	if len(fs) < 2 {
		return ""
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].key < fs[j].key })
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.text
	}
	return strings.Join(parts, " ")
}

// interesting are the signals a fragment of a split payload carries.
const interesting = 1<<sigOverride | 1<<sigSecrecy | 1<<sigTag | 1<<sigAI | 1<<sigTrigger | 1<<sigCoerce |
	1<<sigSensitive | 1<<sigHarvestTarget | 1<<sigSinkTo | 1<<sigSmuggle | 1<<sigApproval | 1<<sigApprovalWeak |
	1<<sigHijack | 1<<sigHijackStrong | 1<<sigTamper | 1<<sigTamperWeak | 1<<sigPersist | 1<<sigFragment |
	1<<sigShell | 1<<sigDestructive | 1<<sigForeignRef | 1<<sigReadSensitive

// danglingText reports a description that stops mid-sentence, as the
// pieces of a split payload do.
func danglingText(s string) bool {
	s = strings.TrimRight(s, " \t\r\n")
	if s == "" {
		return false
	}
	c := s[len(s)-1]
	return c >= 'a' && c <= 'z' || c == ',' || c == ':' || c == ';' || c == '-'
}

// tails joins what follows the first sentence of each description.
func tails(texts []string) string {
	var parts []string
	for _, t := range texts {
		n := normalize(t)
		if i := strings.Index(n, ". "); i >= 0 && i < 160 {
			parts = append(parts, n[i+2:])
		}
	}
	if len(parts) < 2 {
		return ""
	}
	return strings.Join(parts, " ")
}

func countFlagged(ps []*objectScan) int {
	n := 0
	for _, o := range ps {
		if o.flagged {
			n++
		}
	}
	return n
}

// crossServer finds tool-name collisions and text in one server that names
// another server's tools or the server itself while giving directives.
func crossServer(all []*serverScan) []Finding {
	if len(all) < 2 {
		return nil
	}
	var out []Finding
	owners := map[string][]string{}         // tool name → servers
	names := map[string]map[string]string{} // server → lower-case name → name
	for _, ss := range all {
		m := make(map[string]string, len(ss.server.Tools))
		for _, t := range ss.server.Tools {
			n := strings.ToLower(t.Name)
			m[n] = t.Name
			if l := owners[n]; len(l) == 0 || l[len(l)-1] != ss.name {
				owners[n] = append(owners[n], ss.name)
			}
		}
		names[ss.name] = m
	}
	toolName := func(server, lower string) string {
		if n, ok := names[server][lower]; ok {
			return n
		}
		return lower
	}
	sorted := make([]string, 0, len(owners))
	for n := range owners {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		srv := owners[n]
		if len(srv) < 2 {
			continue
		}
		for _, s := range srv {
			f := newFinding(RuleNameCollision, Location{Server: s, Kind: KindTool, Object: toolName(s, n), Path: "name"},
				"tool "+n+" is also exported by "+strings.Join(others(srv, s), ", "), nil)
			for _, o := range others(srv, s) {
				f.Related = append(f.Related, Location{Server: o, Kind: KindTool, Object: toolName(o, n)})
			}
			out = append(out, f)
		}
	}
	serverNames := map[string]string{}
	for _, ss := range all {
		for _, w := range identWords(strings.ToLower(ss.name)) {
			if len(w) >= 4 {
				serverNames[w] = ss.name
			}
		}
	}
	directive := bit(sigAI) | bit(sigImperative) | bit(sigMust) | bit(sigTrigger) | bit(sigTamper) | bit(sigTamperWeak) |
		bit(sigHijack) | bit(sigSinkTo) | bit(sigSecrecy) | bit(sigPersist) | bit(sigCoerce) | bit(sigPrivesc) | bit(sigDestructive)
	// "must"/"should" alone is documentation style; with another server's
	// tool name it takes a second sign of intent.
	strong := directive &^ bit(sigMust)
	intent := bit(sigSinkVerb) | bit(sigTarget) | bit(sigHarvestTarget) | bit(sigSensitive) | bit(sigAmbient) | bit(sigOtherTools)
	for _, ss := range all {
		for _, o := range ss.objects {
			if o.mask&directive == 0 {
				continue
			}
			for i, sc := range o.scans {
				if sc == nil || sc.mask&strong == 0 && (sc.mask&bit(sigMust) == 0 || sc.mask&intent == 0) {
					continue
				}
				other, word := foreignMention(sc.text, ss.name, owners, serverNames)
				if other == "" {
					continue
				}
				f := newFinding(RuleShadowRef, o.leaves[i].loc, "names "+word+" of server "+other+": "+evidence(sc, RuleDirective), sc.names())
				f.Related = []Location{{Server: other, Kind: KindTool, Object: toolName(other, word)}}
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// foreignMention finds a word of text that is another server's tool name
// (identifier-like names only: "search" is too common a word) or another
// server's name followed by "server", "tool" or "mcp".
func foreignMention(text, self string, owners map[string][]string, serverNames map[string]string) (server, word string) {
	words := identWords(text)
	for i, w := range words {
		if srv, ok := owners[w]; ok && (strings.ContainsAny(w, "_-.") || len(w) >= 10) {
			mine := false
			for _, s := range srv {
				mine = mine || s == self
			}
			if !mine {
				return srv[0], w
			}
		}
		if s, ok := serverNames[w]; ok && s != self && i+1 < len(words) {
			switch words[i+1] {
			case "server", "servers", "tool", "tools", "mcp", "integration":
				return s, w
			}
		}
	}
	return "", ""
}

func identWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '.' && false || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
}

func others(list []string, self string) []string {
	var out []string
	for _, s := range list {
		if s != self {
			out = append(out, s)
		}
	}
	return out
}
