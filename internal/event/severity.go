package event

import "strings"

// FieldSeverityID is the extension field in which parsers record the
// source's severity translated to the OCSF scale (an int64 Severity), next
// to event.severity, which keeps the source's own number as ECS defines it.
// Alerts derived from the event start from this value.
const FieldSeverityID = "mcpsoc.severity_id"

// Severity is the OCSF severity_id scale used for alerts and findings.
type Severity int

// Severity values. Fatal is reserved for "MCPSoc itself is failing"; rules
// never emit it.
const (
	SeverityUnknown  Severity = 0
	SeverityInfo     Severity = 1
	SeverityLow      Severity = 2
	SeverityMedium   Severity = 3
	SeverityHigh     Severity = 4
	SeverityCritical Severity = 5
	SeverityFatal    Severity = 6
	SeverityOther    Severity = 99
)

var severityNames = [...]string{"unknown", "informational", "low", "medium", "high", "critical", "fatal"}

// String returns the lowercase OCSF name ("informational", "high").
func (s Severity) String() string {
	if s >= 0 && int(s) < len(severityNames) {
		return severityNames[s]
	}
	if s == SeverityOther {
		return "other"
	}
	return "unknown"
}

// ParseSeverity reads a severity name as Sigma levels and vendors spell it
// (informational/info, low, medium/moderate, high, critical, fatal),
// case-insensitively. Unknown text yields SeverityUnknown.
func ParseSeverity(s string) Severity {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "informational", "info", "information", "notice":
		return SeverityInfo
	case "low":
		return SeverityLow
	case "medium", "moderate", "warning":
		return SeverityMedium
	case "high", "error":
		return SeverityHigh
	case "critical", "crit", "alert", "emergency":
		return SeverityCritical
	case "fatal":
		return SeverityFatal
	case "other":
		return SeverityOther
	}
	return SeverityUnknown
}

// SeverityFromSuricata maps Suricata alert.severity (1 highest … 4) to OCSF.
func SeverityFromSuricata(n int64) Severity {
	switch n {
	case 1:
		return SeverityHigh
	case 2:
		return SeverityMedium
	case 3:
		return SeverityLow
	case 4:
		return SeverityInfo
	}
	return SeverityUnknown
}

// SeverityFromModSecurity maps ModSecurity/CRS severity (0 EMERGENCY … 7
// DEBUG) to OCSF.
func SeverityFromModSecurity(n int64) Severity {
	switch {
	case n == 0 || n == 1:
		return SeverityCritical
	case n == 2:
		return SeverityHigh
	case n == 3:
		return SeverityMedium
	case n == 4:
		return SeverityLow
	case n >= 5 && n <= 7:
		return SeverityInfo
	}
	return SeverityUnknown
}

// SeverityFromSyslog maps a syslog severity code (0 emerg … 7 debug) to OCSF.
func SeverityFromSyslog(code int64) Severity {
	switch {
	case code == 0:
		return SeverityCritical
	case code <= 2:
		return SeverityHigh
	case code == 3:
		return SeverityMedium
	case code == 4:
		return SeverityLow
	case code <= 7:
		return SeverityInfo
	}
	return SeverityUnknown
}
