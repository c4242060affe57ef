package intel

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
)

// DefaultVirusTotalURL is VirusTotal's API v3 root.
const DefaultVirusTotalURL = "https://www.virustotal.com/api/v3"

// vtPath returns the API v3 object path for an indicator: files/{hash},
// ip_addresses/{ip}, domains/{domain} or urls/{id}, where a URL's id is its
// unpadded URL-safe base64 encoding (RFC 4648 section 5 without "=").
func vtPath(in Indicator) (string, string, error) {
	switch in.Type {
	case ioc.MD5, ioc.SHA1, ioc.SHA256:
		return "/files/" + in.Value, "file", nil
	case ioc.IP:
		return "/ip_addresses/" + in.Value, "ip_address", nil
	case ioc.Domain:
		return "/domains/" + url.PathEscape(in.Value), "domain", nil
	case ioc.URL:
		return "/urls/" + base64.RawURLEncoding.EncodeToString([]byte(in.Value)), "url", nil
	}
	return "", "", fmt.Errorf("VirusTotal has no lookup for a %s; it takes MD5/SHA-1/SHA-256 hashes, IP addresses, domains and URLs", in.Type)
}

// vtGUI is the web page of an object, for an analyst to open.
func vtGUI(kind, id string) string {
	seg := map[string]string{"file": "file", "ip_address": "ip-address", "domain": "domain", "url": "url"}[kind]
	return "https://www.virustotal.com/gui/" + seg + "/" + url.PathEscape(id)
}

// VTStats are the verdict counts of the last analysis.
type VTStats struct {
	Malicious  int `json:"malicious"`
	Suspicious int `json:"suspicious"`
	Undetected int `json:"undetected"`
	Harmless   int `json:"harmless"`
	Timeout    int `json:"timeout"`
}

// VTDetection is one engine's malicious or suspicious verdict.
type VTDetection struct {
	Engine   string `json:"engine"`
	Category string `json:"category" jsonschema:"malicious or suspicious"`
	Result   string `json:"result,omitempty" jsonschema:"the engine's label, e.g. a malware name"`
}

// VTResult is the result of virustotal_lookup.
type VTResult struct {
	Found           bool          `json:"found" jsonschema:"false when VirusTotal has no report for the indicator"`
	Note            string        `json:"note,omitempty"`
	Type            string        `json:"type" jsonschema:"file, ip_address, domain or url"`
	ID              string        `json:"id,omitempty" jsonschema:"VirusTotal's object id"`
	Link            string        `json:"link,omitempty" jsonschema:"the report's web page"`
	LastAnalysis    *time.Time    `json:"last_analysis_date,omitempty"`
	Stats           *VTStats      `json:"last_analysis_stats,omitempty" jsonschema:"how many engines said what"`
	Detections      []VTDetection `json:"detections,omitempty" jsonschema:"engines with a malicious or suspicious verdict (at most 25)"`
	Reputation      *int          `json:"reputation,omitempty" jsonschema:"community score; negative is bad"`
	VotesMalicious  int           `json:"votes_malicious,omitempty"`
	VotesHarmless   int           `json:"votes_harmless,omitempty"`
	Tags            []string      `json:"tags,omitempty"`
	ThreatLabel     string        `json:"threat_label,omitempty" jsonschema:"popular threat classification (files)"`
	MeaningfulName  string        `json:"meaningful_name,omitempty"`
	Names           []string      `json:"names,omitempty" jsonschema:"file names seen (at most 10)"`
	Size            int64         `json:"size,omitempty"`
	TypeDescription string        `json:"type_description,omitempty"`
	MD5             string        `json:"md5,omitempty"`
	SHA1            string        `json:"sha1,omitempty"`
	SHA256          string        `json:"sha256,omitempty"`
	FirstSubmission *time.Time    `json:"first_submission_date,omitempty"`
	Country         string        `json:"country,omitempty"`
	ASN             int64         `json:"asn,omitempty"`
	ASOwner         string        `json:"as_owner,omitempty"`
	Network         string        `json:"network,omitempty"`
	Registrar       string        `json:"registrar,omitempty"`
	Categories      []string      `json:"categories,omitempty" jsonschema:"vendor: category pairs"`
	URL             string        `json:"url,omitempty"`
	FinalURL        string        `json:"final_url,omitempty"`
	Title           string        `json:"title,omitempty"`
	Cached          bool          `json:"cached" jsonschema:"true when answered from the server's cache"`
}

// vtObject is the part of an API v3 object response we read.
type vtObject struct {
	Data struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Attributes struct {
			LastAnalysisDate    int64   `json:"last_analysis_date"`
			LastAnalysisStats   VTStats `json:"last_analysis_stats"`
			LastAnalysisResults map[string]struct {
				Category   string `json:"category"`
				EngineName string `json:"engine_name"`
				Result     string `json:"result"`
			} `json:"last_analysis_results"`
			Reputation *int `json:"reputation"`
			TotalVotes struct {
				Harmless  int `json:"harmless"`
				Malicious int `json:"malicious"`
			} `json:"total_votes"`
			Tags                        []string `json:"tags"`
			MeaningfulName              string   `json:"meaningful_name"`
			Names                       []string `json:"names"`
			Size                        int64    `json:"size"`
			TypeDescription             string   `json:"type_description"`
			MD5                         string   `json:"md5"`
			SHA1                        string   `json:"sha1"`
			SHA256                      string   `json:"sha256"`
			FirstSubmissionDate         int64    `json:"first_submission_date"`
			PopularThreatClassification struct {
				SuggestedThreatLabel string `json:"suggested_threat_label"`
			} `json:"popular_threat_classification"`
			Country    string            `json:"country"`
			ASN        int64             `json:"asn"`
			ASOwner    string            `json:"as_owner"`
			Network    string            `json:"network"`
			Registrar  string            `json:"registrar"`
			Categories map[string]string `json:"categories"`
			URL        string            `json:"url"`
			FinalURL   string            `json:"last_final_url"`
			Title      string            `json:"title"`
		} `json:"attributes"`
	} `json:"data"`
}

// decodeVT turns an API v3 object response into a VTResult.
func decodeVT(body []byte, kind string) (VTResult, error) {
	var o vtObject
	if err := json.Unmarshal(body, &o); err != nil {
		return VTResult{}, fmt.Errorf("decoding VirusTotal's response: %w", err)
	}
	d, a := o.Data, o.Data.Attributes
	if d.ID == "" {
		return VTResult{}, fmt.Errorf("VirusTotal's response has no data object")
	}
	if d.Type != "" && d.Type != kind {
		return VTResult{}, fmt.Errorf("VirusTotal answered with a %q object for a %s lookup", d.Type, kind)
	}
	r := VTResult{Found: true, Type: kind, ID: d.ID, Link: vtGUI(kind, d.ID), Stats: &a.LastAnalysisStats, Reputation: a.Reputation,
		VotesMalicious: a.TotalVotes.Malicious, VotesHarmless: a.TotalVotes.Harmless, Tags: capList(a.Tags, 25),
		ThreatLabel: a.PopularThreatClassification.SuggestedThreatLabel, MeaningfulName: a.MeaningfulName, Names: capList(a.Names, 10),
		Size: a.Size, TypeDescription: a.TypeDescription, MD5: a.MD5, SHA1: a.SHA1, SHA256: a.SHA256,
		Country: a.Country, ASN: a.ASN, ASOwner: a.ASOwner, Network: a.Network, Registrar: a.Registrar,
		URL: a.URL, FinalURL: a.FinalURL, Title: a.Title}
	r.LastAnalysis = unixTime(a.LastAnalysisDate)
	r.FirstSubmission = unixTime(a.FirstSubmissionDate)
	for engine, v := range a.LastAnalysisResults {
		if v.Category == "malicious" || v.Category == "suspicious" {
			if v.EngineName != "" {
				engine = v.EngineName
			}
			r.Detections = append(r.Detections, VTDetection{Engine: engine, Category: v.Category, Result: v.Result})
		}
	}
	sort.Slice(r.Detections, func(i, j int) bool {
		if r.Detections[i].Category != r.Detections[j].Category {
			return r.Detections[i].Category == "malicious"
		}
		return r.Detections[i].Engine < r.Detections[j].Engine
	})
	if len(r.Detections) > 25 {
		r.Detections = r.Detections[:25]
	}
	for vendor, c := range a.Categories {
		r.Categories = append(r.Categories, vendor+": "+c)
	}
	sort.Strings(r.Categories)
	return r, nil
}

func unixTime(s int64) *time.Time {
	if s <= 0 || s > 1<<40 {
		return nil
	}
	t := time.Unix(s, 0).UTC()
	return &t
}

func capList(l []string, n int) []string {
	if len(l) > n {
		return l[:n]
	}
	return l
}

// vendorDetail extracts a service's error message from an error body:
// VirusTotal {"error":{"code","message"}}, AbuseIPDB
// {"errors":[{"detail"}]}, OTX {"detail"}. It is one line of at most 300
// bytes.
func vendorDetail(body []byte) string {
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Errors []struct {
			Detail string `json:"detail"`
		} `json:"errors"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	var s string
	switch {
	case e.Error != nil:
		s = strings.TrimSpace(e.Error.Code + " " + e.Error.Message)
	case len(e.Errors) > 0:
		s = e.Errors[0].Detail
	default:
		s = e.Detail
	}
	s = strings.Join(strings.Fields(s), " ")
	return truncate(s, 300)
}
