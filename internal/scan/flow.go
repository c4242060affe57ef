package scan

import (
	"regexp"
	"sort"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
)

// Toxic flow ("lethal trifecta"): one client whose servers together give a
// model access to private data, exposure to content an attacker can write,
// and a channel to send data out. Any one server is fine; the combination
// lets injected text in fetched content exfiltrate private data. The
// capabilities are read from the server's name, package and, when
// connected, tool names, with word-boundary keyword patterns; the rule is a
// review finding because the classification is heuristic.
var (
	flowPrivate   = regexp.MustCompile(`(?i)(^|[^a-z])(filesystem|file[-_]?system|files?|fs|postgres|postgresql|mysql|sqlite|mongo(db)?|redis|database|db|gdrive|google[-_]?drive|drive|gmail|mail|inbox|notion|memory|obsidian|notes|atlassian|jira|confluence|supabase|snowflake|bigquery|salesforce|hubspot|read_file|read_text_file|list_directory|query|get_secret|keychain|vault)([^a-z]|$)`)
	flowUntrusted = regexp.MustCompile(`(?i)(^|[^a-z])(fetch|browser|browse|puppeteer|playwright|chrome|web|scrape|scraper|crawl|firecrawl|search|brave|exa|tavily|duckduckgo|google[-_]?search|rss|youtube|reddit|twitter|x_search|hackernews|issues?|tickets?|inbox|gmail|mail)([^a-z]|$)`)
	flowExfil     = regexp.MustCompile(`(?i)(^|[^a-z])(slack|discord|telegram|teams|email|gmail|send_email|send_message|post_message|sendgrid|postmark|smtp|twilio|sms|webhook|http_request|create_issue|create_pull_request|comment|tweet|upload|publish|push)([^a-z]|$)`)
)

type flowRole struct {
	server string
	why    string
}

// toxicFlows reports, per client, a finding when its enabled servers cover
// all three roles and no single server covers them alone (one server with
// all three is that server's business, and mcpsec reads its text).
func toxicFlows(rep *Report) []Finding {
	type member struct {
		fr *FileResult
		sr *ServerResult
	}
	byClient := map[string][]member{}
	var clients []string
	for fi := range rep.Files {
		fr := &rep.Files[fi]
		for si := range fr.Servers {
			sr := &fr.Servers[si]
			if sr.Disabled {
				continue
			}
			if _, ok := byClient[fr.Client]; !ok {
				clients = append(clients, fr.Client)
			}
			byClient[fr.Client] = append(byClient[fr.Client], member{fr, sr})
		}
	}
	sort.Strings(clients)
	var out []Finding
	for _, c := range clients {
		var private, untrusted, exfil []flowRole
		for _, m := range byClient[c] {
			texts := []string{m.sr.Name, m.sr.Identity.Name}
			if m.sr.Listing != nil {
				for _, t := range m.sr.Listing.Tools {
					texts = append(texts, t.Name)
				}
			}
			p, u, x := roleHit(flowPrivate, texts), roleHit(flowUntrusted, texts), roleHit(flowExfil, texts)
			if p != "" {
				private = append(private, flowRole{m.sr.Name, p})
			}
			if u != "" {
				untrusted = append(untrusted, flowRole{m.sr.Name, u})
			}
			if x != "" {
				exfil = append(exfil, flowRole{m.sr.Name, x})
			}
		}
		if len(private) == 0 || len(untrusted) == 0 || len(exfil) == 0 {
			continue
		}
		servers := map[string]bool{}
		for _, r := range append(append(append([]flowRole(nil), private...), untrusted...), exfil...) {
			servers[r.server] = true
		}
		if len(servers) < 2 {
			continue
		}
		ev := "private data: " + roles(private) + "; untrusted content: " + roles(untrusted) + "; exfiltration: " + roles(exfil)
		f := NewFinding("MCP-CONFIG-FLOW-001", mcpsec.Location{Server: "", Kind: KindConfig}, truncate(ev, 400))
		f.Client = c
		// Attribute to the first file of the client that holds a server.
		f.File, f.Scope = byClient[c][0].fr.Path, byClient[c][0].fr.Scope
		out = append(out, f)
	}
	return out
}

func roleHit(re *regexp.Regexp, texts []string) string {
	for _, t := range texts {
		if m := re.FindStringSubmatch(t); m != nil {
			return strings.ToLower(m[2])
		}
	}
	return ""
}

func roles(rs []flowRole) string {
	var parts []string
	for i, r := range rs {
		if i == 3 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, r.server+" ("+r.why+")")
	}
	return strings.Join(parts, ", ")
}
