// Package clamav parses ClamAV output: clamd log lines (with or without
// LogTime, directly or over syslog), clamonacc, clamscan/clamdscan stdout
// including the scan summary, clamd INSTREAM replies, and freshclam update
// lines. It registers the format "clamav".
//
// A detection ("path: Signature FOUND") becomes an alert with rule.name set
// to the signature and file.path to the path, the fields Sigma antivirus
// rules (Signature, Filename) map to. Path and signature are split on the
// last ": " because paths may contain colons and spaces. Fields without an
// ECS home go under "clamav.*".
package clamav

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// Name is the registered format name.
const Name = "clamav"

func init() {
	parse.Register(Name, func(*parse.Config) (parse.Parser, error) { return Parser{}, nil })
}

// Parser parses ClamAV lines. It is stateless and safe for concurrent use.
type Parser struct{}

var (
	_ parse.Parser   = Parser{}
	_ parse.Detector = Parser{}
)

// Name returns "clamav".
func (Parser) Name() string { return Name }

var apps = map[string]string{
	"clamd": "clamd", "clamonacc": "clamonacc", "freshclam": "freshclam", "clamscan": "clamscan",
	"clamdscan": "clamscan", "clamav-milter": "milter", "clamav": "clamd",
}

const summaryBanner = "----------- SCAN SUMMARY -----------"

// summaryKeys are the clamscan summary labels and their field names.
var summaryKeys = map[string]string{
	"Known viruses": "known_viruses", "Engine version": "engine_version",
	"Scanned directories": "scanned_directories", "Scanned files": "scanned_files",
	"Infected files": "infected_files", "Total errors": "total_errors",
	"Data scanned": "data_scanned", "Data read": "data_read", "Time": "time",
	"Start Date": "start_date", "End Date": "end_date",
}

// Detect recognizes ClamAV program names and the line shapes above.
func (Parser) Detect(rec *parse.Record) int {
	if _, ok := apps[rec.AppName()]; ok {
		return 100
	}
	p, _ := stripLogTime(rec.Payload, rec.Config)
	switch {
	case p != rec.Payload:
		return 70
	case strings.HasSuffix(p, " FOUND") && strings.Contains(p, ": "):
		return 80
	case p == summaryBanner:
		return 95
	case isFreshclam(p):
		return 85
	case strings.HasSuffix(p, ": OK") || strings.HasSuffix(p, ": Empty file") || strings.HasSuffix(p, " ERROR") && strings.Contains(p, ": "):
		if len(p) > 0 && (p[0] == '/' || p[0] == '\\' || len(p) > 2 && p[1] == ':') || strings.HasPrefix(p, "stream") {
			return 40
		}
	}
	if k, _, ok := strings.Cut(p, ": "); ok {
		if _, ok := summaryKeys[k]; ok {
			return 50
		}
	}
	return 0
}

func isFreshclam(p string) bool {
	return strings.HasPrefix(p, "ClamAV update process started at ") ||
		strings.Contains(p, " database is up-to-date (") ||
		strings.Contains(p, " updated (version: ") ||
		strings.HasPrefix(p, "Database updated (")
}

// stripLogTime removes a clamd/freshclam LogTime prefix
// ("Sat Mar 14 10:10:10 2026 -> ") and returns the rest; ok reports a
// prefix was found.
func stripLogTime(p string, cfg *parse.Config) (string, bool) {
	i := strings.Index(p, " -> ")
	if i < 20 || i > 32 {
		return p, false
	}
	if _, ok := parse.Ctime(p[:i], cfg); !ok {
		return p, false
	}
	return p[i+4:], true
}

// Parse normalizes one ClamAV line.
func (Parser) Parse(ev *event.Event, rec *parse.Record) error {
	p := rec.Payload
	prog, known := apps[rec.AppName()]
	if i := strings.Index(p, " -> "); i >= 20 && i <= 32 {
		if t, ok := parse.Ctime(p[:i], rec.Config); ok {
			ev.Timestamp = t
			p = p[i+4:]
			known = true
		}
	}
	ev.Kind = event.KindEvent
	ev.Module = "clamav"
	ev.Observer.Vendor = "Cisco Talos"
	ev.Observer.Product = "ClamAV"
	ev.Observer.Type = "antivirus"
	if h, ok := ev.GetString("host.name"); ok {
		ev.Observer.Hostname = h
	}
	if prog == "" {
		prog = "clamd"
	}
	ev.Dataset = "clamav." + prog

	switch {
	case strings.HasSuffix(p, " FOUND"):
		return found(ev, p)
	case p == summaryBanner:
		ev.Dataset = "clamav.clamscan"
		ev.Action = "scan-summary"
		ev.Message = p
		return nil
	case isFreshclam(p):
		freshclam(ev, p, rec.Config)
		return nil
	case strings.HasPrefix(p, "ERROR: "), strings.HasPrefix(p, "WARNING: "), strings.HasPrefix(p, "LibClamAV Error: "), strings.HasPrefix(p, "LibClamAV Warning: "):
		level, msg, _ := strings.Cut(p, ": ")
		level = strings.ToLower(strings.TrimPrefix(level, "LibClamAV "))
		ev.PutString("log.level", level)
		ev.Message = msg
		if level == "error" {
			ev.Outcome = "failure"
			ev.PutString("error.message", msg)
		}
		return nil
	case strings.HasSuffix(p, " ERROR"):
		ev.Category = []string{"file"}
		ev.Type = []string{"info"}
		ev.Action = "scan-error"
		ev.Outcome = "failure"
		msg := strings.TrimSuffix(p, " ERROR")
		if path, reason, ok := cutLast(msg); ok {
			target(ev, path)
			msg = reason
		}
		ev.PutString("error.message", msg)
		ev.Message = p
		return nil
	case strings.HasSuffix(p, ": OK"), strings.HasSuffix(p, ": Empty file"), strings.HasSuffix(p, ": Symbolic link"), strings.HasSuffix(p, ": Excluded"):
		path, result, _ := cutLast(p)
		target(ev, path)
		ev.Category = []string{"file"}
		ev.Type = []string{"info"}
		ev.Action = "scan-" + strings.ToLower(strings.ReplaceAll(result, " ", "-"))
		if result == "OK" {
			ev.Action = "scan-clean"
		}
		ev.Outcome = "success"
		ev.PutString("clamav.result", result)
		return nil
	}
	if k, v, ok := strings.Cut(p, ": "); ok {
		if name, ok := summaryKeys[k]; ok {
			ev.Kind = event.KindMetric
			ev.Dataset = "clamav.clamscan"
			ev.Action = "scan-summary"
			ev.Message = p
			v = strings.TrimSpace(v)
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				ev.PutInt("clamav.summary."+name, n)
			} else {
				ev.PutString("clamav.summary."+name, v)
			}
			return nil
		}
	}
	if known && p != "" {
		// Status lines of a ClamAV program ("SelfCheck: Database status OK.").
		ev.Message = p
		ev.Action = statusAction(p)
		return nil
	}
	return parse.NotMine(Name, `a ClamAV line ("path: Signature FOUND", "path: OK", freshclam or clamd status)`)
}

// cutLast splits "path: rest" on the last ": ".
func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndex(s, ": ")
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+2:], true
}

func target(ev *event.Event, path string) {
	if path == "stream" || strings.HasPrefix(path, "stream(") {
		ev.PutString("clamav.scan_target", path)
		return
	}
	// clamd names data sent with INSTREAM "instream(local)" (Unix socket)
	// or "instream(IP@PORT)" (the TCP client that sent it): not a file.
	if inner, ok := strings.CutPrefix(path, "instream("); ok && strings.HasSuffix(inner, ")") {
		ev.PutString("clamav.scan_target", path)
		if ip, port, ok := strings.Cut(strings.TrimSuffix(inner, ")"), "@"); ok {
			if a, err := netip.ParseAddr(ip); err == nil {
				ev.Source.IP = a
				if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
					ev.Source.Port = n
				}
			}
		}
		return
	}
	ev.PutString("file.path", path)
	name := path
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		name = path[i+1:]
	}
	ev.PutString("file.name", name)
}

func found(ev *event.Event, p string) error {
	path, sig, ok := cutLast(strings.TrimSuffix(p, " FOUND"))
	if !ok || sig == "" {
		return parse.Errorf(`clamav: FOUND line without "path: signature"`)
	}
	target(ev, path)
	ev.Kind = event.KindAlert
	ev.Category = []string{"malware", "file"}
	ev.Type = []string{"info"}
	ev.Action = "malware-detected"
	ev.Outcome = "success"
	ev.Rule.Name = sig
	ev.Message = p
	sev := event.SeverityHigh
	if strings.HasPrefix(sig, "PUA.") {
		sev = event.SeverityLow
	}
	ev.PutInt(event.FieldSeverityID, int64(sev))
	ev.PutString("clamav.signature", sig)
	if strings.HasSuffix(sig, ".UNOFFICIAL") {
		ev.Put("clamav.unofficial", true)
	}
	// Platform.Category.Name-SigId-Rev
	if plat, rest, ok := strings.Cut(sig, "."); ok {
		if cat, _, ok := strings.Cut(rest, "."); ok {
			ev.PutString("clamav.platform", plat)
			ev.PutString("clamav.category", cat)
		}
	}
	ev.PutString("threat.indicator.type", "file")
	return nil
}

func freshclam(ev *event.Event, p string, cfg *parse.Config) {
	ev.Dataset = "clamav.freshclam"
	ev.Category = []string{"configuration"}
	ev.Message = p
	switch {
	case strings.HasPrefix(p, "ClamAV update process started at "):
		ev.Action = "update-started"
		ev.Type = []string{"start"}
		if t, ok := parse.Ctime(strings.TrimPrefix(p, "ClamAV update process started at "), cfg); ok && ev.Timestamp.IsZero() {
			ev.Timestamp = t
		}
	case strings.HasPrefix(p, "Database updated ("):
		ev.Action = "database-updated"
		ev.Type = []string{"change"}
		ev.Outcome = "success"
		rest := strings.TrimPrefix(p, "Database updated (")
		if n, tail, ok := strings.Cut(rest, " signatures) from "); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil {
				ev.PutInt("clamav.database.signatures", v)
			}
			host, ipPart, _ := strings.Cut(tail, " (IP: ")
			ev.PutString("server.domain", strings.TrimSpace(host))
			if a := parse.Addr(strings.TrimSuffix(ipPart, ")")); a.IsValid() {
				ev.Put("server.ip", a)
			}
		}
	default:
		// "<db>.cvd database is up-to-date (version: …)" or "<db>.cld updated (version: …)".
		db, rest, _ := strings.Cut(p, " ")
		ev.PutString("clamav.database.file", db)
		ev.PutString("clamav.database.name", strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(db, ".cvd"), ".cld"), ".cud"))
		if strings.HasPrefix(rest, "database is up-to-date") {
			ev.Action = "database-up-to-date"
			ev.Type = []string{"info"}
		} else {
			ev.Action = "database-updated"
			ev.Type = []string{"change"}
		}
		ev.Outcome = "success"
		if i := strings.IndexByte(rest, '('); i >= 0 {
			for _, kv := range strings.Split(strings.TrimSuffix(rest[i+1:], ")"), ", ") {
				k, v, ok := strings.Cut(kv, ": ")
				if !ok {
					continue
				}
				k = strings.ReplaceAll(k, "-", "_")
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					ev.PutInt("clamav.database."+k, n)
				} else {
					ev.PutString("clamav.database."+k, v)
				}
			}
		}
	}
}

func statusAction(p string) string {
	switch {
	case strings.HasPrefix(p, "SelfCheck:"):
		return "self-check"
	case strings.HasPrefix(p, "Database correctly reloaded"):
		return "database-reloaded"
	case strings.HasPrefix(p, "Reading databases"):
		return "database-loading"
	case strings.HasPrefix(p, "+++ Started"):
		return "started"
	case strings.HasPrefix(p, "--- Stopped"), strings.HasPrefix(p, "Pid file removed"):
		return "stopped"
	}
	return "status"
}
