package intel

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
)

// DefaultOTXURL is AlienVault OTX's address.
const DefaultOTXURL = "https://otx.alienvault.com"

// otxPath returns /api/v1/indicators/{type}/{value}/general for an
// indicator, with OTX's type slugs: IPv4, IPv6, domain (two labels),
// hostname (more), url, file (hashes).
func otxPath(in Indicator) (string, string, error) {
	var t string
	switch in.Type {
	case ioc.IP:
		t = "IPv4"
		if strings.Contains(in.Value, ":") {
			t = "IPv6"
		}
	case ioc.Domain:
		t = "domain"
		if strings.Count(in.Value, ".") > 1 {
			t = "hostname"
		}
	case ioc.URL:
		t = "url"
	case ioc.MD5, ioc.SHA1, ioc.SHA256:
		t = "file"
	default:
		return "", "", fmt.Errorf("OTX has no lookup for a %s; it takes IP addresses, domains, hostnames, URLs and MD5/SHA-1/SHA-256 hashes", in.Type)
	}
	// OTX takes a URL indicator as it is, slashes included, in the path (as
	// its own SDK sends it); only characters invalid in a path are escaped.
	v := (&url.URL{Path: in.Value}).EscapedPath()
	if in.Type != ioc.URL {
		v = url.PathEscape(in.Value)
	}
	return "/api/v1/indicators/" + t + "/" + v + "/general", t, nil
}

// OTXPulse is one OTX pulse (a community report) that lists the indicator.
type OTXPulse struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	Author            string   `json:"author,omitempty"`
	Created           string   `json:"created,omitempty"`
	Modified          string   `json:"modified,omitempty"`
	TLP               string   `json:"tlp,omitempty"`
	Adversary         string   `json:"adversary,omitempty"`
	Tags              []string `json:"tags,omitempty"`
	MalwareFamilies   []string `json:"malware_families,omitempty"`
	AttackIDs         []string `json:"attack_ids,omitempty" jsonschema:"MITRE ATT&CK technique ids"`
	TargetedCountries []string `json:"targeted_countries,omitempty"`
	References        []string `json:"references,omitempty"`
}

// OTXResult is the result of otx_lookup.
type OTXResult struct {
	Found       bool       `json:"found" jsonschema:"false when OTX does not know the indicator"`
	Note        string     `json:"note,omitempty"`
	Type        string     `json:"type" jsonschema:"OTX indicator type: IPv4, IPv6, domain, hostname, url or file"`
	Indicator   string     `json:"indicator"`
	PulseCount  int        `json:"pulse_count" jsonschema:"how many OTX pulses list the indicator"`
	Pulses      []OTXPulse `json:"pulses,omitempty" jsonschema:"the pulses, at most 20"`
	Reputation  *int       `json:"reputation,omitempty"`
	Validation  []string   `json:"validation,omitempty" jsonschema:"OTX's allow-list notes (known benign, popular domain, ...)"`
	CountryCode string     `json:"country_code,omitempty"`
	CountryName string     `json:"country_name,omitempty"`
	ASN         string     `json:"asn,omitempty"`
	Link        string     `json:"link" jsonschema:"the indicator's OTX page"`
	Cached      bool       `json:"cached"`
}

// otxNames reads a list whose items OTX writes as strings or as objects
// with display_name/name/id (malware_families, attack_ids vary by age).
type otxNames []string

func (n *otxNames) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		if string(b) == "null" {
			return nil
		}
		return err
	}
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			*n = append(*n, s)
			continue
		}
		var o struct {
			ID          any    `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"display_name"`
		}
		if err := json.Unmarshal(r, &o); err != nil {
			return err
		}
		switch {
		case o.DisplayName != "":
			*n = append(*n, o.DisplayName)
		case o.Name != "":
			*n = append(*n, o.Name)
		case o.ID != nil:
			*n = append(*n, fmt.Sprint(o.ID))
		}
	}
	return nil
}

type otxGeneral struct {
	Indicator string `json:"indicator"`
	Type      string `json:"type"`
	PulseInfo struct {
		Count  int `json:"count"`
		Pulses []struct {
			ID                string   `json:"id"`
			Name              string   `json:"name"`
			Created           string   `json:"created"`
			Modified          string   `json:"modified"`
			TLP               string   `json:"TLP"`
			Adversary         string   `json:"adversary"`
			Tags              []string `json:"tags"`
			References        []string `json:"references"`
			MalwareFamilies   otxNames `json:"malware_families"`
			AttackIDs         otxNames `json:"attack_ids"`
			TargetedCountries []string `json:"targeted_countries"`
			Author            struct {
				Username string `json:"username"`
			} `json:"author"`
		} `json:"pulses"`
	} `json:"pulse_info"`
	Reputation *int `json:"reputation"`
	Validation []struct {
		Source  string `json:"source"`
		Message string `json:"message"`
		Name    string `json:"name"`
	} `json:"validation"`
	CountryCode string `json:"country_code"`
	CountryName string `json:"country_name"`
	ASN         string `json:"asn"`
}

// decodeOTX turns a general-section response into an OTXResult.
func decodeOTX(body []byte, typ, value string) (OTXResult, error) {
	var g otxGeneral
	if err := json.Unmarshal(body, &g); err != nil {
		return OTXResult{}, fmt.Errorf("decoding OTX's response: %w", err)
	}
	r := OTXResult{Found: true, Type: typ, Indicator: value, PulseCount: g.PulseInfo.Count, Reputation: g.Reputation,
		CountryCode: g.CountryCode, CountryName: g.CountryName, ASN: g.ASN, Link: otxLink(typ, value)}
	if g.Indicator != "" {
		r.Indicator = g.Indicator
	}
	for i, p := range g.PulseInfo.Pulses {
		if i == 20 {
			break
		}
		r.Pulses = append(r.Pulses, OTXPulse{ID: p.ID, Name: p.Name, Author: p.Author.Username, Created: p.Created, Modified: p.Modified,
			TLP: p.TLP, Adversary: p.Adversary, Tags: capList(p.Tags, 10), MalwareFamilies: capList(p.MalwareFamilies, 10),
			AttackIDs: capList(p.AttackIDs, 20), TargetedCountries: capList(p.TargetedCountries, 10), References: capList(p.References, 5)})
	}
	if r.PulseCount < len(g.PulseInfo.Pulses) {
		r.PulseCount = len(g.PulseInfo.Pulses)
	}
	for _, v := range g.Validation {
		s := v.Name
		if v.Message != "" {
			s = strings.TrimSpace(s + ": " + v.Message)
		}
		if v.Source != "" {
			s += " (" + v.Source + ")"
		}
		r.Validation = append(r.Validation, s)
	}
	return r, nil
}

func otxLink(typ, value string) string {
	seg := map[string]string{"IPv4": "ip", "IPv6": "ip", "domain": "domain", "hostname": "hostname", "url": "url", "file": "file"}[typ]
	return "https://otx.alienvault.com/indicator/" + seg + "/" + url.PathEscape(value)
}
