package config

import (
	"net/http/httptest"
	"testing"
)

func TestKeySet(t *testing.T) {
	k := NewKeySet([]Secret{NewSecret("first-key-0123456789")}, []Secret{NewSecret("second-key-0123456789")})
	for _, tc := range []struct {
		header, value string
		want          bool
	}{
		{"Authorization", "Bearer first-key-0123456789", true},
		{"X-API-Key", "second-key-0123456789", true},
		{"Authorization", "Bearer wrong-key-0123456789", false},
		{"Authorization", "Basic first-key-0123456789", false},
		{"", "", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		if got := k.Allows(r); got != tc.want {
			t.Errorf("%s: %q: %v, want %v", tc.header, tc.value, got, tc.want)
		}
	}
	if (KeySet{}).Allows(httptest.NewRequest("GET", "/", nil)) || k.Len() != 2 {
		t.Error("empty set or Len wrong")
	}
}
