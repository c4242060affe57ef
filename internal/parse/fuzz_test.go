package parse_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mcpsoc/mcpsoc/internal/parse"
)

var (
	filepathGlob = filepath.Glob
	readFile     = os.ReadFile
)

// seedLines adds every line of every golden input as a seed.
func seedLines(f *testing.F) {
	for _, in := range goldenInputs(f) {
		for _, line := range strings.Split(in, "\n") {
			f.Add([]byte(line))
		}
		f.Add([]byte(in))
	}
}

// checkLine is the invariant every parser must keep on any input: no panic,
// exactly one event, valid JSON, valid UTF-8 original.
func checkLine(t *testing.T, format string, data []byte) {
	n, err := parse.New(format, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	ev := n.Parse(data)
	if ev == nil {
		t.Fatal("nil event")
	}
	if !utf8.ValidString(ev.Original) {
		t.Fatalf("original not valid UTF-8: %q", ev.Original)
	}
	b, err := ev.MarshalJSON()
	if err != nil || !json.Valid(b) {
		t.Fatalf("%s(%q): invalid JSON %q", format, data, b)
	}
	if ev.Timestamp.IsZero() {
		t.Fatalf("%s(%q): no @timestamp", format, data)
	}
}

func fuzzFormat(f *testing.F, format string) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, data []byte) { checkLine(t, format, data) })
}

func FuzzAuto(f *testing.F)        { fuzzFormat(f, "auto") }
func FuzzSyslog(f *testing.F)      { fuzzFormat(f, "syslog") }
func FuzzFilterlog(f *testing.F)   { fuzzFormat(f, "filterlog") }
func FuzzNetfilter(f *testing.F)   { fuzzFormat(f, "netfilter") }
func FuzzFortigate(f *testing.F)   { fuzzFormat(f, "fortigate") }
func FuzzPanos(f *testing.F)       { fuzzFormat(f, "panos") }
func FuzzModsecurity(f *testing.F) { fuzzFormat(f, "modsecurity") }
func FuzzClamav(f *testing.F)      { fuzzFormat(f, "clamav") }
func FuzzSuricata(f *testing.F)    { fuzzFormat(f, "suricata") }
func FuzzWinlog(f *testing.F)      { fuzzFormat(f, "winlog") }
func FuzzJSON(f *testing.F)        { fuzzFormat(f, "json") }
func FuzzCEF(f *testing.F)         { fuzzFormat(f, "cef") }

// FuzzScanner drives the multi-line reader: arbitrary streams (several
// lines, serial ModSecurity fragments) through format auto and modsecurity.
func FuzzScanner(f *testing.F) {
	for _, in := range goldenInputs(f) {
		f.Add([]byte(in), uint8(0))
	}
	f.Add([]byte("--a-A--\n--a-A--\n\n--a-Z--\n--b-Z--\n---x---A--\nx"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		format := "auto"
		if which%2 == 1 {
			format = "modsecurity"
		}
		cfg := testConfig()
		cfg.MaxRecordBytes = 256 // exercise truncation inside records
		n, err := parse.New(format, cfg)
		if err != nil {
			t.Fatal(err)
		}
		sc := parse.NewScanner(bytes.NewReader(data), n)
		events := 0
		for sc.Scan() {
			events++
			b, _ := sc.Event().MarshalJSON()
			if !json.Valid(b) {
				t.Fatalf("invalid JSON %q", b)
			}
			if len(sc.Event().Original) > 256 {
				t.Fatalf("record over the limit: %d bytes", len(sc.Event().Original))
			}
		}
		if sc.Err() != nil {
			t.Fatal(sc.Err())
		}
		if st := sc.Stats(); st.Events != int64(events) || st.Lines < st.Events {
			t.Fatalf("stats %+v for %d events", st, events)
		}
	})
}

// FuzzParseJSON checks the shared JSON tree against encoding/json: both
// accept the same documents, and the tree never panics.
func FuzzParseJSON(f *testing.F) {
	f.Add(`{"a":[1,2,{"b":"c\u00e9"}],"d":null,"e":-1.5e-3}`)
	f.Add(`{"a":"\ud800"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return // the Normalizer guarantees valid UTF-8 before any parser runs
		}
		d, err := parse.ParseJSON(s)
		std := json.Valid([]byte(s))
		if (err == nil) != std && !strings.Contains(s, strings.Repeat("[", 200)) && !strings.Contains(s, strings.Repeat("{", 200)) {
			t.Fatalf("ParseJSON(%q) err=%v, encoding/json valid=%v", s, err, std)
		}
		if err == nil {
			_ = d.Value(d.Root())
			d.Free()
		}
	})
}
