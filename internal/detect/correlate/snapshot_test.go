package correlate

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSnapshotRestore: a window interrupted by a restart completes in the
// new engine, for each kind of correlation.
func TestSnapshotRestore(t *testing.T) {
	valueCount := `title: Port scan
name: scan
correlation:
  type: value_count
  rules: [fw_block]
  group-by: [source.ip]
  timespan: 1m
  condition: {gte: 3, field: destination.port}
level: high
`
	temporal := `title: Login after recon
name: recon_login
correlation:
  type: temporal
  rules: [fw_block, other]
  group-by: [source.ip]
  timespan: 1m
level: high
`
	cases := []struct {
		name, rule   string
		before, then []Hit
		want         []string
	}{
		{"event_count", eventCountRule,
			[]Hit{hit("fw_block", 0, "source.ip", "a"), hit("fw_block", 10, "source.ip", "a")},
			[]Hit{hit("fw_block", 20, "source.ip", "a")}, []string{"Many blocks@0"}},
		{"value_count", valueCount,
			[]Hit{hit("fw_block", 0, "source.ip", "a", "destination.port", "22"), hit("fw_block", 1, "source.ip", "a", "destination.port", "23")},
			[]Hit{hit("fw_block", 2, "source.ip", "a", "destination.port", "80")}, []string{"Port scan@0"}},
		{"temporal", temporal,
			[]Hit{hit("fw_block", 0, "source.ip", "a")},
			[]Hit{hit("other", 5, "source.ip", "a")}, []string{"Login after recon@0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			names := []string{"fw_block", "other"}
			before := mustEngine(t, tc.rule, names, nil)
			if got := fired(before, tc.before...); got != nil {
				t.Fatalf("fired before the restart: %v", got)
			}
			data, err := json.Marshal(before.Snapshot())
			if err != nil {
				t.Fatal(err)
			}
			var snap Snapshot
			if err := json.Unmarshal(data, &snap); err != nil {
				t.Fatal(err)
			}
			after := mustEngine(t, tc.rule, names, nil)
			if n := after.Restore(snap); n != 1 {
				t.Fatalf("restored %d groups, want 1 (%s)", n, data)
			}
			if diff := cmp.Diff(tc.want, fired(after, tc.then...)); diff != "" {
				t.Errorf("after restore (-want +got):\n%s", diff)
			}
			fresh := mustEngine(t, tc.rule, names, nil)
			if got := fired(fresh, tc.then...); got != nil {
				t.Errorf("a fresh engine fired on the last hit alone: %v", got)
			}
		})
	}
}

// TestRestoreSkipsUnknownAndMisfit: state of a removed correlation, or of
// one whose shape changed, is not loaded.
func TestRestoreSkipsUnknownAndMisfit(t *testing.T) {
	e := mustEngine(t, eventCountRule, []string{"fw_block"}, nil)
	snap := Snapshot{Version: snapshotVersion, Correlations: map[string][]GroupState{
		"gone":        {{Key: "x"}},
		"many_blocks": {{Key: "a", Times: nil}},
	}}
	if n := e.Restore(snap); n != 1 {
		t.Errorf("restored %d, want only the known correlation's group", n)
	}
	if n := e.Restore(Snapshot{Version: 99}); n != 0 {
		t.Errorf("restored %d groups from an unknown format version", n)
	}
}
