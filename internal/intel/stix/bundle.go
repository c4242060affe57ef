package stix

import (
	"bytes"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/intel"
)

// Object is the part of a STIX 2.1 object MCPSoc reads and writes. Only
// indicators are imported; other objects are counted and passed over.
type Object struct {
	Type            string                 `json:"type"`
	SpecVersion     string                 `json:"spec_version,omitempty"`
	ID              string                 `json:"id"`
	Created         string                 `json:"created,omitempty"`
	Modified        string                 `json:"modified,omitempty"`
	Name            string                 `json:"name,omitempty"`
	Description     string                 `json:"description,omitempty"`
	IndicatorTypes  []string               `json:"indicator_types,omitempty"`
	Pattern         string                 `json:"pattern,omitempty"`
	PatternType     string                 `json:"pattern_type,omitempty"`
	ValidFrom       string                 `json:"valid_from,omitempty"`
	ValidUntil      string                 `json:"valid_until,omitempty"`
	Confidence      *int                   `json:"confidence,omitempty"`
	Labels          []string               `json:"labels,omitempty"`
	KillChainPhases []intel.KillChainPhase `json:"kill_chain_phases,omitempty"`
	ExternalRefs    []intel.ExternalRef    `json:"external_references,omitempty"`
	Revoked         bool                   `json:"revoked,omitempty"`
}

// envelope is a bundle or a TAXII envelope: both carry "objects".
type envelope struct {
	Type    string            `json:"type"`
	Objects []json.RawMessage `json:"objects"`
}

// Stats count what Read passed over.
type Stats struct {
	Objects    int `json:"objects"`
	Indicators int `json:"indicators"`
	// Other counts objects that are not indicators (malware, identity,
	// relationship…): not intelligence a matcher can use on its own.
	Other int `json:"other"`
}

// Read reads STIX 2.1 JSON: a bundle, a TAXII envelope ({"objects":[…]}),
// one object or an array of objects. Each indicator with pattern_type stix
// becomes entries, one per observable of its pattern, all with the
// indicator's id as Ref (so they are related). Indicators that are
// revoked, of another pattern type, with a pattern that reduces to nothing
// or with bad timestamps are skipped with the reason; an approximate
// reduction is imported and its notes are reported as skips with ref
// "<id> (partial)".
func Read(data []byte) (intel.Batch, Stats, error) {
	var b intel.Batch
	var st Stats
	data = bytes.TrimSpace(data)
	var raws []json.RawMessage
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return b, st, fmt.Errorf("reading STIX objects: %w", err)
		}
	case len(data) > 0 && data[0] == '{':
		var env envelope
		if err := json.Unmarshal(data, &env); err != nil {
			return b, st, fmt.Errorf("reading STIX: %w", err)
		}
		if env.Objects != nil || env.Type == "bundle" {
			raws = env.Objects
		} else {
			raws = []json.RawMessage{data}
		}
	default:
		return b, st, fmt.Errorf("reading STIX: not a JSON object or array")
	}
	for i, raw := range raws {
		st.Objects++
		var o Object
		if err := json.Unmarshal(raw, &o); err != nil {
			b.Skipped = append(b.Skipped, intel.Skip{Ref: fmt.Sprintf("object %d", i), Reason: "not a STIX object: " + err.Error()})
			continue
		}
		if o.Type != "indicator" {
			st.Other++
			continue
		}
		st.Indicators++
		entries, skips := FromIndicator(&o)
		b.Entries = append(b.Entries, entries...)
		b.Skipped = append(b.Skipped, skips...)
	}
	return b, st, nil
}

// FromIndicator turns one indicator object into entries.
func FromIndicator(o *Object) ([]intel.Entry, []intel.Skip) {
	ref := o.ID
	if ref == "" {
		ref = "indicator without id"
	}
	skip := func(reason string) ([]intel.Entry, []intel.Skip) {
		return nil, []intel.Skip{{Ref: ref, Reason: reason}}
	}
	if o.Revoked {
		return skip("revoked")
	}
	if o.PatternType != "" && !strings.EqualFold(o.PatternType, "stix") {
		return skip(fmt.Sprintf("pattern_type %q is not stix", o.PatternType))
	}
	if o.Pattern == "" {
		return skip("no pattern")
	}
	red, err := Reduce(o.Pattern)
	if err != nil {
		return skip(err.Error())
	}
	var from, until time.Time
	if o.ValidFrom != "" {
		if from, err = time.Parse(time.RFC3339Nano, o.ValidFrom); err != nil {
			return skip(fmt.Sprintf("valid_from %q is not a timestamp", o.ValidFrom))
		}
	}
	if o.ValidUntil != "" {
		if until, err = time.Parse(time.RFC3339Nano, o.ValidUntil); err != nil {
			return skip(fmt.Sprintf("valid_until %q is not a timestamp", o.ValidUntil))
		}
		if !from.IsZero() && !until.After(from) {
			return skip("valid_until is not after valid_from")
		}
	}
	conf := 0
	if o.Confidence != nil {
		if *o.Confidence < 0 || *o.Confidence > 100 {
			return skip(fmt.Sprintf("confidence %d out of 0-100", *o.Confidence))
		}
		conf = *o.Confidence
	}
	labels := append(append([]string(nil), o.Labels...), o.IndicatorTypes...)
	desc := o.Name
	if desc == "" {
		desc = o.Description
	}
	var skips []intel.Skip
	for _, n := range red.Notes {
		skips = append(skips, intel.Skip{Ref: ref + " (partial)", Reason: n})
	}
	out := make([]intel.Entry, 0, len(red.Observables))
	for _, ob := range red.Observables {
		out = append(out, intel.Entry{
			Type: ob.Type, Value: ob.Value, ValidFrom: from.UTC(), ValidUntil: until.UTC(), Confidence: conf,
			Labels: labels, KillChain: o.KillChainPhases, ExternalRefs: o.ExternalRefs, Ref: o.ID, Description: desc,
		})
	}
	return out, skips
}

// Pattern writes the STIX pattern that matches one indicator.
func Pattern(t ioc.Type, value string) (string, error) {
	q := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(value) + "'"
	v6 := strings.Contains(value, ":") && !strings.Contains(value, "://")
	switch t {
	case ioc.IP:
		if v6 {
			return "[ipv6-addr:value = " + q + "]", nil
		}
		return "[ipv4-addr:value = " + q + "]", nil
	case ioc.CIDR:
		if v6 {
			return "[ipv6-addr:value ISSUBSET " + q + "]", nil
		}
		return "[ipv4-addr:value ISSUBSET " + q + "]", nil
	case ioc.Domain:
		return "[domain-name:value = " + q + "]", nil
	case ioc.URL:
		return "[url:value = " + q + "]", nil
	case ioc.Email:
		return "[email-addr:value = " + q + "]", nil
	case ioc.MD5:
		return "[file:hashes.MD5 = " + q + "]", nil
	case ioc.SHA1:
		return "[file:hashes.'SHA-1' = " + q + "]", nil
	case ioc.SHA256:
		return "[file:hashes.'SHA-256' = " + q + "]", nil
	case ioc.SHA512:
		return "[file:hashes.'SHA-512' = " + q + "]", nil
	}
	return "", fmt.Errorf("no STIX pattern for indicator type %q", t)
}

// namespace is the UUIDv5 namespace of the indicator ids MCPSoc writes
// (itself a v5 UUID of "mcpsoc.intel" in the URL namespace).
var namespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// IndicatorID is the stable STIX id MCPSoc gives an indicator: a UUIDv5
// of type and value, so every export names it the same way.
func IndicatorID(t ioc.Type, value string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte("mcpsoc.intel:" + string(t) + ":" + value))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("indicator--%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// stixTime formats a timestamp as STIX requires (UTC, milliseconds).
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ToObject writes a stored indicator as a STIX 2.1 indicator object:
// merged confidence and validity, the union of the sources' labels,
// kill-chain phases and external references, and one external reference
// per source naming it.
func ToObject(in *intel.Indicator) (Object, error) {
	p, err := Pattern(in.Type, in.Value)
	if err != nil {
		return Object{}, err
	}
	o := Object{
		Type: "indicator", SpecVersion: "2.1", ID: IndicatorID(in.Type, in.Value),
		Created: stixTime(in.FirstSeen), Modified: stixTime(in.Modified),
		Name: string(in.Type) + " " + in.Value, Pattern: p, PatternType: "stix",
	}
	if in.Modified.Before(in.FirstSeen) {
		o.Modified = o.Created
	}
	from := in.ValidFrom
	if from.IsZero() {
		from = in.FirstSeen
	}
	o.ValidFrom = stixTime(from)
	if !in.ValidUntil.IsZero() && in.ValidUntil.After(from) {
		o.ValidUntil = stixTime(in.ValidUntil)
	}
	if in.Confidence > 0 {
		c := in.Confidence
		o.Confidence = &c
	}
	seenL, seenK, seenR := map[string]bool{}, map[intel.KillChainPhase]bool{}, map[string]bool{}
	for _, s := range in.Sources {
		for _, l := range s.Labels {
			if !seenL[l] {
				seenL[l] = true
				o.Labels = append(o.Labels, l)
			}
		}
		for _, k := range s.KillChain {
			if !seenK[k] {
				seenK[k] = true
				o.KillChainPhases = append(o.KillChainPhases, k)
			}
		}
		for _, r := range s.ExternalRefs {
			key := r.SourceName + "\x00" + r.URL + "\x00" + r.ExternalID
			if !seenR[key] {
				seenR[key] = true
				o.ExternalRefs = append(o.ExternalRefs, r)
			}
		}
		if s.Description != "" && o.Description == "" {
			o.Description = s.Description
		}
		o.ExternalRefs = append(o.ExternalRefs, intel.ExternalRef{SourceName: "mcpsoc:" + s.Source, ExternalID: s.Ref})
	}
	return o, nil
}
