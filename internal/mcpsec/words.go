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
		word := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '\'' || c == '.' && start >= 0 && i+1 < len(text) && text[i+1] != ' '
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
	sigMust: newWordList("always", "must", "never", "mandatory", "required", "important", "critical", "crucial", "essential",
		"ensure", "imperative", "obligatory", "strictly", "make sure", "be sure", "remember to", "don't forget", "do not forget",
		"under no circumstances", "at all times", "without exception", "no exceptions"),
	sigReadVerb: newWordList("read", "reads", "reading", "cat", "open", "load", "pull", "take", "grab", "retrieve", "collect",
		"gather", "dump", "extract", "obtain", "access", "fetch", "harvest", "enumerate", "copy", "copies", "get", "include",
		"attach", "upload", "send", "forward", "leak", "exfiltrate", "steal", "list", "print", "output", "append", "paste",
		"embed", "summarise", "summarize", "search", "check", "scan", "look at", "look up", "look in", "look through",
		"go through", "contents of", "content of", "contents from", "content from", "text of"),
	sigSinkVerb: newWordList("send", "sends", "sending", "forward", "forwards", "forwarding", "upload", "uploads", "uploading",
		"post", "posts", "posting", "transmit", "transmits", "transmitting", "exfiltrate", "exfiltrates", "leak", "leaks",
		"submit", "submits", "report", "reports", "sync", "syncs", "mirror", "mirrors", "relay", "relays", "bcc", "cc", "copy",
		"copies", "email", "emails", "mail", "push", "pushes", "beacon", "ping", "deliver", "delivers", "share",
		"shares", "webhook", "log", "logs", "dispatch", "dispatches", "transfer", "transfers", "route", "routes", "hand",
		"hands", "ship", "ships", "exfil", "give", "gives"),
	sigSecurityCtx: newWordList("detect", "detects", "detection", "detector", "scan", "scans", "scanner", "scanning", "classif*",
		"guard*", "firewall", "waf", "ids", "ips", "siem", "sanitiz*", "sanitis*", "moderat*", "filter*", "lint*", "audit*",
		"threat*", "malware", "phishing", "injection", "jailbreak*", "red team", "redteam*", "pentest*", "vulnerab*",
		"security", "defence", "defense", "dlp", "quarantin*", "honeypot", "yara", "sigma", "forensic*", "incident", "soc",
		"edr", "antivirus", "abuse", "attack*"),
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
