package parse

import (
	"strings"
	"time"
)

// Ctime parses C ctime text ("Sat Mar 14 10:00:00 2026", the day possibly
// space-padded) in the configured time zone: ClamAV, ModSecurity v3 and
// freshclam write it with no zone.
func Ctime(s string, cfg *Config) (time.Time, bool) {
	s = strings.Join(strings.Fields(s), " ")
	for _, layout := range [...]string{"Mon Jan 2 15:04:05 2006", "Mon Jan 2 15:04:05.000000 2006", "Jan 2 15:04:05 2006"} {
		if t, err := time.ParseInLocation(layout, s, cfg.Loc()); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
