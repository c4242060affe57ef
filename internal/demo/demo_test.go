package demo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/demo"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/builtin"
)

// TestScenarioParses: every generated line parses with its source's parser
// into an event (no pipeline errors), timed within the last hour or so.
func TestScenarioParses(t *testing.T) {
	now := time.Now().UTC()
	srcs := demo.Generate(now, 1)
	kinds := map[string]int{}
	for _, s := range srcs {
		n, err := parse.New(s.Format, nil)
		if err != nil {
			t.Fatal(err)
		}
		sc := parse.NewScanner(strings.NewReader(s.String()), n)
		count := 0
		for sc.Scan() {
			ev := sc.Event()
			count++
			if ev.IsPipelineError() {
				msg, _ := ev.Get("error.message")
				t.Errorf("%s: pipeline error %v for %q", s.Name, msg, ev.Original)
				continue
			}
			if d := now.Sub(ev.Timestamp); d < -time.Minute || d > 2*time.Hour {
				t.Errorf("%s: timestamp %v is %v from now", s.Name, ev.Timestamp, d)
			}
			kinds[s.Name+"/"+ev.Dataset]++
		}
		if count != len(s.Lines) {
			t.Errorf("%s: %d events from %d lines", s.Name, count, len(s.Lines))
		}
	}
	if kinds["waf/modsecurity.audit"] != 40 || kinds["bastion/syslog.log"] == 0 || kinds["av/clamav.clamd"] != 2 {
		t.Errorf("datasets: %v", kinds)
	}
}
