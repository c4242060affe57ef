package gateway

import (
	"encoding/json"
	"strings"
	"testing"
)

// checkRedactJSON holds redactJSON, which encodes directly, to what
// json.Marshal makes of redact's output.
func checkRedactJSON(t *testing.T, r *redactor, args string) {
	t.Helper()
	var m map[string]any
	if json.Unmarshal([]byte(args), &m) != nil || len(m) == 0 {
		return
	}
	want, err := json.Marshal(r.redact(m))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.redactJSON(m); string(got) != string(want) {
		t.Fatalf("args %s:\ngot  %s\nwant %s", args, got, want)
	}
}

func TestRedactJSONMatchesMarshal(t *testing.T) {
	r := newRedactor([]string{"ssn"})
	for _, args := range redactSeeds {
		checkRedactJSON(t, r, args)
	}
	long, _ := json.Marshal(map[string]any{"long": strings.Repeat("é", 200), "ascii": strings.Repeat("a", 300)})
	checkRedactJSON(t, r, string(long))
}

var redactSeeds = []string{
	`{"message":"hello","count":3}`,
	`{"user":"alice","Password":"x","api_token":"y","SSN":"123","nested":[{"client_secret":"z","n":1.5}]}`,
	`{"n":[1e21,1e-7,-0.000001,123456789012345678901234,0,-0,1.5e300,5e-324]}`,
	`{"html":"<a href='x'>&</a>","ctl":"\u0000\u001f\t\n","ls":"\u2028\u2029","bad":"\udc00","e":"é"}`,
	`{"k":"key sk-abcdefghijklmnopqrstuv","gh":"ghp_abcdefghijklmnopqrstuvwxyz","aws":"AKIAABCDEFGHIJKLMNOP","pem":"-----BEGIN RSA PRIVATE KEY-----"}`,
	`{"jwt":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlMTIz","notjwt":"xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlMTIz"}`,
	`{"a":{"b":{"c":[null,true,false,{}],"d":[]}},"B":1,"a\u0000":2,"\u00e9":3}`,
}

func FuzzRedactJSON(f *testing.F) {
	for _, s := range redactSeeds {
		f.Add(s)
	}
	r := newRedactor([]string{"ssn", "Custom_Key"})
	f.Fuzz(func(t *testing.T, args string) {
		checkRedactJSON(t, r, args)
	})
}
