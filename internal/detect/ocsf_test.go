package detect

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOCSF(t *testing.T) {
	e := newTestEngine(t, &Options{DedupWindow: -1})
	var c Alert
	for i := 0; i < 3; i++ {
		for _, a := range e.Process(fwEvent(i*10, "203.0.113.7", 22)) {
			if a.Kind == KindCorrelation {
				c = a
			}
		}
	}
	b, err := json.Marshal(c.OCSF())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(b, &got)
	fi := got["finding_info"].(map[string]any)
	checks := map[string]any{
		"class_uid": 2004.0, "category_uid": 2.0, "type_uid": 200401.0, "severity_id": 4.0, "status_id": 1.0, "is_alert": true,
		"time": float64(t0.Add(20 * time.Second).UnixMilli()), "message": "SSH brute force",
	}
	for k, want := range checks {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if fi["uid"] != c.ID || fi["first_seen_time"] != float64(t0.UnixMilli()) || len(fi["related_events"].([]any)) != 3 {
		t.Errorf("finding_info %v", fi)
	}
	wantAttacks := []any{map[string]any{"tactic": map[string]any{"uid": "TA0006", "name": "Credential Access"}, "technique": map[string]any{"uid": "T1110"}}}
	if d := cmp.Diff(wantAttacks, fi["attacks"]); d != "" {
		t.Errorf("attacks (-want +got):\n%s", d)
	}
	obs := got["observables"].([]any)[0].(map[string]any)
	if obs["type_id"] != 2.0 || obs["value"] != "203.0.113.7" || obs["name"] != "source.ip" {
		t.Errorf("observable %v", obs)
	}
	if got["metadata"].(map[string]any)["version"] != "1.8.0" {
		t.Errorf("metadata %v", got["metadata"])
	}
}
