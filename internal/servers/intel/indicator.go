package intel

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
)

// Indicators is what the server reads of the intel store.
//
// Lookup returns the records held for one indicator value. value is in the
// canonical form of ioc.Normalize (lower-case domains and hashes without a
// trailing dot, canonical IP and CIDR text, URLs with a lower-case scheme
// and host). The store returns the records whose value equals value and,
// when value is an IP address, the records of CIDR blocks that contain it.
// Parent domains, the host of a URL and the domain of an email address are
// looked up by the caller with further calls. Expired records may be
// returned (the server flags them); no record is not an error (nil, nil).
// Errors are store failures. Lookup must be safe for concurrent use and
// return promptly when ctx is cancelled.
type Indicators interface {
	Lookup(ctx context.Context, value string) ([]Record, error)
}

// Record is one indicator as the intel store holds it, deduplicated across
// the sources that reported it.
type Record struct {
	// Type is ip, cidr, domain, url, md5, sha1, sha256, sha512 or email.
	Type  string `json:"type" jsonschema:"indicator type: ip, cidr, domain, url, md5, sha1, sha256, sha512 or email"`
	Value string `json:"value" jsonschema:"the indicator value, normalized"`
	// Sources are the feeds or analysts that reported it, with their own
	// view of it.
	Sources []Source `json:"sources" jsonschema:"the feeds that reported the indicator, each with its own dates and confidence"`
	// ValidUntil is when the indicator stops being current; nil: no end.
	ValidUntil *time.Time `json:"valid_until,omitempty" jsonschema:"when the indicator expires (STIX valid_until); absent: no expiry"`
	// Related are other indicator values linked to this one (the other
	// observables of a STIX pattern or MISP event, resolutions).
	Related []string `json:"related,omitempty" jsonschema:"other indicator values linked to this one by its sources"`
}

// Source is one source's report of an indicator.
type Source struct {
	// Name names the feed, TAXII collection, MISP instance or file.
	Name      string     `json:"name" jsonschema:"the feed, TAXII collection, MISP event or file it came from"`
	FirstSeen *time.Time `json:"first_seen,omitempty" jsonschema:"first time this source reported it"`
	LastSeen  *time.Time `json:"last_seen,omitempty" jsonschema:"last time this source reported it"`
	// Confidence is 0-100; 0 means the source gave none.
	Confidence      int              `json:"confidence" jsonschema:"0-100; 0 when the source gave none"`
	Labels          []string         `json:"labels,omitempty" jsonschema:"labels or tags (malicious-activity, botnet, ...)"`
	KillChainPhases []KillChainPhase `json:"kill_chain_phases,omitempty"`
	Description     string           `json:"description,omitempty"`
	// Reference is a link or identifier back into the source (a STIX id, a
	// MISP event id).
	Reference string `json:"reference,omitempty" jsonschema:"identifier in the source: STIX indicator id, MISP event id, feed URL"`
}

// KillChainPhase is a STIX kill-chain phase.
type KillChainPhase struct {
	KillChainName string `json:"kill_chain_name" jsonschema:"e.g. mitre-attack or lockheed-martin-cyber-kill-chain"`
	PhaseName     string `json:"phase_name"`
}

// MaxIndicatorLen bounds an indicator value given to a tool.
const MaxIndicatorLen = 4096

// types accepted as an explicit type argument.
var knownTypes = map[string]ioc.Type{
	"ip": ioc.IP, "cidr": ioc.CIDR, "domain": ioc.Domain, "url": ioc.URL, "md5": ioc.MD5,
	"sha1": ioc.SHA1, "sha256": ioc.SHA256, "sha512": ioc.SHA512, "email": ioc.Email,
}

// Indicator is a parsed indicator value.
type Indicator struct {
	Type  ioc.Type
	Value string // canonical (ioc.Normalize)
}

// Candidate is one value to look up for an indicator, and how it relates.
type Candidate struct {
	Value    string
	Relation string // exact, parent_domain, url_host, email_domain
}

// Parse reads an indicator as an analyst or a model writes it: surrounding
// space and quotes removed, common defanging undone ("hxxp://", "[.]",
// "(.)", "[@]", "[:]"), the type inferred when typ is empty, and the value
// normalized. Errors say what is wrong in words a model can act on.
func Parse(raw, typ string) (Indicator, error) {
	v := strings.TrimSpace(raw)
	if v == "" {
		return Indicator{}, errors.New("value is required: an IP address, CIDR, domain, URL, MD5/SHA-1/SHA-256/SHA-512 hash or email address")
	}
	if len(v) > MaxIndicatorLen {
		return Indicator{}, fmt.Errorf("value is %d bytes long; indicators are at most %d", len(v), MaxIndicatorLen)
	}
	v = Refang(strings.Trim(v, "\"'`<>"))
	var t ioc.Type
	if typ != "" {
		var ok bool
		if t, ok = knownTypes[strings.ToLower(strings.TrimSpace(typ))]; !ok {
			return Indicator{}, fmt.Errorf("type %q is not one of ip, cidr, domain, url, md5, sha1, sha256, sha512, email", typ)
		}
	}
	n, err := ioc.Normalize(ioc.Indicator{Type: t, Value: v})
	if err != nil {
		if t == "" {
			return Indicator{}, fmt.Errorf("cannot tell what %q is: give an IP address, CIDR, domain, URL (with its scheme), MD5/SHA-1/SHA-256/SHA-512 hash or email address", truncate(v, 200))
		}
		return Indicator{}, fmt.Errorf("%q is not a valid %s", truncate(v, 200), t)
	}
	return Indicator{Type: n.Type, Value: n.Value}, nil
}

// Refang undoes the usual ways of defanging an indicator in reports.
func Refang(v string) string {
	if !strings.ContainsAny(v, "[](){}xX") {
		return v
	}
	r := strings.NewReplacer(
		"[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".",
		"[:]", ":", "[://]", "://", "[@]", "@", "[at]", "@", "(at)", "@",
	)
	v = r.Replace(v)
	lower := strings.ToLower(v)
	for _, p := range []struct{ from, to string }{{"hxxps://", "https://"}, {"hxxp://", "http://"}, {"fxp://", "ftp://"}} {
		if strings.HasPrefix(lower, p.from) {
			return p.to + v[len(p.from):]
		}
	}
	return v
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Candidates lists the values to look up for in, the value itself first:
// a domain's parents down to two labels, a URL's host (and its parents),
// an email address's domain (and its parents).
func (in Indicator) Candidates() []Candidate {
	out := []Candidate{{Value: in.Value, Relation: "exact"}}
	host, rel := "", ""
	switch in.Type {
	case ioc.Domain:
		for _, p := range parents(in.Value) {
			out = append(out, Candidate{Value: p, Relation: "parent_domain"})
		}
		return out
	case ioc.URL:
		u, err := url.Parse(in.Value)
		if err != nil {
			return out
		}
		host, rel = u.Hostname(), "url_host"
	case ioc.Email:
		_, host, _ = strings.Cut(in.Value, "@")
		rel = "email_domain"
	default:
		return out
	}
	if host == "" {
		return out
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return append(out, Candidate{Value: a.Unmap().WithZone("").String(), Relation: rel})
	}
	n, err := ioc.Normalize(ioc.Indicator{Type: ioc.Domain, Value: host})
	if err != nil {
		return out
	}
	out = append(out, Candidate{Value: n.Value, Relation: rel})
	for _, p := range parents(n.Value) {
		out = append(out, Candidate{Value: p, Relation: "parent_domain"})
	}
	return out
}

// maxParents bounds the parent domains looked up for one value (a name may
// have 126 labels): the nearest and the shortest ones are kept.
const maxParents = 16

// parents returns d's parent domains down to two labels, nearest first.
func parents(d string) []string {
	var out []string
	for {
		i := strings.IndexByte(d, '.')
		if i < 0 || !strings.Contains(d[i+1:], ".") {
			break
		}
		d = d[i+1:]
		out = append(out, d)
	}
	if len(out) > maxParents {
		out = append(out[:maxParents/2], out[len(out)-maxParents/2:]...)
	}
	return out
}

// scope classifies an address: "public" or why it is not (loopback,
// private, ...). Non-public addresses have no GeoIP data and are never sent
// to an outside service.
func scope(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link_local"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, r := range special {
		if r.p.Contains(a) {
			return r.scope
		}
	}
	return "public"
}

var special = []struct {
	p     netip.Prefix
	scope string
}{
	{netip.MustParsePrefix("100.64.0.0/10"), "shared"}, // RFC 6598 carrier-grade NAT
	{netip.MustParsePrefix("0.0.0.0/8"), "reserved"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "reserved"},
	{netip.MustParsePrefix("100::/64"), "reserved"},
}
