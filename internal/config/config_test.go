package config

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBadFiles loads every testdata/*.bad.yaml and checks that the error
// matches the "# want:" header of the file.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := wantHeader(t, f)
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(filepath.Base(f), data, func(string) (string, bool) { return "", false })
			if err == nil {
				t.Fatalf("Parse succeeded, want error %q", want)
			}
			if got := err.Error(); !strings.Contains(got, want) {
				t.Errorf("error mismatch\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func wantHeader(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if sc.Scan() {
		if w, ok := strings.CutPrefix(sc.Text(), "# want: "); ok {
			return w
		}
	}
	t.Fatalf("%s: first line must be '# want: <error>'", path)
	return ""
}

func TestFullFile(t *testing.T) {
	env := map[string]string{"MCPSOC_TEST_KEY": "k-0123456789abcdef", "MCPSOC_TEST_CONC": "4"}
	t.Setenv("MCPSOC_TEST_KEY", env["MCPSOC_TEST_KEY"])
	t.Setenv("MCPSOC_TEST_CONC", env["MCPSOC_TEST_CONC"])
	c, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata")
	if got, want := c.DataDir, filepath.Join(abs, "state"); got != want {
		t.Errorf("DataDir = %q, want %q (relative to the file)", got, want)
	}
	if got := c.API.APIKeys[0].Value(); got != env["MCPSOC_TEST_KEY"] {
		t.Errorf("api key = %q", got)
	}
	s0, s1 := c.MCP.Servers[0], c.MCP.Servers[1]
	if s0.MaxConcurrency != 4 {
		t.Errorf("expanded int: MaxConcurrency = %d, want 4", s0.MaxConcurrency)
	}
	if s0.Env["API_TOKEN"].Value() != "fallback-token" {
		t.Errorf("default expansion = %q", s0.Env["API_TOKEN"].Value())
	}
	if s0.CallTimeout != DefaultCallTimeout || s1.CallTimeout != 5*time.Second {
		t.Errorf("timeouts = %v, %v", s0.CallTimeout, s1.CallTimeout)
	}
	if got := s1.Headers["X-Api-Key"].Value(); got != "literal-${NOT_EXPANDED}" {
		t.Errorf("escaped reference = %q", got)
	}
	if s1.Transport() != "http" || s0.Transport() != "stdio" {
		t.Errorf("transports = %s, %s", s0.Transport(), s1.Transport())
	}
}

func TestNoFileMeansDefaults(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Default(), c, cmp.AllowUnexported(Secret{})); diff != "" {
		t.Errorf("defaults differ (-want +got):\n%s", diff)
	}
	if !IsLoopbackHost(strings.Split(c.API.Listen, ":")[0]) {
		t.Errorf("default listen %q is not loopback", c.API.Listen)
	}
	for _, empty := range []string{"", "# only a comment\n", "---\n"} {
		if _, err := Parse("empty.yaml", []byte(empty), os.LookupEnv); err != nil {
			t.Errorf("Parse(%q) = %v, want defaults", empty, err)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const value = "sk-live-very-secret-value"
	s := NewSecret(value)
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "secret", s)
	js, _ := json.Marshal(struct{ S Secret }{s})
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", s),
		"%s":   fmt.Sprintf("%s", s),
		"%+v":  fmt.Sprintf("%+v", struct{ S Secret }{s}),
		"%#v":  fmt.Sprintf("%#v", s),
		"json": string(js),
		"slog": logged.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, value) {
			t.Errorf("%s leaked the secret: %s", name, out)
		}
		if !strings.Contains(out, "redacted") {
			t.Errorf("%s = %q, want the redaction marker", name, out)
		}
	}
	if s.Value() != value {
		t.Errorf("Value() = %q", s.Value())
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.Log.Level = "chatty"
	c.MCP.Servers = []MCPServer{{Name: "bad name", URL: "ftp://x"}, {Name: "ok", Command: "x", URL: "http://y"}}
	err := c.Validate()
	var es Errors
	if err == nil || !asErrors(err, &es) {
		t.Fatalf("Validate = %v", err)
	}
	var paths []string
	for _, e := range es {
		paths = append(paths, e.Path)
	}
	want := []string{"log.level", "mcp.servers[0].name", "mcp.servers[0].url", "mcp.servers[1]"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("paths (-want +got):\n%s", diff)
	}
}

func asErrors(err error, es *Errors) bool {
	v, ok := err.(Errors)
	*es = v
	return ok
}
