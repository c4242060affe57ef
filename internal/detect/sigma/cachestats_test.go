package sigma

import "testing"

// cacheStatsStart starts counting scan-cache lookups (single goroutine);
// cacheStatsReport stops and reports the share of cache lookups answered
// by the cache ("cache-hit"), and the share of all value scans that were
// looked up ("cached"; the others were too long, or of a field whose values
// rarely repeat).
func cacheStatsStart() { scanCacheStats = &struct{ hits, misses, skipped, bypassed uint64 }{} }

func cacheStatsReport(b *testing.B) {
	s := scanCacheStats
	scanCacheStats = nil
	if s == nil {
		return
	}
	if n := s.hits + s.misses; n > 0 {
		b.ReportMetric(float64(s.hits)/float64(n), "cache-hit")
		b.ReportMetric(float64(n)/float64(n+s.skipped+s.bypassed), "cached")
	}
}
