// Package intel owns MCPSoc's threat-intelligence store: indicators (IP,
// CIDR, domain, URL, file hashes, email) deduplicated across the sources
// that reported them, with per-source provenance (first and last seen,
// confidence, labels, kill-chain phases, external references), validity
// windows and related indicators. The store persists under data_dir in
// SQLite and keeps the detection matcher (detect/ioc.Set) in step with it,
// so an indicator imported at runtime applies to the next event.
//
// Readers of the feed formats live in sub-packages (stix, taxii, misp,
// textfeed) and produce Batches; package feeds picks a reader by format
// and runs scheduled syncs. Package ioc stays the fast matcher: it knows
// nothing of sources or persistence.
package intel

import (
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
)

// Entry is one indicator as a source reports it: what an import writes.
type Entry struct {
	Type  ioc.Type `json:"type"`
	Value string   `json:"value"`
	// ValidFrom and ValidUntil bound when the indicator applies; zero
	// ValidUntil means it does not expire.
	ValidFrom  time.Time `json:"valid_from,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
	// Confidence is 0–100; 0 means unknown.
	Confidence   int              `json:"confidence,omitempty"`
	Labels       []string         `json:"labels,omitempty"`
	KillChain    []KillChainPhase `json:"kill_chain_phases,omitempty"`
	ExternalRefs []ExternalRef    `json:"external_references,omitempty"`
	// Ref names the object the entry came from in its source (a STIX
	// indicator id, a MISP event UUID). Entries of one source with the same
	// Ref are related indicators.
	Ref         string `json:"ref,omitempty"`
	Description string `json:"description,omitempty"`
}

// KillChainPhase is a STIX kill-chain phase.
type KillChainPhase struct {
	KillChainName string `json:"kill_chain_name"`
	PhaseName     string `json:"phase_name"`
}

// ExternalRef is a STIX external reference.
type ExternalRef struct {
	SourceName  string `json:"source_name"`
	URL         string `json:"url,omitempty"`
	ExternalID  string `json:"external_id,omitempty"`
	Description string `json:"description,omitempty"`
}

// Skip is an input record that was not imported, with why.
type Skip struct {
	// Ref identifies the record: an object id, "line N", an attribute UUID.
	Ref    string `json:"ref"`
	Reason string `json:"reason"`
}

// Batch is what a reader produced from one input: the entries and the
// records it could not use.
type Batch struct {
	Entries []Entry `json:"entries"`
	Skipped []Skip  `json:"skipped,omitempty"`
}

// Provenance is what one source said about an indicator.
type Provenance struct {
	Source       string           `json:"source"`
	Ref          string           `json:"ref,omitempty"`
	FirstSeen    time.Time        `json:"first_seen"`
	LastSeen     time.Time        `json:"last_seen"`
	Confidence   int              `json:"confidence,omitempty"`
	ValidFrom    time.Time        `json:"valid_from,omitzero"`
	ValidUntil   time.Time        `json:"valid_until,omitzero"`
	Labels       []string         `json:"labels,omitempty"`
	KillChain    []KillChainPhase `json:"kill_chain_phases,omitempty"`
	ExternalRefs []ExternalRef    `json:"external_references,omitempty"`
	Description  string           `json:"description,omitempty"`
}

// Related is another indicator reported in the same object (same source
// and Ref) as the one looked up.
type Related struct {
	Type   ioc.Type `json:"type"`
	Value  string   `json:"value"`
	Source string   `json:"source"`
	Ref    string   `json:"ref"`
}

// Indicator is the merged view of one indicator across its sources.
type Indicator struct {
	Type  ioc.Type `json:"type"`
	Value string   `json:"value"`
	// MatchedBy says how a looked-up value reached this indicator: exact,
	// cidr (an IP inside the block), parent_domain, url_host or
	// email_domain.
	MatchedBy string `json:"matched_by,omitempty"`
	// Confidence is the highest of the sources'.
	Confidence int `json:"confidence,omitempty"`
	// ValidFrom is the earliest of the sources'; ValidUntil the latest, or
	// zero when any source gives none.
	ValidFrom  time.Time `json:"valid_from,omitzero"`
	ValidUntil time.Time `json:"valid_until,omitzero"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	// Modified is when the store last changed the indicator (TAXII's
	// date_added).
	Modified time.Time    `json:"modified"`
	Sources  []Provenance `json:"sources"`
	Related  []Related    `json:"related,omitempty"`
}

// Expired reports whether the indicator no longer applies at now.
func (in *Indicator) Expired(now time.Time) bool {
	return !in.ValidUntil.IsZero() && !now.Before(in.ValidUntil)
}

// Result counts what an import did.
type Result struct {
	Source string `json:"source"`
	// Added indicators were new to the store; Updated ones were already
	// held (from this or another source) and got this source's view.
	Added   int `json:"added"`
	Updated int `json:"updated"`
	// Skipped lists records not imported: the reader's and the store's.
	Skipped []Skip `json:"skipped,omitempty"`
}

// Indicator returns the entry as the matcher holds it: Ref becomes the
// source, the expiry is ValidUntil.
func (e Entry) Indicator() ioc.Indicator {
	return ioc.Indicator{Type: e.Type, Value: e.Value, Confidence: e.Confidence, Expires: e.ValidUntil,
		Source: e.Ref, Description: e.Description}
}
