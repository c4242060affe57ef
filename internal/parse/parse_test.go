package parse_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

func TestRegisterPanics(t *testing.T) {
	factory := func(*parse.Config) (parse.Parser, error) { return nil, nil }
	for name, fn := range map[string]func(){
		"empty":     func() { parse.Register("", factory) },
		"duplicate": func() { parse.Register("filterlog", factory) },
		"nil":       func() { parse.Register("x-nil", nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Register did not panic")
				}
			}()
			fn()
		})
	}
}

func TestRegisterForTest(t *testing.T) {
	restore := parse.RegisterForTest("x-test", func(*parse.Config) (parse.Parser, error) { return upper{}, nil })
	n, err := parse.New("x-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Parse([]byte("hi")).Message; got != "HI" {
		t.Errorf("message %q", got)
	}
	restore()
	if parse.Registered("x-test") {
		t.Error("restore did not unregister")
	}
}

type upper struct{}

func (upper) Name() string { return "x-test" }
func (upper) Parse(ev *event.Event, rec *parse.Record) error {
	ev.Message = strings.ToUpper(rec.Payload)
	return nil
}

func TestUnknownFormat(t *testing.T) {
	_, err := parse.New("nope", nil)
	var ufe *parse.UnknownFormatError
	if !errors.As(err, &ufe) {
		t.Fatalf("err = %v, want *UnknownFormatError", err)
	}
	for _, want := range []string{"auto", "cef", "clamav", "filterlog", "fortigate", "json", "modsecurity", "netfilter", "panos", "suricata", "syslog", "winlog"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not list %q", err, want)
		}
	}
}

func TestHugeLineTruncated(t *testing.T) {
	// A 10 MB line between two normal ones: cut at the record limit,
	// flagged, and the following line still parses.
	huge := "Mar 14 10:05:01 host kernel: nft-drop: IN=eth0 OUT= SRC=198.51.100.4 DST=192.0.2.20 PROTO=UDP " + strings.Repeat("X=1 ", 10<<20/4)
	input := "<13>Mar 14 10:05:00 host app: before\n" + huge + "\n<13>Mar 14 10:05:02 host app: after\n"
	cfg := testConfig()
	n, err := parse.New("auto", cfg)
	if err != nil {
		t.Fatal(err)
	}
	sc := parse.NewScanner(strings.NewReader(input), n)
	var evs []*event.Event
	for sc.Scan() {
		evs = append(evs, sc.Event())
	}
	if sc.Err() != nil {
		t.Fatal(sc.Err())
	}
	if len(evs) != 3 {
		t.Fatalf("got %d events, want 3", len(evs))
	}
	big := evs[1]
	if len(big.Original) != parse.DefaultMaxRecordBytes {
		t.Errorf("original is %d bytes, want %d", len(big.Original), parse.DefaultMaxRecordBytes)
	}
	if v, _ := big.Get("event.truncated"); v != true {
		t.Errorf("event.truncated = %v", v)
	}
	if v, _ := big.Get("log.original_size"); v != int64(len(huge)) {
		t.Errorf("log.original_size = %v, want %d", v, len(huge))
	}
	if big.Source.IP.String() != "198.51.100.4" {
		t.Errorf("truncated netfilter line lost its source: %v", big.Source.IP)
	}
	if evs[2].Message != "after" {
		t.Errorf("line after the huge one: %q", evs[2].Message)
	}
	if st := sc.Stats(); st.Truncated != 1 || st.Lines != 3 || st.Events != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	cfg := testConfig()
	cfg.MaxRecordBytes = 10
	n, _ := parse.New("json", cfg)
	ev := n.Parse([]byte("{\"a\":\"ééééééé\"}"))
	if !strings.HasPrefix(ev.Original, "{\"a\":\"é") || len(ev.Original) > 10 {
		t.Errorf("original %q", ev.Original)
	}
	if v, _ := ev.Get("event.invalid_utf8"); v != nil {
		t.Error("truncation produced invalid UTF-8")
	}
	if !ev.IsPipelineError() {
		t.Error("truncated JSON should be a pipeline error")
	}
}

func TestMultiLineAmongSingleLines(t *testing.T) {
	input := "Mar 14 10:05:01 host kernel: nft-drop: IN=eth0 OUT= SRC=198.51.100.4 DST=192.0.2.20 PROTO=UDP SPT=1 DPT=2\n" +
		"--abc-A--\n[14/Mar/2026:10:00:00 +0000] id1 203.0.113.7 1 192.0.2.10 80\n--abc-B--\nGET / HTTP/1.1\nHost: a\n\n--abc-Z--\n" +
		"--def-A--\n[14/Mar/2026:10:00:01 +0000] id2 203.0.113.8 2 192.0.2.10 80\n--def-B--\nGET /x HTTP/1.1\n" + // no Z: closed by the next A
		"--ghi-A--\n[14/Mar/2026:10:00:02 +0000] id3 203.0.113.9 3 192.0.2.10 80\n--ghi-Z--\n" +
		"/srv/x: Eicar FOUND\n"
	n, _ := parse.New("auto", testConfig())
	sc := parse.NewScanner(strings.NewReader(input), n)
	var got []string
	for sc.Scan() {
		ev := sc.Event()
		id, _ := ev.GetString("transaction.id")
		got = append(got, ev.Provenance.Parser+":"+id)
	}
	want := []string{"netfilter:", "modsecurity:id1", "modsecurity:id2", "modsecurity:id3", "clamav:"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestWindowsSigmaFieldsThroughParser(t *testing.T) {
	c := readCase(t, "testdata/golden/winlog/evtx_dump_sysmon1.txt")
	n, _ := parse.New("winlog", testConfig())
	ev := n.Parse([]byte(strings.TrimSpace(c.input)))
	for field, want := range map[string]any{
		"EventID":             int64(1),
		"Channel":             "Microsoft-Windows-Sysmon/Operational",
		"Provider_Name":       "Microsoft-Windows-Sysmon",
		"Computer":            "WS01.example.local",
		"Image":               `C:\Windows\System32\cmd.exe`,
		"CommandLine":         "cmd.exe /c whoami /all",
		"ParentImage":         `C:\Windows\explorer.exe`,
		"User":                `EXAMPLE\alice`,
		"process.name":        "cmd.exe",
		"process.hash.sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	} {
		got, ok := ev.Get(field)
		if !ok {
			t.Errorf("Get(%q) not found", field)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Get(%q) (-want +got):\n%s", field, diff)
		}
	}
}

func TestParseJSONTree(t *testing.T) {
	d, err := parse.ParseJSON(`{"h":{"Set-Cookie":"a=1","Set-Cookie":"b=2"},"id":18446744073709551615,"n":-1.5e3,"s":"caf\u00e9 \ud83d\ude00 \"q\"","l":[1,"x",null,true]}`)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	got := d.Value(d.Root())
	want := map[string]any{
		"h":  map[string]any{"Set-Cookie": []any{"a=1", "b=2"}},
		"id": "18446744073709551615",
		"n":  -1500.0,
		"s":  "café 😀 \"q\"",
		"l":  []any{int64(1), "x", nil, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"a":`, `{"a":1,}`, `[1 2]`, `{"a":"\x"}`, `{} x`, `{"a":tru}`, strings.Repeat("[", 300) + strings.Repeat("]", 300)} {
		if _, err := parse.ParseJSON(bad); err == nil {
			t.Errorf("ParseJSON(%q) accepted", bad)
		}
	}
	if _, err := parse.ParseJSON(`{"a":"b`); !errors.Is(err, parse.ErrJSONTruncated) {
		t.Errorf("truncated string: %v", err)
	}
}

func TestSyslogYearRollover(t *testing.T) {
	cfg := testConfig() // now = 2026-11-21
	n, _ := parse.New("syslog", cfg)
	for line, want := range map[string]string{
		"<13>Dec 31 23:59:59 h app: late": "2025-12-31T23:59:59Z",
		"<13>Nov 21 11:00:00 h app: now":  "2026-11-21T11:00:00Z",
		"<13>Mar  4 01:02:03 h app: pad":  "2026-03-04T01:02:03Z",
	} {
		ev := n.Parse([]byte(line))
		if got, _ := ev.Get("@timestamp"); got != want {
			t.Errorf("%s: @timestamp %v, want %s", line, got, want)
		}
	}
}

func TestEventJSONValidForAllGoldens(t *testing.T) {
	// Every golden input, every format forced: never a panic, always valid
	// JSON, the original always kept.
	inputs := goldenInputs(t)
	for _, format := range parse.Names() {
		n, err := parse.New(format, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range inputs {
			sc := parse.NewScanner(strings.NewReader(in), n)
			for sc.Scan() {
				b, _ := sc.Event().MarshalJSON()
				if !json.Valid(b) {
					t.Fatalf("%s: invalid JSON %s", format, b)
				}
				if sc.Event().Original == "" {
					t.Fatalf("%s: lost original of %q", format, in)
				}
			}
		}
	}
}

func goldenInputs(t testing.TB) []string {
	t.Helper()
	files, _ := filepathGlob("testdata/golden/*/*.txt")
	var out []string
	for _, f := range files {
		b, err := readFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		i, j := strings.Index(s, "-- input --\n"), strings.Index(s, "-- want --\n")
		if i >= 0 && j > i {
			out = append(out, s[i+len("-- input --\n"):j])
		}
	}
	return out
}

var _ = bytes.MinRead

// hostileLines returns, per format, a line of about size bytes made of
// distinct keys.
func hostileLines(size int) map[string]string {
	var kv, js strings.Builder
	kv.WriteString("logid=1 devname=fw devid=FG1 type=traffic IN=eth0 OUT= SRC=192.0.2.1 ")
	js.WriteString(`{"winlog":{"event_id":1,"event_data":{`)
	for i := 0; kv.Len() < size; i++ {
		key := "k" + strconv.Itoa(i)
		kv.WriteString(key + "=v ")
		if i > 0 {
			js.WriteByte(',')
		}
		js.WriteString(`"` + key + `":"v"`)
	}
	js.WriteString("}}}")
	return map[string]string{
		"netfilter": kv.String(), "fortigate": kv.String(), "cef": "CEF:0|a|b|1|2|n|5|" + kv.String(),
		"json": js.String(), "winlog": js.String(),
	}
}

// TestHostileManyKeysIsLinear: a megabyte of distinct keys must not make a
// parser quadratic. Rather than a time limit, which a loaded machine
// breaks, it compares a line four times longer: linear work takes about
// four times as long, quadratic work sixteen. Each size takes its fastest
// of three runs.
func TestHostileManyKeysIsLinear(t *testing.T) {
	full := parse.DefaultMaxRecordBytes - 64
	small, large := hostileLines(full/4), hostileLines(full)
	fastest := func(n *parse.Normalizer, line string) (time.Duration, *event.Event) {
		best := time.Duration(math.MaxInt64)
		var ev *event.Event
		for range 3 {
			start := time.Now()
			ev = n.Parse([]byte(line))
			best = min(best, time.Since(start))
		}
		return best, ev
	}
	for format, line := range large {
		t.Run(format, func(t *testing.T) {
			n, _ := parse.New(format, testConfig())
			dSmall, _ := fastest(n, small[format])
			dLarge, ev := fastest(n, line)
			ratio := float64(dLarge) / float64(max(dSmall, time.Microsecond))
			t.Logf("%s: %v for 1/4 MB, %v for 1 MB (%.1fx)", format, dSmall, dLarge, ratio)
			if ratio > 10 {
				t.Errorf("%s: a line 4x longer took %.1fx as long (%v against %v): not linear", format, ratio, dLarge, dSmall)
			}
			if v, _ := ev.Get("mcpsoc.fields_dropped"); v == nil && !ev.IsPipelineError() {
				t.Errorf("%s: expected dropped fields to be counted", format)
			}
		})
	}
}
