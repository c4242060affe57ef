package av

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// TestThroughputVsClamdscan measures directory-scan throughput through our
// server (MCP call → walk → INSTREAM per file) against clamdscan on the
// same files and the same clamd, and logs the figures and ratios (issue 5,
// "Measure"). clamd's result cache is disabled so every run scans for real.
// It asserts only correctness (same detections); timing depends on the
// machine. Skipped with -short.
func TestThroughputVsClamdscan(t *testing.T) {
	if testing.Short() {
		t.Skip("throughput measurement skipped with -short")
	}
	if _, err := exec.LookPath("clamdscan"); err != nil {
		testenv.Missing(t, "clamdscan (Debian package clamdscan)")
	}
	env := startClamd(t, "DisableCache yes", "MaxThreads 4")
	corpus := t.TempDir()
	// 64 files of 256 KiB pseudo-random data (hard for the matcher, no
	// archive unpacking), 16 text files, one EICAR, and the 44 samples.
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 256<<10)
	for i := range 64 {
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(corpus, fmt.Sprintf("blob%02d.bin", i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 16 {
		write(t, filepath.Join(corpus, fmt.Sprintf("text%02d.txt", i)), strings.Repeat("log line with words and numbers 12345\n", 4000))
	}
	write(t, filepath.Join(corpus, "eicar.com"), string(eicar))
	samples := filepath.Join(corpus, "samples")
	os.Mkdir(samples, 0o755)
	des, _ := os.ReadDir(testFilesDir)
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(testFilesDir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(samples, de.Name()), b, 0o644)
	}
	wantInfected := 1 + len(des)
	var total int64
	filepath.WalkDir(corpus, func(_ string, d os.DirEntry, _ error) error {
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() {
			total += fi.Size()
		}
		return nil
	})

	// The machine is shared: run the methods round-robin so load drift
	// hits all of them alike, and keep each one's best run.
	const reps = 5
	type method struct {
		name string
		run  func() (int, error)
		best time.Duration
	}
	ours := func(conc int) func() (int, error) {
		s := newServer(t, Config{Clamd: env.addr(), AllowedRoots: []string{corpus}, ScanConcurrency: conc}, nil)
		cs := connect(t, s)
		return func() (int, error) {
			var r DirScan
			if msg := call(t, cs, "scan_directory", map[string]any{"path": corpus}, &r); msg != "" {
				return 0, fmt.Errorf("%s", msg)
			}
			return r.InfectedCount, nil
		}
	}
	clamdscan := func(extra ...string) func() (int, error) {
		return func() (int, error) {
			args := append([]string{"--config-file=" + env.conf, "--no-summary", "--infected"}, extra...)
			out, err := exec.Command("clamdscan", append(args, corpus)...).Output()
			if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
				err = nil // 1 means viruses found
			}
			return strings.Count(string(out), " FOUND"), err
		}
	}
	results := []*method{
		{name: "clamdscan (CONTSCAN: clamd reads the files)", run: clamdscan()},
		{name: "clamdscan --stream (INSTREAM, one file at a time)", run: clamdscan("--stream")},
		{name: "clamdscan --multiscan (MULTISCAN, clamd threads)", run: clamdscan("--multiscan")},
		{name: "mcpsoc scan_directory, concurrency 1", run: ours(1)},
		{name: "mcpsoc scan_directory, concurrency 4 (default)", run: ours(4)},
	}
	for range reps {
		for _, m := range results {
			start := time.Now()
			n, err := m.run()
			d := time.Since(start)
			if err != nil {
				t.Fatalf("%s: %v", m.name, err)
			}
			if n != wantInfected {
				t.Fatalf("%s: %d infected, want %d", m.name, n, wantInfected)
			}
			if m.best == 0 || d < m.best {
				m.best = d
			}
		}
	}
	base := results[0].best
	t.Logf("corpus: %d files, %.1f MiB; best of %d runs; clamd DisableCache, MaxThreads 4", 64+16+1+len(des), float64(total)/(1<<20), reps)
	for _, r := range results {
		t.Logf("%-52s %7.1f ms  %6.1f MiB/s  ratio vs clamdscan %.2f", r.name, float64(r.best.Microseconds())/1000,
			float64(total)/(1<<20)/r.best.Seconds(), base.Seconds()/r.best.Seconds())
	}
}
