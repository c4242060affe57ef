package sigma

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// corpusDir is where the SigmaHQ corpus is: the project's shared folder
// beside the repository (shared/corpus/sigmahq), or MCPSOC_SIGMA_CORPUS.
// The corpus is third-party data (DRL 1.1) and never part of this
// repository.
func corpusDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("MCPSOC_SIGMA_CORPUS")
	if dir == "" {
		dir = filepath.Join(testenv.RepoRoot(), "..", "shared", "corpus", "sigmahq")
	}
	if _, err := os.Stat(filepath.Join(dir, "rules")); err != nil {
		tb.Skipf("SigmaHQ corpus not found at %s (set MCPSOC_SIGMA_CORPUS to a sigma checkout): %v", dir, err)
	}
	return dir
}

func corpusRoots(dir string) []string {
	var roots []string
	for _, sub := range []string{"rules", "rules-emerging-threats", "rules-threat-hunting", "rules-placeholder"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); err == nil {
			roots = append(roots, filepath.Join(dir, sub))
		}
	}
	return roots
}

// corpusPlaceholders gives the standard placeholders sample values so the
// rules-placeholder directory compiles, as a site configuration would.
var corpusPlaceholders = map[string][]string{
	"Administrators":    {"Administrator", "*admin*"},
	"JumpServers":       {"jump01", "jump02"},
	"Workstations":      {"ws-*"},
	"Servers":           {"srv-*"},
	"DomainControllers": {"dc01", "dc02"},
}

func loadCorpus(tb testing.TB, opts *Options) *Ruleset {
	tb.Helper()
	rs := NewRuleset(opts)
	if err := rs.LoadDir(corpusRoots(corpusDir(tb))...); err != nil {
		tb.Fatal(err)
	}
	return rs
}

func TestCorpusCoverage(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *Options
	}{
		{"no placeholders", nil},
		{"site placeholders", &Options{Placeholders: corpusPlaceholders}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := loadCorpus(t, tc.opts)
			total := rs.Documents
			ok := len(rs.Rules)
			pct := 100 * float64(ok) / float64(total)
			t.Logf("SigmaHQ corpus: %d rule documents, %d compiled (%.2f%%), %d correlation/filter documents skipped", total, ok, pct, len(rs.Skipped))
			reasons := map[string]int{}
			for _, e := range rs.Errors {
				t.Logf("  %v", e)
				r := e.Reason
				if i := strings.IndexAny(r, "\"%"); i > 0 {
					r = r[:i]
				}
				reasons[r]++
			}
			var keys []string
			for k := range reasons {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				t.Logf("  %4d × %s", reasons[k], k)
			}
			e := NewEngine(rs)
			st := e.Stats()
			t.Logf("witness index: %d of %d rules have a witness, %d always evaluated", st.Witnessed, st.Rules, st.Always)
			if pct < 99 {
				t.Errorf("only %.2f%% of the corpus compiled, want at least 99%%", pct)
			}
		})
	}
}
