package intel

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ErrNoStore is the error of lookup_indicator when no intel store is
// configured.
var ErrNoStore = errors.New("the intel store is not configured: this server has no local threat intelligence to look up")

// LookupIn is the input of lookup_indicator.
type LookupIn struct {
	Value string `json:"value" jsonschema:"the indicator: IP address, CIDR, domain, URL, MD5/SHA-1/SHA-256/SHA-512 hash or email address; defanged forms (hxxp, [.]) are accepted"`
	Type  string `json:"type,omitempty" jsonschema:"force the type (ip, cidr, domain, url, md5, sha1, sha256, sha512, email); inferred when absent"`
}

// LookupResult is the result of lookup_indicator.
type LookupResult struct {
	Query string `json:"query" jsonschema:"the value as given"`
	Type  string `json:"type" jsonschema:"the indicator type"`
	Value string `json:"value" jsonschema:"the normalized value"`
	Found bool   `json:"found" jsonschema:"true when the store holds at least one record"`
	// Checked are the values looked up: the value and, for domains, URLs
	// and emails, the hosts and parent domains.
	Checked []string `json:"checked" jsonschema:"values looked up: the indicator and its host or parent domains"`
	Matches []Match  `json:"matches" jsonschema:"records found, exact matches first"`
	// MaxConfidence is the highest confidence of a current (unexpired)
	// match's sources.
	MaxConfidence int      `json:"max_confidence" jsonschema:"highest source confidence among unexpired matches (0-100)"`
	Sources       []string `json:"sources" jsonschema:"names of the sources of the matches"`
}

// Match is a record found for a lookup.
type Match struct {
	// MatchedOn is the looked-up value the record was found for.
	MatchedOn string `json:"matched_on" jsonschema:"the looked-up value this record was found for"`
	// Relation says how the record relates to the query.
	Relation string `json:"relation" jsonschema:"exact, parent_domain, url_host, email_domain or containing_cidr"`
	Expired  bool   `json:"expired" jsonschema:"true when valid_until has passed"`
	Record
}

// AddLookupTool registers lookup_indicator on srv over ind (nil: the tool
// says the store is not configured). now is the clock for expiry (nil:
// time.Now).
func AddLookupTool(srv *mcpx.Server, ind Indicators, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "lookup_indicator", Title: "Look up an indicator", Hints: mcpx.ReadOnly,
		Description: "Look up an IP address, CIDR, domain, URL, file hash or email address in the local threat-intelligence store. " +
			"Returns each matching record with its sources (first/last seen, confidence, labels, kill-chain phases), expiry and related values. " +
			"Domains are also matched by their parent domains, URLs by their host, emails by their domain, IPs by CIDR blocks that contain them. " +
			"found=false means no source lists it, which is not proof it is benign. Nothing leaves this machine."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in LookupIn) (LookupResult, error) {
			return Lookup(ctx, ind, in, now())
		})
}

// maxMatches bounds one answer: it goes into a model's context.
const maxMatches = 100

// Lookup answers lookup_indicator.
func Lookup(ctx context.Context, ind Indicators, in LookupIn, now time.Time) (LookupResult, error) {
	p, err := Parse(in.Value, in.Type)
	if err != nil {
		return LookupResult{}, err
	}
	if ind == nil {
		return LookupResult{}, ErrNoStore
	}
	out := LookupResult{Query: in.Value, Type: string(p.Type), Value: p.Value, Checked: []string{}, Matches: []Match{}, Sources: []string{}}
	seen := map[string]bool{}
	srcs := map[string]bool{}
	for _, c := range p.Candidates() {
		out.Checked = append(out.Checked, c.Value)
		recs, err := ind.Lookup(ctx, c.Value)
		if err != nil {
			return LookupResult{}, fmt.Errorf("the intel store failed looking up %q: %w", c.Value, err)
		}
		for _, r := range recs {
			key := r.Type + "\x00" + r.Value
			if seen[key] {
				continue
			}
			seen[key] = true
			m := Match{MatchedOn: c.Value, Relation: c.Relation, Record: r}
			if r.Type == "cidr" && c.Value != r.Value {
				m.Relation = "containing_cidr"
			}
			if r.ValidUntil != nil && !now.Before(*r.ValidUntil) {
				m.Expired = true
			}
			if m.Sources == nil {
				m.Sources = []Source{}
			}
			for _, s := range r.Sources {
				srcs[s.Name] = true
				if !m.Expired && s.Confidence > out.MaxConfidence {
					out.MaxConfidence = s.Confidence
				}
			}
			out.Matches = append(out.Matches, m)
		}
	}
	// Exact matches first, then current before expired; stable keeps the
	// candidate order (nearest parent first).
	sort.SliceStable(out.Matches, func(i, j int) bool {
		a, b := out.Matches[i], out.Matches[j]
		if (a.Relation == "exact") != (b.Relation == "exact") {
			return a.Relation == "exact"
		}
		return !a.Expired && b.Expired
	})
	if len(out.Matches) > maxMatches {
		out.Matches = out.Matches[:maxMatches]
	}
	out.Found = len(out.Matches) > 0
	for s := range srcs {
		out.Sources = append(out.Sources, s)
	}
	sort.Strings(out.Sources)
	return out, nil
}
