package parse

import (
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
)

// Syslog is a parsed syslog envelope (RFC 3164, RFC 5424, or the
// PRI-less "timestamp host tag: msg" shape files written by syslog daemons
// have). The envelope is hand-parsed rather than run through a general
// syslog library: it is on the hot path of every firewall line, it must
// accept the many real-world deviations from both RFCs (no hostname,
// space-padded days, ISO timestamps in BSD lines) and it must never fail
// hard, since the payload is what matters.
type Syslog struct {
	// RFC is 5424 or 3164; 3164 also covers lines without PRI.
	RFC int
	// HasPri reports whether a <PRI> was present; Facility and Severity
	// are meaningful only then.
	HasPri   bool
	Facility int
	Severity int
	// Timestamp is the header time; zero when absent.
	Timestamp time.Time
	Hostname  string
	AppName   string
	ProcID    string
	MsgID     string
	// StructuredData is the raw RFC 5424 structured data, "" for NILVALUE.
	StructuredData string
}

// apply copies the envelope into ev.
func (s *Syslog) apply(ev *event.Event) {
	if !s.Timestamp.IsZero() {
		ev.Timestamp = s.Timestamp
	}
	if s.Hostname != "" {
		ev.AppendString("host.name", s.Hostname)
	}
	if s.AppName != "" {
		ev.AppendString("process.name", s.AppName)
	}
	if s.ProcID != "" {
		if pid, ok := Atoi(s.ProcID); ok {
			ev.AppendInt("process.pid", int64(pid))
		} else {
			ev.Append("log.syslog.procid", s.ProcID)
		}
	}
	if s.HasPri {
		ev.AppendInt("log.syslog.priority", int64(s.Facility*8+s.Severity))
		ev.AppendInt("log.syslog.facility.code", int64(s.Facility))
		ev.AppendInt("log.syslog.severity.code", int64(s.Severity))
	}
	if s.RFC == 5424 {
		ev.Append("log.syslog.version", "1")
		if s.MsgID != "" {
			ev.Append("log.syslog.msgid", s.MsgID)
		}
		if s.StructuredData != "" {
			putStructuredData(ev, s.StructuredData)
		}
	}
}

// parseSyslog parses the envelope of line into sl and returns the payload.
// ok is false when line has no recognizable envelope.
func parseSyslog(sl *Syslog, line string, cfg *Config) (payload string, ok bool) {
	s := line
	// RFC 6587 octet counting: "123 <134>...".
	if len(s) > 2 && isDigit(s[0]) {
		i := 0
		for i < len(s) && i < 10 && isDigit(s[i]) {
			i++
		}
		if i < len(s)-1 && s[i] == ' ' && s[i+1] == '<' {
			s = s[i+1:]
		}
	}
	if len(s) > 2 && s[0] == '<' {
		end := strings.IndexByte(s[:min(len(s), 5)], '>')
		if end < 2 {
			return "", false
		}
		pri, okp := Atoi(s[1:end])
		if !okp || pri > 191 {
			return "", false
		}
		sl.HasPri = true
		sl.Facility, sl.Severity = pri/8, pri%8
		s = s[end+1:]
		if len(s) >= 2 && s[0] >= '1' && s[0] <= '9' && s[1] == ' ' {
			if p, ok := parse5424(sl, s[2:]); ok {
				return p, true
			}
		}
		sl.RFC = 3164
		return parse3164(sl, s, cfg, true), true
	}
	sl.RFC = 3164
	if !startsWithTimestamp(s) {
		return "", false
	}
	return parse3164(sl, s, cfg, false), true
}

func startsWithTimestamp(s string) bool {
	if len(s) >= 16 && s[3] == ' ' && s[9] == ':' && s[12] == ':' && monthIndex(s[:3]) > 0 {
		return true
	}
	return len(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && isDigit(s[0])
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func monthIndex(s string) int {
	for i, m := range months {
		if s == m {
			return i + 1
		}
	}
	return 0
}

// parse3164 reads "[TIMESTAMP ][HOST ][TAG[PID]: ]MSG". With a PRI the
// timestamp is optional; without one the caller checked it is present.
func parse3164(sl *Syslog, s string, cfg *Config, hadPri bool) string {
	if t, rest, ok := parseBSDTime(s, cfg); ok {
		sl.Timestamp = t
		s = rest
	} else if t, rest, ok := parseISOPrefix(s); ok {
		sl.Timestamp = t
		s = rest
	} else if !hadPri {
		return s
	}
	s = strings.TrimLeft(s, " ")
	tok, rest := cutSpace(s)
	if app, pid, ok := parseTag(tok); ok {
		sl.AppName, sl.ProcID = app, pid
		return rest
	}
	if tok == "" || !isHostname(tok) {
		return s
	}
	// tok is the host unless it is the last word of the line.
	if rest == "" {
		return s
	}
	sl.Hostname = tok
	tok2, rest2 := cutSpace(rest)
	if app, pid, ok := parseTag(tok2); ok {
		sl.AppName, sl.ProcID = app, pid
		return rest2
	}
	return rest
}

// isHostname accepts DNS names, IPv4 and IPv6 text: no punctuation that a
// message word would carry.
func isHostname(s string) bool {
	if len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_' || c == ':' || c == '%') {
			return false
		}
	}
	return s[len(s)-1] != ':'
}

// parseTag accepts "app:", "app[pid]:" and "app[pid]" followed by nothing.
func parseTag(tok string) (app, pid string, ok bool) {
	if len(tok) < 2 {
		return "", "", false
	}
	if i := strings.IndexByte(tok, '['); i > 0 {
		j := strings.IndexByte(tok[i:], ']')
		if j < 0 {
			return "", "", false
		}
		tail := tok[i+j+1:]
		if tail != ":" && tail != "" {
			return "", "", false
		}
		return tok[:i], tok[i+1 : i+j], validTag(tok[:i])
	}
	if tok[len(tok)-1] == ':' {
		return tok[:len(tok)-1], "", validTag(tok[:len(tok)-1])
	}
	return "", "", false
}

func validTag(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == ':' || c == '[' || c == ']' || c == '"' || c == '=' {
			return false
		}
	}
	return true
}

func cutSpace(s string) (tok, rest string) {
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// parseBSDTime reads "Mmm dd hh:mm:ss[.frac] " (day space-padded or not),
// optionally followed by a four-digit year as some devices add.
func parseBSDTime(s string, cfg *Config) (time.Time, string, bool) {
	if len(s) < 15 || s[3] != ' ' {
		return time.Time{}, s, false
	}
	mon := monthIndex(s[:3])
	if mon == 0 {
		return time.Time{}, s, false
	}
	i := 4
	if s[i] == ' ' {
		i++
	}
	day := 0
	for i < len(s) && isDigit(s[i]) && day < 100 {
		day = day*10 + int(s[i]-'0')
		i++
	}
	if day < 1 || day > 31 || i >= len(s) || s[i] != ' ' {
		return time.Time{}, s, false
	}
	i++
	year := 0
	if len(s) >= i+5 && isDigit(s[i]) && isDigit(s[i+3]) && s[i+4] == ' ' && s[i+2] != ':' {
		year, _ = Atoi(s[i : i+4])
		i += 5
	}
	if len(s) < i+8 || s[i+2] != ':' || s[i+5] != ':' {
		return time.Time{}, s, false
	}
	hh, ok1 := Atoi(s[i : i+2])
	mm, ok2 := Atoi(s[i+3 : i+5])
	ss, ok3 := Atoi(s[i+6 : i+8])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, s, false
	}
	i += 8
	nsec := 0
	if i < len(s) && s[i] == '.' {
		j := i + 1
		scale := 100000000
		for j < len(s) && isDigit(s[j]) {
			if scale > 0 {
				nsec += int(s[j]-'0') * scale
				scale /= 10
			}
			j++
		}
		i = j
	}
	if i < len(s) && s[i] != ' ' {
		return time.Time{}, s, false
	}
	loc := cfg.Loc()
	if year == 0 {
		now := cfg.now().In(loc)
		year = now.Year()
		t := time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc)
		// A December line received in early January belongs to last year.
		if t.After(now.Add(7 * 24 * time.Hour)) {
			t = time.Date(year-1, time.Month(mon), day, hh, mm, ss, nsec, loc)
		}
		return t, s[min(i+1, len(s)):], true
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc), s[min(i+1, len(s)):], true
}

// parseISOPrefix reads an RFC 3339 timestamp followed by a space.
func parseISOPrefix(s string) (time.Time, string, bool) {
	if len(s) < 20 || !isDigit(s[0]) || s[4] != '-' || s[10] != 'T' {
		return time.Time{}, s, false
	}
	tok, rest := cutSpace(s)
	t, err := time.Parse(time.RFC3339Nano, tok)
	if err != nil {
		return time.Time{}, s, false
	}
	return t, rest, true
}

// parse5424 reads "TIMESTAMP HOST APP PROCID MSGID SD [MSG]".
func parse5424(sl *Syslog, s string) (string, bool) {
	var f [5]string
	for i := range f {
		tok, rest := cutSpace(s)
		if tok == "" {
			return "", false
		}
		f[i], s = tok, rest
	}
	if f[0] != "-" {
		t, err := time.Parse(time.RFC3339Nano, f[0])
		if err != nil {
			return "", false
		}
		sl.Timestamp = t
	}
	nil5424 := func(v string) string {
		if v == "-" {
			return ""
		}
		return v
	}
	sl.RFC = 5424
	sl.Hostname = nil5424(f[1])
	sl.AppName = nil5424(f[2])
	sl.ProcID = nil5424(f[3])
	sl.MsgID = nil5424(f[4])
	switch {
	case s == "" || s == "-":
		return "", true
	case strings.HasPrefix(s, "- "):
		s = s[2:]
	case s[0] == '[':
		end := sdEnd(s)
		if end < 0 {
			return "", false
		}
		sl.StructuredData = s[:end]
		s = strings.TrimPrefix(s[end:], " ")
	default:
		return "", false
	}
	return strings.TrimPrefix(s, "\uFEFF"), true
}

// sdEnd returns the index just past the last SD-ELEMENT, or -1.
func sdEnd(s string) int {
	i := 0
	for i < len(s) && s[i] == '[' {
		inQuote := false
		j := i + 1
		for ; j < len(s); j++ {
			c := s[j]
			if inQuote {
				if c == '\\' {
					j++
				} else if c == '"' {
					inQuote = false
				}
				continue
			}
			if c == '"' {
				inQuote = true
			} else if c == ']' {
				break
			}
		}
		if j >= len(s) {
			return -1
		}
		i = j + 1
	}
	return i
}

// putStructuredData stores each SD-PARAM as
// log.syslog.structured_data.<SD-ID>.<PARAM-NAME>.
func putStructuredData(ev *event.Event, sd string) {
	for len(sd) > 0 && sd[0] == '[' {
		elem := sd[1:]
		id, rest := cutSpace(elem)
		id = strings.TrimSuffix(id, "]")
		prefix := "log.syslog.structured_data." + id + "."
		for {
			rest = strings.TrimLeft(rest, " ")
			if rest == "" || rest[0] == ']' {
				break
			}
			eq := strings.IndexByte(rest, '=')
			if eq < 0 || eq+1 >= len(rest) || rest[eq+1] != '"' {
				break
			}
			name := rest[:eq]
			var b strings.Builder
			j := eq + 2
			for ; j < len(rest); j++ {
				c := rest[j]
				if c == '\\' && j+1 < len(rest) && (rest[j+1] == '"' || rest[j+1] == '\\' || rest[j+1] == ']') {
					b.WriteByte(rest[j+1])
					j++
					continue
				}
				if c == '"' {
					break
				}
				b.WriteByte(c)
			}
			ev.Put(prefix+name, b.String())
			if j >= len(rest) {
				return
			}
			rest = rest[j+1:]
		}
		// Skip past the closing bracket of this element.
		k := strings.IndexByte(rest, ']')
		if k < 0 {
			return
		}
		sd = rest[k+1:]
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Atoi parses a non-negative decimal integer of at most 18 digits without
// allocating. ok is false for empty input, signs or other characters.
func Atoi(s string) (int, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
