package parse_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/builtin"
)

// TestScannerOffset: every record reports the input offset of its first
// line, across blank lines, CRLF and multi-line records.
func TestScannerOffset(t *testing.T) {
	lines := []string{
		"Nov 21 13:00:01 clamd[7]: /a.exe: Eicar FOUND\r\n",
		"\n",
		"Nov 21 13:00:02 clamd[7]: /b.exe: Eicar FOUND\n",
		"--abc123-A--\n", "[21/Nov/2026:13:00:03 +0000] X 203.0.113.9 1 192.0.2.1 80\n", "--abc123-B--\n", "GET / HTTP/1.1\n", "--abc123-Z--\n",
		"Nov 21 13:00:04 clamd[7]: /c.exe: Eicar FOUND",
	}
	input := strings.Join(lines, "")
	var want []int64
	for i, off := 0, 0; i < len(lines); i++ {
		if i == 0 || i == 2 || i == 3 || i == 8 {
			want = append(want, int64(off))
		}
		off += len(lines[i])
	}
	n, err := parse.New("auto", nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := parse.NewScanner(strings.NewReader(input), n)
	var got []int64
	for sc.Scan() {
		got = append(got, sc.Offset())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("offsets (-want +got):\n%s", diff)
	}
}
