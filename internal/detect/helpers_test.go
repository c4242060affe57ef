package detect

import (
	"net/netip"
	"os"
	"testing"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func writeFile(t *testing.T, name, body string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
