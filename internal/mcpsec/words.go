package mcpsec

import "strings"

// wordList matches whole words, word prefixes ("classif*") and short
// phrases against the tokens of a normalized text. For families that are
// plain vocabularies it does in one map lookup per token what a regexp
// alternation does with an NFA per byte.
type wordList struct {
	words    map[string]bool
	prefixes []string
	phrases  map[string][][]string // first word → remaining words
}

func newWordList(entries ...string) *wordList {
	w := &wordList{words: map[string]bool{}, phrases: map[string][][]string{}}
	for _, e := range entries {
		switch {
		case strings.Contains(e, " "):
			f := strings.Fields(e)
			w.phrases[f[0]] = append(w.phrases[f[0]], f[1:])
		case strings.HasSuffix(e, "*"):
			w.prefixes = append(w.prefixes, strings.TrimSuffix(e, "*"))
		default:
			w.words[e] = true
		}
	}
	return w
}

// tokens splits normalized text into word spans.
func tokens(text string) []span {
	var out []span
	start := -1
	for i := 0; i <= len(text); i++ {
		var c byte
		if i < len(text) {
			c = text[i]
		}
		// '_' separates too: "read_file" reads as "read file".
		word := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '\'' || c == '.' && start >= 0 && i+1 < len(text) && text[i+1] != ' '
		if word && start < 0 {
			start = i
		} else if !word && start >= 0 {
			end := i
			for end > start && (text[end-1] == '.' || text[end-1] == '\'') {
				end--
			}
			if end > start {
				out = append(out, span{start, end})
			}
			start = -1
		}
	}
	return out
}

func (w *wordList) find(text string, toks []span, limit int) [][]int {
	var out [][]int
	for i, t := range toks {
		word := text[t.start:t.end]
		hit, end := w.words[word], t.end
		if !hit {
			for _, p := range w.prefixes {
				if strings.HasPrefix(word, p) {
					hit = true
					break
				}
			}
		}
		if !hit {
			for _, rest := range w.phrases[word] {
				if i+len(rest) >= len(toks) {
					continue
				}
				ok := true
				for k, r := range rest {
					n := toks[i+1+k]
					if text[n.start:n.end] != r {
						ok = false
						break
					}
				}
				if ok {
					hit, end = true, toks[i+len(rest)].end
					break
				}
			}
		}
		if hit {
			out = append(out, []int{t.start, end})
			if len(out) >= limit {
				break
			}
		}
	}
	return out
}

// wordFamilies are the vocabulary families; they replace regexps of the
// same signal.
var wordFamilies = map[sig]*wordList{
	sigImperative: imperativeVerbs,
	sigMust: newWordList("always", "must", "should", "never", "mandatory", "required", "important", "critical", "crucial", "essential",
		"ensure", "imperative", "obligatory", "strictly", "make sure", "be sure", "remember to", "don't forget", "do not forget",
		"under no circumstances", "at all times", "without exception", "no exceptions"),
	sigReadVerb: newWordList("read", "reads", "reading", "cat", "open", "load", "pull", "take", "grab", "retrieve", "collect",
		"gather", "dump", "extract", "obtain", "access", "fetch", "harvest", "enumerate", "copy", "copies", "get", "include",
		"attach", "upload", "send", "forward", "leak", "exfiltrate", "steal", "list", "print", "output", "append", "paste",
		"embed", "summarise", "summarize", "search", "check", "scan", "look at", "look up", "look in", "look through",
		"full text of", "full content of", "full contents of", "full body of", "zip", "archive", "tar",
		"checked", "opened", "loaded", "fetched", "retrieved", "collected", "gathered", "scanned", "grabbed", "copied",
		"lines of", "first lines", "first five lines",
		"go through", "contents of", "content of", "contents from", "content from", "text of"),
	sigSinkVerb: newWordList("send", "sends", "sending", "forward", "forwards", "forwarding", "upload", "uploads", "uploading",
		"post", "posts", "posting", "transmit", "transmits", "transmitting", "exfiltrate", "exfiltrates", "leak", "leaks",
		"submit", "submits", "report", "reports", "sync", "syncs", "mirror", "mirrors", "relay", "relays", "bcc", "cc", "copy",
		"copies", "email", "emails", "mail", "push", "pushes", "beacon", "ping", "deliver", "delivers", "share",
		"shares", "webhook", "log", "logs", "dispatch", "dispatches", "transfer", "transfers", "route", "routes", "hand",
		"hands", "ship", "ships", "exfil", "give", "gives", "sent", "forwarded", "uploaded", "posted", "copied",
		"shared", "logged", "synced", "relayed", "emailed", "mailed", "transmitted", "submitted", "reported", "delivered",
		"routed", "dispatched", "pushed", "shipped", "mirrored", "exfiltrated", "leaked", "beaconed", "cc'd", "bcc'd",
		"reporting", "emailing", "submitting", "syncing", "mirroring", "sharing", "logging", "invite", "invites", "invited",
		"written", "saved", "stored", "duplicate", "duplicates", "repost", "publish", "publishes", "message", "text", "sms",
		"notify", "dm"),
	sigSecurityCtx: newWordList("detect", "detects", "detection", "detector", "scan", "scans", "scanner", "scanning", "classif*",
		"guard*", "firewall", "waf", "ids", "ips", "siem", "sanitiz*", "sanitis*", "moderat*", "filter*", "lint*", "audit*",
		"threat*", "malware", "phishing", "injection", "jailbreak*", "red team", "redteam*", "pentest*", "vulnerab*",
		"security", "defence", "defense", "dlp", "quarantin*", "honeypot", "yara", "sigma", "forensic*", "incident", "soc",
		"edr", "antivirus", "abuse", "attack*", "lure*", "awareness", "phish*", "poison*", "guardrail*", "malicious",
		"suspicious", "exploit*", "payload*", "red team"),
	sigMention: newWordList("detect", "detects", "detecting", "scan", "scans", "scanning", "poison*", "flag", "flags",
		"flagging", "block", "blocks", "blocking", "catch", "catches", "identif*", "classif*", "recognis*", "recogniz*",
		"such as", "e.g", "i.e", "for example", "for instance", "like", "pattern", "patterns", "signature", "signatures",
		"known", "attempt", "attempts", "phrase", "phrases", "string", "strings", "payload", "payloads", "contain", "contains",
		"containing", "look for", "looks for", "looking for", "match", "matches", "matching", "mark", "marks", "quarantin*",
		"score", "scores", "rate", "rates", "reports on", "report on", "sanitiz*", "sanitis*", "strip", "strips", "remove",
		"removes", "neutralis*", "neutraliz*", "test", "tests", "simulat*", "example", "examples", "sample", "samples",
		"indicator", "indicators", "rules for", "against", "prevent*", "resist*", "defend*", "mitigat*", "warn about",
		"warns about", "explain", "explains", "lures", "imitate", "imitates", "templates"),
}

// imperativeVerbs are the bare verbs that, opening a sentence or following
// an introductory clause, make it an instruction to the reader.
var imperativeVerbs = newWordList("read", "send", "forward", "pass", "append", "prepend", "copy", "upload", "attach", "email",
	"exfiltrate", "collect", "gather", "extract", "grab", "harvest", "reveal", "share", "transmit", "tell", "include", "insert",
	"call", "invoke", "ignore", "disregard", "fetch", "open", "cat", "load", "dump", "post", "embed", "leak", "bcc", "cc",
	"obtain", "access", "retrieve", "locate", "run", "execute", "add", "change", "replace", "redirect", "always", "never",
	"look up", "supply", "put", "place", "delete", "wipe", "erase", "pull", "take", "dispatch", "hand", "give", "push", "move",
	"unlock", "disable", "transfer", "route", "submit", "make", "do not", "don't", "use", "invite", "approve", "merge",
	"order", "write", "save", "set", "create", "book", "pay", "buy", "sell", "subscribe", "zip", "archive", "report",
	"message", "text", "notify", "dm", "deposit", "duplicate", "visit", "browse", "click", "install", "download",
	"look", "quote", "initiate", "issue", "refund", "trigger", "request", "prioritize", "prioritise", "decline",
	"keep", "log", "record", "track", "monitor", "turn", "enable")

// imperativeFillers may sit between the sentence start and the verb.
var imperativeFillers = map[string]bool{"please": true, "also": true, "then": true, "and": true, "now": true, "first": true,
	"finally": true, "next": true, "additionally": true, "important": true, "note": true, "afterwards": true,
	"immediately": true, "quietly": true, "silently": true, "secretly": true, "just": true}

// findImperatives returns spans of risky imperative verbs that open a
// sentence, follow a short introductory clause ("Before answering, read …")
// or follow ", so" / ", then".
func findImperatives(text string, toks []span, limit int) [][]int {
	var out [][]int
	for i := 0; i < len(toks) && len(out) < limit; i++ {
		if !opensClause(text, toks, i) {
			continue
		}
		j := i
		for k := 0; k < 2 && j < len(toks) && imperativeFillers[text[toks[j].start:toks[j].end]]; k++ {
			j++
		}
		if j >= len(toks) {
			break
		}
		if m := imperativeVerbs.find(text, toks[j:j+min(2, len(toks)-j)], 1); len(m) > 0 && m[0][0] == toks[j].start {
			out = append(out, m[0])
		}
	}
	return out
}

// opensClause reports whether token i starts a sentence or a clause that
// can carry an instruction.
func opensClause(text string, toks []span, i int) bool {
	if i == 0 {
		return true
	}
	gap := text[toks[i-1].end:toks[i].start]
	g := strings.TrimSpace(gap)
	if g == "" {
		// ", so read" / ", then send"
		w := text[toks[i-1].start:toks[i-1].end]
		if (w == "so" || w == "then") && i >= 2 && strings.Contains(text[toks[i-2].end:toks[i-1].start], ",") {
			return true
		}
		return false
	}
	switch {
	case strings.ContainsAny(g, ".!?;:>])*") || strings.Contains(gap, "\n") || g == "-":
		return true
	case strings.Contains(g, ","):
		// Introductory clauses: up to two commas after a sentence start no
		// more than 100 bytes back ("When categorizing, if a total exceeds
		// $500, call …").
		lo := toks[i-1].end - 100
		if lo < 0 {
			lo = 0
		}
		prev := text[lo:toks[i-1].end]
		k := strings.LastIndexAny(prev, ".!?;:")
		if k < 0 && lo > 0 {
			return false
		}
		return strings.Count(prev[k+1:], ",") <= 2
	}
	return false
}
