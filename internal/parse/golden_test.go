package parse_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcpsoc/mcpsoc/internal/parse"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/builtin"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/golden files")

// testConfig pins the clock so RFC 3164 years and ingest times are stable.
func testConfig() *parse.Config {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	return &parse.Config{
		Now:      func() time.Time { return now },
		SourceID: "test",
		NetfilterActions: map[string]string{
			"CUSTOM-TRAP": "trap",
		},
	}
}

// goldenCase is one testdata/golden/<format>/<name>.txt file: optional
// "# key: value" header lines, then "-- input --" and "-- want --"
// sections. The directory names the format; "# auto: no" skips the check
// that auto detection yields the same events.
type goldenCase struct {
	header map[string]string
	input  string
	want   string
}

func readCase(t testing.TB, path string) goldenCase {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	in := strings.Index(s, "-- input --\n")
	wt := strings.Index(s, "-- want --\n")
	if in < 0 || wt < in {
		t.Fatalf("%s: want '-- input --' then '-- want --' sections", path)
	}
	c := goldenCase{header: map[string]string{}}
	for _, line := range strings.Split(s[:in], "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), ": "); ok && strings.HasPrefix(line, "# ") {
			c.header[k] = v
		}
	}
	c.input = s[in+len("-- input --\n") : wt]
	c.want = s[wt+len("-- want --\n"):]
	return c
}

// render runs input through a Scanner and returns indented JSON events.
func render(t *testing.T, format, input string, cfg *parse.Config) string {
	t.Helper()
	n, err := parse.New(format, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sc := parse.NewScanner(strings.NewReader(input), n)
	var out bytes.Buffer
	for sc.Scan() {
		b, err := sc.Event().MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var ind bytes.Buffer
		if err := json.Indent(&ind, b, "", "  "); err != nil {
			t.Fatalf("invalid JSON %s: %v", b, err)
		}
		out.Write(ind.Bytes())
		out.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, path := range files {
		format := filepath.Base(filepath.Dir(path))
		name := format + "/" + strings.TrimSuffix(filepath.Base(path), ".txt")
		t.Run(name, func(t *testing.T) {
			c := readCase(t, path)
			if f := c.header["format"]; f != "" {
				format = f
			}
			got := render(t, format, c.input, testConfig())
			if *update {
				b, _ := os.ReadFile(path)
				s := string(b)
				s = s[:strings.Index(s, "-- want --\n")+len("-- want --\n")] + got
				if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
			if c.header["auto"] != "no" && format != parse.FormatAuto {
				if diff := cmp.Diff(got, render(t, parse.FormatAuto, c.input, testConfig())); diff != "" {
					t.Errorf("auto detection differs from format %s (-%s +auto):\n%s", format, format, diff)
				}
			}
		})
	}
}
