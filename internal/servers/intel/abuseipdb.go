package intel

import (
	"encoding/json"
	"fmt"
	"time"
)

// DefaultAbuseIPDBURL is AbuseIPDB's API v2 root.
const DefaultAbuseIPDBURL = "https://api.abuseipdb.com/api/v2"

// AbuseResult is the result of abuseipdb_check.
type AbuseResult struct {
	IP                string     `json:"ip"`
	MaxAgeDays        int        `json:"max_age_days" jsonschema:"reports older than this were not counted"`
	AbuseConfidence   int        `json:"abuse_confidence_score" jsonschema:"0-100: how sure AbuseIPDB is the address is abusive"`
	TotalReports      int        `json:"total_reports"`
	DistinctReporters int        `json:"distinct_reporters"`
	LastReportedAt    *time.Time `json:"last_reported_at,omitempty"`
	IsPublic          bool       `json:"is_public"`
	IPVersion         int        `json:"ip_version"`
	IsWhitelisted     *bool      `json:"is_whitelisted,omitempty" jsonschema:"on AbuseIPDB's allow-list (known benign infrastructure)"`
	IsTor             bool       `json:"is_tor" jsonschema:"a Tor exit node"`
	CountryCode       string     `json:"country_code,omitempty"`
	CountryName       string     `json:"country_name,omitempty"`
	UsageType         string     `json:"usage_type,omitempty" jsonschema:"e.g. Data Center/Web Hosting/Transit, Fixed Line ISP"`
	ISP               string     `json:"isp,omitempty"`
	Domain            string     `json:"domain,omitempty"`
	Hostnames         []string   `json:"hostnames,omitempty"`
	Link              string     `json:"link"`
	Cached            bool       `json:"cached"`
}

type abuseCheck struct {
	Data *struct {
		IPAddress            string   `json:"ipAddress"`
		IsPublic             bool     `json:"isPublic"`
		IPVersion            int      `json:"ipVersion"`
		IsWhitelisted        *bool    `json:"isWhitelisted"`
		AbuseConfidenceScore int      `json:"abuseConfidenceScore"`
		CountryCode          *string  `json:"countryCode"`
		CountryName          *string  `json:"countryName"`
		UsageType            *string  `json:"usageType"`
		ISP                  *string  `json:"isp"`
		Domain               *string  `json:"domain"`
		Hostnames            []string `json:"hostnames"`
		IsTor                bool     `json:"isTor"`
		TotalReports         int      `json:"totalReports"`
		NumDistinctUsers     int      `json:"numDistinctUsers"`
		LastReportedAt       *string  `json:"lastReportedAt"`
	} `json:"data"`
}

// decodeAbuseIPDB turns a check response into an AbuseResult.
func decodeAbuseIPDB(body []byte, ip string, maxAge int) (AbuseResult, error) {
	var c abuseCheck
	if err := json.Unmarshal(body, &c); err != nil {
		return AbuseResult{}, fmt.Errorf("decoding AbuseIPDB's response: %w", err)
	}
	d := c.Data
	if d == nil {
		return AbuseResult{}, fmt.Errorf("AbuseIPDB's response has no data object")
	}
	if d.AbuseConfidenceScore < 0 || d.AbuseConfidenceScore > 100 {
		return AbuseResult{}, fmt.Errorf("AbuseIPDB's response has an abuse confidence score of %d, outside 0-100", d.AbuseConfidenceScore)
	}
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	r := AbuseResult{IP: ip, MaxAgeDays: maxAge, AbuseConfidence: d.AbuseConfidenceScore, TotalReports: d.TotalReports,
		DistinctReporters: d.NumDistinctUsers, IsPublic: d.IsPublic, IPVersion: d.IPVersion, IsWhitelisted: d.IsWhitelisted,
		IsTor: d.IsTor, CountryCode: s(d.CountryCode), CountryName: s(d.CountryName), UsageType: s(d.UsageType), ISP: s(d.ISP),
		Domain: s(d.Domain), Hostnames: capList(d.Hostnames, 10), Link: "https://www.abuseipdb.com/check/" + ip}
	if d.LastReportedAt != nil && *d.LastReportedAt != "" {
		t, err := time.Parse(time.RFC3339, *d.LastReportedAt)
		if err != nil {
			return AbuseResult{}, fmt.Errorf("AbuseIPDB's lastReportedAt %q is not an RFC 3339 time", truncate(*d.LastReportedAt, 64))
		}
		t = t.UTC()
		r.LastReportedAt = &t
	}
	return r, nil
}
