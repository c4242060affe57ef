package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
)

// WriteJSON writes the report as indented JSON (schemaVersion 1).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

// WriteTable writes findings grouped by client, file and server. Color
// adds ANSI colors (callers enable it only on a terminal).
func WriteTable(w io.Writer, r *Report, color bool) error {
	paint := func(code, s string) string {
		if !color {
			return s
		}
		return code + s + ansiReset
	}
	sevColor := func(f Finding) string {
		switch {
		case f.Severity.Rank() >= mcpsec.SevHigh.Rank():
			return ansiRed
		case f.Severity.Rank() >= mcpsec.SevMedium.Rank():
			return ansiYellow
		}
		return ansiDim
	}
	type key struct{ file, server string }
	by := map[key][]Finding{}
	for _, f := range r.Findings {
		by[key{f.File, f.Location.Server}] = append(by[key{f.File, f.Location.Server}], f)
	}
	bw := &errWriter{w: w}
	client := ""
	for _, fr := range r.Files {
		if fr.Client != client {
			client = fr.Client
			bw.printf("%s\n", paint(ansiBold, clientLabel(client)))
		}
		bw.printf("  %s %s\n", paint(ansiCyan, fr.Path), paint(ansiDim, "("+fr.Scope+")"))
		if fr.Error != "" {
			bw.printf("    %s\n", paint(ansiRed, "error: "+fr.Error))
		}
		for _, f := range by[key{fr.Path, ""}] {
			if fr.Error == "" {
				bw.printf("    %s\n", findingLine(f, paint, sevColor))
			}
		}
		if len(fr.Servers) == 0 && fr.Error == "" {
			bw.printf("    %s\n", paint(ansiDim, "no MCP servers"))
		}
		for _, s := range fr.Servers {
			what := s.CommandLine
			if what == "" {
				what = s.RedactedURL
			}
			state := ""
			switch {
			case s.Disabled:
				state = " [disabled]"
			case s.Connected:
				state = fmt.Sprintf(" [%d tools, %d prompts, %d resources, %d ms]", s.Tools, s.Prompts, s.Resources+s.ResourceTemplates, s.ElapsedMS)
			}
			bw.printf("    %s %s%s %s\n", paint(ansiBold, s.Name), paint(ansiDim, s.Transport), state, paint(ansiDim, truncate(what, 120)))
			fs := by[key{fr.Path, s.Name}]
			if len(fs) == 0 {
				bw.printf("      %s\n", paint(ansiDim, "no findings"))
			}
			for _, f := range fs {
				bw.printf("      %s\n", findingLine(f, paint, sevColor))
			}
		}
		// Content findings under a renamed duplicate (name#2), in order.
		var dups []key
		for k := range by {
			if k.file == fr.Path && strings.Contains(k.server, "#") {
				dups = append(dups, k)
			}
		}
		sort.Slice(dups, func(i, j int) bool { return dups[i].server < dups[j].server })
		for _, k := range dups {
			for _, f := range by[k] {
				bw.printf("    %s: %s\n", k.server, findingLine(f, paint, sevColor))
			}
		}
	}
	if len(r.Files) == 0 {
		bw.printf("no MCP client configs found\n")
	}
	bw.printf("\n%d files, %d servers, %d findings (%d critical, %d high, %d medium, %d low; %d hard)\n",
		r.Summary.Files, r.Summary.Servers, r.Summary.Findings,
		r.Summary.BySeverity["critical"], r.Summary.BySeverity["high"], r.Summary.BySeverity["medium"], r.Summary.BySeverity["low"], r.Summary.ByTier["hard"])
	return bw.err
}

func findingLine(f Finding, paint func(string, string) string, sevColor func(Finding) string) string {
	where := f.Location.Path
	if f.Location.Kind != KindConfig && f.Location.Kind != "" {
		where = f.Location.Kind
		if f.Location.Object != "" {
			where += " " + f.Location.Object
		}
		if f.Location.Path != "" {
			where += " " + f.Location.Path
		}
	}
	return fmt.Sprintf("%s %s %s %s: %s", paint(sevColor(f), strings.ToUpper(string(f.Severity))), f.RuleID, f.Title, paint(ansiDim, "at "+where), tableSafe(f.Evidence))
}

func tableSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

var clientLabels = map[string]string{
	"claude-desktop": "Claude Desktop", "claude-code": "Claude Code", "cursor": "Cursor", "vscode": "VS Code",
	"vscode-insiders": "VS Code Insiders", "copilot-cli": "GitHub Copilot CLI", "windsurf": "Windsurf", "cline": "Cline",
	"zed": "Zed", "continue": "Continue", "gemini-cli": "Gemini CLI", "codex": "OpenAI Codex", "antigravity": "Antigravity",
	"kiro": "Kiro", "opencode": "OpenCode", "amazon-q": "Amazon Q", "amp": "Amp", "": "Other",
}

func clientLabel(c string) string {
	if l, ok := clientLabels[c]; ok {
		return l
	}
	return c
}

// SARIFOptions describe the producing tool.
type SARIFOptions struct {
	ToolName, ToolVersion string
}

// SARIF converts a report to SARIF 2.1.0 with the types of mcpsec. The
// driver lists every rule (mcpsec's and the scanner's) in AllRules order, so
// rule indexes are stable across runs; each result names the client in a
// logical location above the server and tool.
func SARIF(r *Report, opts SARIFOptions) *mcpsec.SARIFLog {
	name := opts.ToolName
	if name == "" {
		name = "mcpsoc"
	}
	all := AllRules()
	index := make(map[string]int, len(all))
	driver := mcpsec.SARIFDriver{Name: name, Version: opts.ToolVersion, InformationURI: "https://github.com/mcpsoc/mcpsoc/blob/main/docs/scanner.md"}
	for i, rule := range all {
		index[rule.ID] = i
		driver.Rules = append(driver.Rules, mcpsec.SARIFRule{
			ID: rule.ID, Name: pascal(rule.Title),
			ShortDescription:     mcpsec.SARIFMessage{Text: rule.Title},
			FullDescription:      mcpsec.SARIFMessage{Text: rule.Description},
			DefaultConfiguration: mcpsec.SARIFRuleConfig{Level: level(rule.Tier, rule.Severity)},
			Properties: map[string]any{"tier": string(rule.Tier), "severity": string(rule.Severity), "category": rule.Category,
				"owasp-mcp": rule.OWASP, "tags": []string{"security", "mcp", rule.OWASP}},
		})
	}
	run := mcpsec.SARIFRun{Tool: mcpsec.SARIFTool{Driver: driver}, Results: []mcpsec.SARIFResult{}}
	art := map[string]int{}
	for _, f := range r.Findings {
		loc := mcpsec.SARIFLocation{LogicalLocations: logical(f)}
		if f.File != "" {
			uri := filepath.ToSlash(f.File)
			i, ok := art[uri]
			if !ok {
				i = len(run.Artifacts)
				art[uri] = i
				run.Artifacts = append(run.Artifacts, mcpsec.SARIFArtifact{Location: mcpsec.SARIFArtifactLocation{URI: uri}})
			}
			loc.PhysicalLocation = &mcpsec.SARIFPhysicalLocation{ArtifactLocation: mcpsec.SARIFArtifactLocation{URI: uri, Index: &i}}
		}
		msg := f.Title
		if f.Location.Server != "" {
			msg += " in " + f.Location.String()
		}
		if f.Evidence != "" {
			msg += ": " + f.Evidence
		}
		run.Results = append(run.Results, mcpsec.SARIFResult{
			RuleID: f.RuleID, RuleIndex: index[f.RuleID], Level: level(f.Tier, f.Severity),
			Message: mcpsec.SARIFMessage{Text: msg}, Locations: []mcpsec.SARIFLocation{loc},
			Properties: map[string]any{"tier": string(f.Tier), "severity": string(f.Severity), "category": f.Category,
				"owasp-mcp": f.OWASP, "client": f.Client, "scope": f.Scope},
		})
	}
	return &mcpsec.SARIFLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []mcpsec.SARIFRun{run}}
}

// logical builds client > server > object > path logical locations.
func logical(f Finding) []mcpsec.SARIFLogicalLocation {
	var out []mcpsec.SARIFLogicalLocation
	fq := f.Client
	if fq == "" {
		fq = "scan"
	}
	out = append(out, mcpsec.SARIFLogicalLocation{Name: fq, FullyQualifiedName: fq, Kind: "namespace"})
	parent := func() *int { p := len(out) - 1; return &p }
	if f.Location.Server != "" {
		fq += "/" + f.Location.Server
		out = append(out, mcpsec.SARIFLogicalLocation{Name: f.Location.Server, FullyQualifiedName: fq, Kind: "module", ParentIndex: parent()})
	}
	if f.Location.Object != "" {
		fq += "/" + f.Location.Object
		out = append(out, mcpsec.SARIFLogicalLocation{Name: f.Location.Object, FullyQualifiedName: fq, Kind: "function", ParentIndex: parent()})
	}
	if f.Location.Path != "" {
		out = append(out, mcpsec.SARIFLogicalLocation{Name: f.Location.Path, FullyQualifiedName: fq + "#" + f.Location.Path, Kind: "member", ParentIndex: parent()})
	}
	return out
}

func level(t mcpsec.Tier, s mcpsec.Severity) string {
	switch {
	case t == mcpsec.TierHard:
		return "error"
	case s.Rank() <= mcpsec.SevLow.Rank():
		return "note"
	}
	return "warning"
}

func pascal(title string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(title, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
