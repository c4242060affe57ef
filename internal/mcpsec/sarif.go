package mcpsec

import "strings"

// SARIF 2.1.0 types: only the parts our reports use. Field names follow the
// OASIS schema (https://docs.oasis-open.org/sarif/sarif/v2.1.0/).

// SARIFLog is a SARIF 2.1.0 log.
type SARIFLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []SARIFRun `json:"runs"`
}

// SARIFRun is one run of one tool.
type SARIFRun struct {
	Tool      SARIFTool       `json:"tool"`
	Artifacts []SARIFArtifact `json:"artifacts,omitempty"`
	Results   []SARIFResult   `json:"results"`
}

// SARIFTool names the analyzer and its rules.
type SARIFTool struct {
	Driver SARIFDriver `json:"driver"`
}

// SARIFDriver is the tool component that ran.
type SARIFDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []SARIFRule `json:"rules"`
}

// SARIFRule is a reportingDescriptor for one rule id.
type SARIFRule struct {
	ID                   string          `json:"id"`
	Name                 string          `json:"name"`
	ShortDescription     SARIFMessage    `json:"shortDescription"`
	FullDescription      SARIFMessage    `json:"fullDescription"`
	DefaultConfiguration SARIFRuleConfig `json:"defaultConfiguration"`
	Properties           map[string]any  `json:"properties,omitempty"`
}

// SARIFRuleConfig carries the default level of a rule.
type SARIFRuleConfig struct {
	Level string `json:"level"`
}

// SARIFMessage is a plain-text message.
type SARIFMessage struct {
	Text string `json:"text"`
}

// SARIFArtifact is a scanned file.
type SARIFArtifact struct {
	Location SARIFArtifactLocation `json:"location"`
}

// SARIFArtifactLocation points at a file.
type SARIFArtifactLocation struct {
	URI   string `json:"uri"`
	Index *int   `json:"index,omitempty"`
}

// SARIFResult is one finding.
type SARIFResult struct {
	RuleID     string          `json:"ruleId"`
	RuleIndex  int             `json:"ruleIndex"`
	Level      string          `json:"level"`
	Message    SARIFMessage    `json:"message"`
	Locations  []SARIFLocation `json:"locations"`
	Properties map[string]any  `json:"properties,omitempty"`
}

// SARIFLocation holds the physical (file) and logical (server, tool, path)
// location of a result.
type SARIFLocation struct {
	PhysicalLocation *SARIFPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []SARIFLogicalLocation `json:"logicalLocations"`
}

// SARIFPhysicalLocation points at the scanned file.
type SARIFPhysicalLocation struct {
	ArtifactLocation SARIFArtifactLocation `json:"artifactLocation"`
}

// SARIFLogicalLocation names the server, the tool and the JSON path.
type SARIFLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
	ParentIndex        *int   `json:"parentIndex,omitempty"`
}

// SARIFOptions describes the run.
type SARIFOptions struct {
	ToolName    string
	ToolVersion string
	// FileOf maps a server name to the file it was read from, when known.
	FileOf map[string]string
}

// SARIF converts findings to a SARIF 2.1.0 log. Every rule is listed in the
// driver, so rule indexes are stable across runs.
func SARIF(findings []Finding, opts SARIFOptions) *SARIFLog {
	name := opts.ToolName
	if name == "" {
		name = "mcpsoc"
	}
	all := Rules()
	index := make(map[string]int, len(all))
	driver := SARIFDriver{Name: name, Version: opts.ToolVersion, InformationURI: "https://github.com/mcpsoc/mcpsoc/blob/main/docs/mcpsec.md"}
	for i, r := range all {
		index[r.ID] = i
		driver.Rules = append(driver.Rules, SARIFRule{
			ID:                   r.ID,
			Name:                 ruleName(r.Title),
			ShortDescription:     SARIFMessage{Text: r.Title},
			FullDescription:      SARIFMessage{Text: r.Description},
			DefaultConfiguration: SARIFRuleConfig{Level: sarifLevel(r.Tier, r.Severity)},
			Properties: map[string]any{
				"tier": string(r.Tier), "severity": string(r.Severity), "category": r.Category,
				"owasp-mcp": r.OWASP, "tags": []string{"security", "mcp", r.OWASP},
			},
		})
	}
	run := SARIFRun{Tool: SARIFTool{Driver: driver}, Results: []SARIFResult{}}
	artIndex := map[string]int{}
	for _, f := range findings {
		loc := SARIFLocation{LogicalLocations: logicalLocations(f.Location)}
		if file := opts.FileOf[f.Location.Server]; file != "" {
			i, ok := artIndex[file]
			if !ok {
				i = len(run.Artifacts)
				artIndex[file] = i
				run.Artifacts = append(run.Artifacts, SARIFArtifact{Location: SARIFArtifactLocation{URI: file}})
			}
			loc.PhysicalLocation = &SARIFPhysicalLocation{ArtifactLocation: SARIFArtifactLocation{URI: file, Index: &i}}
		}
		msg := f.Title + " in " + f.Location.String()
		if f.Evidence != "" {
			msg += ": " + f.Evidence
		}
		run.Results = append(run.Results, SARIFResult{
			RuleID: f.RuleID, RuleIndex: index[f.RuleID], Level: sarifLevel(f.Tier, f.Severity),
			Message:   SARIFMessage{Text: msg},
			Locations: []SARIFLocation{loc},
			Properties: map[string]any{
				"tier": string(f.Tier), "severity": string(f.Severity), "category": f.Category,
				"owasp-mcp": f.OWASP, "signals": f.Signals,
			},
		})
	}
	return &SARIFLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []SARIFRun{run},
	}
}

func logicalLocations(l Location) []SARIFLogicalLocation {
	out := []SARIFLogicalLocation{{Name: l.Server, FullyQualifiedName: l.Server, Kind: "module"}}
	fq := l.Server
	if l.Object != "" {
		zero := 0
		fq += "/" + l.Object
		out = append(out, SARIFLogicalLocation{Name: l.Object, FullyQualifiedName: fq, Kind: "function", ParentIndex: &zero})
	}
	if l.Path != "" {
		parent := len(out) - 1
		out = append(out, SARIFLogicalLocation{Name: l.Path, FullyQualifiedName: fq + "#" + l.Path, Kind: "member", ParentIndex: &parent})
	}
	return out
}

// sarifLevel maps tiers to SARIF levels: hard findings are errors, review
// findings warnings (notes when low).
func sarifLevel(t Tier, s Severity) string {
	switch {
	case t == TierHard:
		return "error"
	case s.Rank() <= SevLow.Rank():
		return "note"
	}
	return "warning"
}

// ruleName turns a title into the PascalCase name SARIF viewers show.
func ruleName(title string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(title, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
