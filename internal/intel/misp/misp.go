// Package misp reads MISP threat intelligence: feeds (a manifest.json
// listing events, one <uuid>.json file per event) and the REST API's
// events/restSearch. Attribute types are mapped to indicator types and the
// to_ids flag is honoured: an attribute not meant for detection is
// skipped, with the reason. It owns no storage.
package misp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	"github.com/mcpsoc/mcpsoc/internal/intel"
)

// Event is the part of a MISP event this package reads.
type Event struct {
	UUID          string      `json:"uuid"`
	ID            string      `json:"id"`
	Info          string      `json:"info"`
	Date          string      `json:"date"`
	ThreatLevelID flexString  `json:"threat_level_id"`
	Timestamp     flexString  `json:"timestamp"`
	Tags          []Tag       `json:"Tag"`
	Attributes    []Attribute `json:"Attribute"`
	Objects       []Object    `json:"Object"`
	Orgc          struct {
		Name string `json:"name"`
	} `json:"Orgc"`
}

// Object is a MISP object (file, domain-ip, …): a group of attributes.
type Object struct {
	Name       string      `json:"name"`
	UUID       string      `json:"uuid"`
	Attributes []Attribute `json:"Attribute"`
}

// Attribute is one MISP attribute.
type Attribute struct {
	UUID      string     `json:"uuid"`
	Type      string     `json:"type"`
	Category  string     `json:"category"`
	Value     string     `json:"value"`
	ToIDs     flexBool   `json:"to_ids"`
	Deleted   flexBool   `json:"deleted"`
	Comment   string     `json:"comment"`
	Timestamp flexString `json:"timestamp"`
	Tags      []Tag      `json:"Tag"`
}

// Tag is a MISP tag (taxonomy or galaxy names included).
type Tag struct {
	Name string `json:"name"`
}

// flexBool reads MISP's booleans, written as true, 1 or "1" by versions.
type flexBool bool

func (b *flexBool) UnmarshalJSON(d []byte) error {
	switch strings.Trim(string(d), `"`) {
	case "true", "1":
		*b = true
	case "false", "0", "", "null":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", d)
	}
	return nil
}

// flexString reads numbers MISP writes as strings or numbers.
type flexString string

func (s *flexString) UnmarshalJSON(d []byte) error {
	var v any
	if err := json.Unmarshal(d, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case string:
		*s = flexString(x)
	case float64:
		*s = flexString(strconv.FormatFloat(x, 'f', -1, 64))
	case nil:
		*s = ""
	default:
		return fmt.Errorf("not a string or number: %s", d)
	}
	return nil
}

func (s flexString) unix() time.Time {
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// wrapped is {"Event": {...}}, as feed files and restSearch results hold.
type wrapped struct {
	Event *Event `json:"Event"`
}

// kinds maps MISP attribute types to indicator types. For composite types
// ("a|b") the entry says which parts to take.
var kinds = map[string][]ioc.Type{
	"ip-src": {ioc.IP}, "ip-dst": {ioc.IP},
	"ip-src|port": {ioc.IP, ""}, "ip-dst|port": {ioc.IP, ""},
	"domain": {ioc.Domain}, "hostname": {ioc.Domain},
	"domain|ip":     {ioc.Domain, ioc.IP},
	"hostname|port": {ioc.Domain, ""},
	"url":           {ioc.URL},
	"md5":           {ioc.MD5}, "sha1": {ioc.SHA1}, "sha256": {ioc.SHA256}, "sha512": {ioc.SHA512},
	"filename|md5": {"", ioc.MD5}, "filename|sha1": {"", ioc.SHA1},
	"filename|sha256": {"", ioc.SHA256}, "filename|sha512": {"", ioc.SHA512},
	"email": {ioc.Email}, "email-src": {ioc.Email}, "email-dst": {ioc.Email}, "email-reply-to": {ioc.Email},
}

// FromEvent turns an event's attributes (its own and its objects') into
// entries related by the event UUID. Attributes with to_ids false, deleted
// ones and types with no indicator mapping are skipped with the reason.
func FromEvent(ev *Event) ([]intel.Entry, []intel.Skip) {
	var out []intel.Entry
	var skips []intel.Skip
	var evTags []string
	for _, t := range ev.Tags {
		evTags = append(evTags, t.Name)
	}
	ref := ev.UUID
	if ref == "" {
		ref = "event " + ev.ID
	}
	var refs []intel.ExternalRef
	if ev.UUID != "" {
		refs = []intel.ExternalRef{{SourceName: "misp", ExternalID: ev.UUID, Description: ev.Orgc.Name}}
	}
	from := ev.Timestamp.unix()
	if d, err := time.Parse("2006-01-02", ev.Date); err == nil {
		from = d
	}
	do := func(a Attribute) {
		aref := a.UUID
		if aref == "" {
			aref = ref + " " + a.Type + " " + a.Value
		}
		if a.Deleted {
			skips = append(skips, intel.Skip{Ref: aref, Reason: "deleted"})
			return
		}
		if !a.ToIDs {
			skips = append(skips, intel.Skip{Ref: aref, Reason: "to_ids is false"})
			return
		}
		types, ok := kinds[a.Type]
		if !ok {
			skips = append(skips, intel.Skip{Ref: aref, Reason: fmt.Sprintf("attribute type %q has no indicator mapping", a.Type)})
			return
		}
		parts := []string{a.Value}
		if len(types) > 1 {
			parts = strings.SplitN(a.Value, "|", len(types))
			if len(parts) != len(types) {
				skips = append(skips, intel.Skip{Ref: aref, Reason: fmt.Sprintf("%s value %q is not composite", a.Type, a.Value)})
				return
			}
		}
		labels := append([]string(nil), evTags...)
		for _, t := range a.Tags {
			labels = append(labels, t.Name)
		}
		if a.Category != "" {
			labels = append(labels, "misp-category:"+a.Category)
		}
		desc := ev.Info
		if a.Comment != "" {
			desc += " (" + a.Comment + ")"
		}
		for i, t := range types {
			if t == "" {
				continue
			}
			v := strings.TrimSpace(parts[i])
			if t == ioc.IP {
				if _, err := netip.ParsePrefix(v); err == nil {
					t = ioc.CIDR
				}
			}
			out = append(out, intel.Entry{Type: t, Value: v, ValidFrom: from, Labels: labels,
				ExternalRefs: refs, Ref: ref, Description: desc})
		}
	}
	for _, a := range ev.Attributes {
		do(a)
	}
	for _, o := range ev.Objects {
		for _, a := range o.Attributes {
			do(a)
		}
	}
	return out, skips
}

// ReadEvent reads one feed event file ({"Event": {...}}).
func ReadEvent(data []byte) (*Event, error) {
	var w wrapped
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("reading MISP event: %w", err)
	}
	if w.Event == nil {
		return nil, fmt.Errorf("reading MISP event: no \"Event\" object")
	}
	return w.Event, nil
}

// ManifestEntry is one event in a feed's manifest.json.
type ManifestEntry struct {
	Info      string     `json:"info"`
	Timestamp flexString `json:"timestamp"`
}

// ReadManifest reads manifest.json: event UUID → summary. UUIDs that are
// not plain UUIDs are refused (they become file names).
func ReadManifest(data []byte) (map[string]ManifestEntry, error) {
	var m map[string]ManifestEntry
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading MISP manifest: %w", err)
	}
	for id := range m {
		if !isUUID(id) {
			return nil, fmt.Errorf("reading MISP manifest: event key %q is not a UUID", id)
		}
	}
	return m, nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Get reads one file of a feed by name ("manifest.json", "<uuid>.json").
type Get func(ctx context.Context, name string) ([]byte, error)

// FeedOptions configure ReadFeed.
type FeedOptions struct {
	// Since skips events whose manifest timestamp is not after it (zero:
	// read all): a scheduled sync reads only what changed.
	Since time.Time
	// MaxEvents bounds the events read in one pass (0: 10,000).
	MaxEvents int
}

// ReadFeed reads a MISP feed through get: the manifest, then each listed
// event changed since o.Since, oldest first. An event file that cannot be
// read or parsed is skipped with the reason; the manifest is required.
func ReadFeed(ctx context.Context, get Get, o *FeedOptions) (intel.Batch, error) {
	if o == nil {
		o = &FeedOptions{}
	}
	max := o.MaxEvents
	if max <= 0 {
		max = 10000
	}
	var b intel.Batch
	data, err := get(ctx, "manifest.json")
	if err != nil {
		return b, fmt.Errorf("MISP feed manifest: %w", err)
	}
	man, err := ReadManifest(data)
	if err != nil {
		return b, err
	}
	ids := make([]string, 0, len(man))
	for id, e := range man {
		if !o.Since.IsZero() && !e.Timestamp.unix().After(o.Since) {
			continue
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		ti, tj := man[ids[i]].Timestamp.unix(), man[ids[j]].Timestamp.unix()
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return ids[i] < ids[j]
	})
	if len(ids) > max {
		for _, id := range ids[max:] {
			b.Skipped = append(b.Skipped, intel.Skip{Ref: id, Reason: fmt.Sprintf("over the %d events read in one pass; read on the next sync", max)})
		}
		ids = ids[:max]
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return b, err
		}
		data, err := get(ctx, strings.ToLower(id)+".json")
		if err != nil {
			b.Skipped = append(b.Skipped, intel.Skip{Ref: id, Reason: "event file: " + err.Error()})
			continue
		}
		ev, err := ReadEvent(data)
		if err != nil {
			b.Skipped = append(b.Skipped, intel.Skip{Ref: id, Reason: err.Error()})
			continue
		}
		if ev.UUID == "" {
			ev.UUID = id
		}
		es, sk := FromEvent(ev)
		b.Entries = append(b.Entries, es...)
		b.Skipped = append(b.Skipped, sk...)
	}
	return b, nil
}

// Client calls a MISP instance's REST API.
type Client struct {
	// BaseURL is the instance's root (https://misp.example).
	BaseURL string
	// Key is the automation key, sent in the Authorization header.
	Key string
	// HTTP is the client (nil: intel.NewHTTPClient(0)).
	HTTP *http.Client
	// MaxBytes bounds one response (0: intel.DefaultMaxBytes).
	MaxBytes int64
}

// SearchOptions narrow a restSearch.
type SearchOptions struct {
	// Since asks for events changed after it (MISP's timestamp filter).
	Since time.Time
	// Tags restricts to events with one of these tags.
	Tags []string
	// PageSize is the events per request (0: 100); pages are read until
	// one comes back short.
	PageSize int
	// MaxPages bounds the requests of one search (0: 1000).
	MaxPages int
}

// Search calls POST /events/restSearch with returnFormat json and to_ids
// only, page by page, and turns the events into a batch.
func (c *Client) Search(ctx context.Context, o *SearchOptions) (intel.Batch, error) {
	if o == nil {
		o = &SearchOptions{}
	}
	hc := c.HTTP
	if hc == nil {
		hc = intel.NewHTTPClient(0)
	}
	size, pages := o.PageSize, o.MaxPages
	if size <= 0 {
		size = 100
	}
	if pages <= 0 {
		pages = 1000
	}
	var b intel.Batch
	for page := 1; page <= pages; page++ {
		body := map[string]any{"returnFormat": "json", "to_ids": 1, "limit": size, "page": page, "includeEventTags": 1}
		if !o.Since.IsZero() {
			body["timestamp"] = o.Since.Unix()
		}
		if len(o.Tags) > 0 {
			body["tags"] = o.Tags
		}
		raw, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+"/events/restSearch", bytes.NewReader(raw))
		if err != nil {
			return b, err
		}
		req.Header.Set("Authorization", c.Key)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Content-Type", "application/json")
		data, _, err := intel.Do(hc, req, c.MaxBytes)
		if err != nil {
			return b, fmt.Errorf("MISP restSearch page %d: %w", page, err)
		}
		var resp struct {
			Response []wrapped `json:"response"`
		}
		if err := json.Unmarshal(data, &resp); err != nil {
			return b, fmt.Errorf("MISP restSearch page %d: %w", page, err)
		}
		for _, w := range resp.Response {
			if w.Event == nil {
				continue
			}
			es, sk := FromEvent(w.Event)
			b.Entries = append(b.Entries, es...)
			b.Skipped = append(b.Skipped, sk...)
		}
		if len(resp.Response) < size {
			return b, nil
		}
	}
	b.Skipped = append(b.Skipped, intel.Skip{Ref: "restSearch", Reason: fmt.Sprintf("stopped after %d pages", pages)})
	return b, nil
}
