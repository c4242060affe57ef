package sqlite

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/mcpsoc/mcpsoc/internal/demo"
	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/builtin"
	"github.com/mcpsoc/mcpsoc/internal/store"
)

// genDict names a file to write a freshly generated dictionary to:
//
//	go test ./internal/store/sqlite -run TestGenerateDict -gendict dict/2.s2dict
//
// A generated dictionary is a new format: give it the next format byte and
// its own pin in rowdata.go. dict/1.s2dict itself never changes.
var genDict = flag.String("gendict", "", "write a dictionary generated from today's parsers and demo to this file")

// dictNow pins the clock of the demo scenario and the parsers, so that
// generation is reproducible.
var dictNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// perDataset is how many events of each demo dataset go in the
// dictionary, and maxSampleBytes the longest golden event that does: with
// more, the content passes S2's 64 KiB and its start is cut, and the mix
// of TestDictCompresses compressed worse.
const (
	perDataset     = 2
	maxSampleBytes = 2500
)

// parseAll parses input in format with the pinned clock and returns each
// event's JSON as the store writes it.
func parseAll(t testing.TB, format, input string) [][]byte {
	t.Helper()
	n, err := parse.New(format, &parse.Config{Now: func() time.Time { return dictNow }, SourceID: "syslog:" + format})
	if err != nil {
		t.Fatalf("parser %s: %v", format, err)
	}
	sum := sha256.Sum256([]byte(input))
	stream := hex.EncodeToString(sum[:8])
	var out [][]byte
	sc := parse.NewScanner(strings.NewReader(input), n)
	for sc.Scan() {
		ev := sc.Event()
		if ev.IsPipelineError() {
			continue
		}
		// Stamp the event as an ingest source does (ingest.Batch.Add):
		// a record id and a receive time with nanoseconds.
		pos := int64(len(out))
		ev.Put("event.id", store.RecordID(pos, "syslog:"+format, stream))
		ev.Provenance.IngestTime = dictNow.Add(time.Duration(123456789 + 1000*pos))
		out = append(out, ev.AppendJSON(nil))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// goldenEvents parses the inputs of the parsers' golden test files (under
// internal/parse/testdata/golden/<format>/), in file name order.
func goldenEvents(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, evs := range goldenFiles(t) {
		out = append(out, evs...)
	}
	return out
}

// goldenFiles is goldenEvents by file.
func goldenFiles(t testing.TB) [][][]byte {
	t.Helper()
	files, err := filepath.Glob("../../parse/testdata/golden/*/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no parser golden files: %v", err)
	}
	sort.Strings(files)
	var out [][][]byte
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		format := filepath.Base(filepath.Dir(path))
		for _, line := range strings.Split(s, "\n") {
			if f, ok := strings.CutPrefix(line, "# format: "); ok {
				format = f
			}
		}
		in, want := strings.Index(s, "-- input --\n"), strings.Index(s, "-- want --\n")
		if in < 0 || want < in {
			t.Fatalf("%s: no input section", path)
		}
		out = append(out, parseAll(t, format, s[in+len("-- input --\n"):want]))
	}
	return out
}

// goldFirstEvents is the first event of each golden file.
func goldFirstEvents(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, evs := range goldenFiles(t) {
		if len(evs) > 0 {
			out = append(out, evs[0])
		}
	}
	return out
}

// demoEvents parses the demo scenario generated with seed and returns its
// events grouped by dataset, the datasets ordered by their event count,
// fewest first.
func demoEvents(t testing.TB, seed uint64) [][][]byte {
	t.Helper()
	return demoEventsAt(t, dictNow, seed)
}

// demoEventsAt is demoEvents with the scenario ending at now.
func demoEventsAt(t testing.TB, now time.Time, seed uint64) [][][]byte {
	t.Helper()
	byDataset := map[string][][]byte{}
	for _, src := range demo.Generate(now, seed) {
		for _, js := range parseAll(t, src.Format, src.String()) {
			var ev event.Event
			if err := ev.UnmarshalJSON(js); err != nil {
				t.Fatal(err)
			}
			byDataset[ev.Dataset] = append(byDataset[ev.Dataset], js)
		}
	}
	names := make([]string, 0, len(byDataset))
	for k := range byDataset {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := byDataset[names[i]], byDataset[names[j]]
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return names[i] < names[j]
	})
	out := make([][][]byte, 0, len(names))
	for _, k := range names {
		out = append(out, byDataset[k])
	}
	return out
}

// dictContent is the dictionary's text: sample events, the rarest sources
// first and the commonest last, because S2 reaches recent history with
// cheaper (shorter) offsets and keeps only the last 64 KiB.
//
// The samples are the first event of each parser golden file (every
// source, including those the demo lacks; events over maxSampleBytes
// left out) and perDataset events of each demo dataset. Golden events of
// datasets the demo lacks come first; then, for each demo dataset from the
// fewest events to the most (firewall logs last), its golden events and
// its demo samples.
func dictContent(t testing.TB) []byte {
	t.Helper()
	dataset := func(js []byte) string {
		var ev event.Event
		if err := ev.UnmarshalJSON(js); err != nil {
			t.Fatal(err)
		}
		return ev.Dataset
	}
	golden := map[string][][]byte{}
	var order []string
	for _, js := range goldFirstEvents(t) {
		if len(js) > maxSampleBytes {
			continue
		}
		d := dataset(js)
		if _, ok := golden[d]; !ok {
			order = append(order, d)
		}
		golden[d] = append(golden[d], js)
	}
	dem := demoEvents(t, 1)
	inDemo := map[string]bool{}
	for _, evs := range dem {
		inDemo[dataset(evs[0])] = true
	}
	var buf bytes.Buffer
	for _, d := range order {
		if !inDemo[d] {
			for _, js := range golden[d] {
				buf.Write(js)
			}
		}
	}
	for _, evs := range dem {
		for _, js := range golden[dataset(evs[0])] {
			buf.Write(js)
		}
		for _, js := range samples(t, evs) {
			buf.Write(js)
		}
	}
	b := buf.Bytes()
	if len(b) > s2.MaxDictSize {
		b = b[len(b)-s2.MaxDictSize:]
	}
	return b
}

// samples picks up to perDataset events of one dataset: the first of
// each event.action and event.outcome, in order of appearance, so that a
// firewall's blocks are in the dictionary as well as its passes.
func samples(t testing.TB, evs [][]byte) [][]byte {
	t.Helper()
	seen := map[[2]string]bool{}
	var out [][]byte
	for _, js := range evs {
		var ev event.Event
		if err := ev.UnmarshalJSON(js); err != nil {
			t.Fatal(err)
		}
		k := [2]string{ev.Action, ev.Outcome}
		if !seen[k] {
			seen[k] = true
			out = append(out, js)
		}
		if len(out) == perDataset {
			break
		}
	}
	return out
}

// generateDict is the serialized dictionary (s2.Dict.Bytes); its first
// repeat offset points at the last event start in the content.
func generateDict(t testing.TB) []byte {
	t.Helper()
	d := s2.MakeDict(dictContent(t), []byte(`{"@timestamp":"`))
	if d == nil {
		t.Fatal("dictionary content too short")
	}
	return d.Bytes()
}

func TestGenerateDict(t *testing.T) {
	a, b := generateDict(t), generateDict(t)
	if !bytes.Equal(a, b) {
		t.Fatal("dictionary generation is not reproducible")
	}
	if s2.NewDict(a) == nil {
		t.Fatal("generated dictionary does not load")
	}
	if *genDict != "" {
		if err := os.WriteFile(*genDict, a, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(a)
		t.Logf("wrote %s (%d bytes), sha256 %s", *genDict, len(a), hex.EncodeToString(sum[:]))
	}
}

// TestDictPinned: dict/1.s2dict is exactly the file rows were written
// with. If this fails the file was changed: restore it, and add a new
// dictionary under a new format byte instead.
func TestDictPinned(t *testing.T) {
	b, err := os.ReadFile("dict/1.s2dict")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != dict1SHA256 {
		t.Fatalf("dict/1.s2dict has sha256 %s, pinned %s", got, dict1SHA256)
	}
	if !bytes.Equal(b, dict1) {
		t.Fatal("embedded dictionary differs from dict/1.s2dict")
	}
}

// sampleMix is a test mix the dictionary was not built from: every event
// of the demo scenario under another seed (in its real proportions), each
// golden event, and perf-stream filterlog lines.
func sampleMix(t testing.TB) map[string][][]byte {
	t.Helper()
	mix := map[string][][]byte{"golden": goldenEvents(t)}
	for _, evs := range demoEvents(t, 7) {
		mix["demo"] = append(mix["demo"], evs...)
	}
	var lines strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&lines, "<134>Nov 21 10:%02d:%02d fw filterlog[4242]: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,%d,0,DF,6,tcp,60,203.0.%d.%d,192.0.2.10,%d,%d,0,S,%d,,64240,,mss;sackOK;TS;nop;wscale\n",
			i/60, i%60, i*7919%65535, i%250, i*13%250, 1024+i*31%60000, 1+i%1024, i*104729)
	}
	mix["perf"] = parseAll(t, "auto", lines.String())
	return mix
}

// TestDictCompresses: the built-in dictionary keeps paying off on today's
// events. Each group of the sample mix must shrink to under 40% of its JSON
// (13-17% when dictionary 1 was made); a failure means the events
// drifted far from the dictionary and a new one is due.
func TestDictCompresses(t *testing.T) {
	mix := sampleMix(t)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range mix {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		var plain, packed int
		for _, js := range mix[name] {
			enc := encodeData(nil, js)
			plain += len(js)
			packed += len(enc)
			got, err := decodeData(enc)
			if err != nil || !bytes.Equal(got, js) {
				t.Fatalf("%s: round trip failed: %v", name, err)
			}
		}
		n := len(mix[name])
		t.Logf("%s: %d events, %d -> %d bytes per event (%.1f%%)", name, n, plain/n, packed/n, 100*float64(packed)/float64(plain))
		if packed*10 > plain*4 {
			t.Errorf("%s: compressed to %d of %d bytes, want under 40%%", name, packed, plain)
		}
	}
}
