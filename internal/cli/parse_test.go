package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCommandAuto(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Execute(context.Background(), []string{"parse", "--format", "auto", "../parse/testdata/samples/mixed.log"}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr.String())
	}
	var parsers []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var ev struct {
			Event  struct{ Kind string }   `json:"event"`
			MCPSoc struct{ Parser string } `json:"mcpsoc"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("invalid NDJSON line %q: %v", line, err)
		}
		parsers = append(parsers, ev.MCPSoc.Parser+"/"+ev.Event.Kind)
	}
	want := []string{
		"filterlog/event", "netfilter/event", "syslog/event", "clamav/alert", "auto/pipeline_error",
		"modsecurity/alert", "modsecurity/event", "suricata/alert", "winlog/event",
	}
	if diff := cmp.Diff(want, parsers); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("parsed 1 files: 55 lines, 9 events, 1 pipeline errors, 0 truncated\n", stderr.String()); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestParseCommandStdinNamedFormat(t *testing.T) {
	in := "Mar 14 10:05:01 host kernel: nft-drop: IN=eth0 OUT= SRC=198.51.100.4 DST=192.0.2.20 LEN=76 PROTO=UDP SPT=123 DPT=123 LEN=56\n" +
		"<134>Mar 14 10:00:02 filterlog[4242]: 5,,,1000000103,em0,match,pass,in,4,0x0,,64,321,0,none,17,udp,76,198.51.100.9,192.0.2.10,5353,5353,56\n"
	var stdout, stderr bytes.Buffer
	code := Execute(context.Background(), []string{"parse", "--format", "netfilter", "-"}, strings.NewReader(in), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d events, want 2:\n%s", len(lines), stdout.String())
	}
	if !strings.Contains(lines[0], `"source":{"ip":"198.51.100.4","port":123}`) {
		t.Errorf("netfilter event lacks its source: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"kind":"pipeline_error"`) || !strings.Contains(lines[1], `"source":"stdin"`) {
		t.Errorf("filterlog line forced through netfilter should be a pipeline error from stdin: %s", lines[1])
	}
	if diff := cmp.Diff("parsed 1 files: 2 lines, 2 events, 1 pipeline errors, 0 truncated\n", stderr.String()); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestParseCommandUnknownFormat(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Execute(context.Background(), []string{"parse", "--format", "nope", "x.log"}, strings.NewReader(""), &stdout, &stderr)
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, name := range []string{`unknown format "nope"`, "auto", "filterlog", "suricata", "winlog"} {
		if !strings.Contains(stderr.String(), name) {
			t.Errorf("stderr %q does not mention %q", stderr.String(), name)
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("unexpected stdout: %s", stdout.String())
	}
}

func TestParseCommandMissingFile(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Execute(context.Background(), []string{"parse", "does/not/exist.log"}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "opening does/not/exist.log") {
		t.Fatalf("exit %d, stderr %q; want 1 and an opening error", code, stderr.String())
	}
}
