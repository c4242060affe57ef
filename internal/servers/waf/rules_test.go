package waf

import (
	"strings"
	"testing"
)

const fixtureRules = `# a comment
SecRule TX:EXECUTING_PARANOIA_LEVEL "@lt 1" "id:900011,phase:1,pass,nolog,skipAfter:END"
SecRule ARGS "@rx (?i)a\"b" \
    "id:900100,\
    phase:request,\
    block,\
    t:none,t:lowercase,\
    msg:'It''s a test, with commas',\
    tag:'attack-test',\
    severity:'WARNING',\
    chain"
    SecRule MATCHED_VARS "@rx c" \
        "setvar:'tx.anomaly_score_pl1=+%{tx.warning_anomaly_score}'"

SecRule TX:EXECUTING_PARANOIA_LEVEL "@lt 2" "id:900013,phase:2,pass,nolog,skipAfter:END"
SecAction "id:900200,phase:5,pass,nolog,msg:'after the gate'"
SecMarker "END"
`

func TestParseRules(t *testing.T) {
	rs, err := ParseRules(strings.NewReader(fixtureRules), "f.conf")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 {
		t.Fatalf("%d rules: %+v", len(rs), rs)
	}
	r := rs[1]
	if r.ID != "900100" || r.Line != 3 || r.Phase != "2" || r.Msg != "It''s a test, with commas" || r.Severity != "WARNING" ||
		r.Disruptive != "block" || r.Chain != 1 || r.ParanoiaLevel != 1 || r.Operator != `@rx (?i)a"b` ||
		r.AnomalyPoints != "tx.anomaly_score_pl1=+%{tx.warning_anomaly_score}" || len(r.Transforms) != 1 || r.Transforms[0] != "lowercase" {
		t.Errorf("chained rule: %+v", r)
	}
	if rs[3].ID != "900200" || rs[3].Directive != "SecAction" || rs[3].Phase != "5" || rs[3].ParanoiaLevel != 2 || rs[3].Line != 16 {
		t.Errorf("gated action: %+v", rs[3])
	}
	for _, bad := range []string{"SecRule ARGS \"@rx x\" \"id:1,msg:'open\"\n", "SecRule ARGS \"@rx x\n", "SecRule ARGS\n"} {
		if _, err := ParseRules(strings.NewReader(bad), "bad.conf"); err == nil || !strings.Contains(err.Error(), "bad.conf:1") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzParseRules(f *testing.F) {
	f.Add(fixtureRules)
	f.Add("SecRule A \"b\" \"id:1,msg:'x\\'y',chain\"\nSecRule B \"c\" \"t:none\"\n")
	f.Add("SecAction \\\n")
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseRules(strings.NewReader(s), "fuzz.conf")
		if err == nil {
			for _, r := range rs {
				if r.Tags == nil || r.Transforms == nil {
					t.Fatal("nil lists")
				}
			}
		}
	})
}
