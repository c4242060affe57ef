package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/audit"
)

func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	w, err := audit.Open(path, &audit.Options{Sync: audit.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"echo", "add", "echo"} {
		if _, err := w.Append(audit.Event{Kind: "gateway.call", Subject: "alice", Tool: tool, Decision: "allow"}); err != nil {
			t.Fatal(err)
		}
	}
	head := w.Head()
	w.Close()
	data, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(data, []byte("\n"))[:3]

	ctx := context.Background()
	code, out, errs := run(t, ctx, "audit", "verify", path)
	if code != 0 || !strings.Contains(out, "ok, 3 records, head 3:"+head.Hash) {
		t.Fatalf("intact: code %d out %q err %q", code, out, errs)
	}
	headArg := "3:" + head.Hash
	if code, _, errs := run(t, ctx, "audit", "verify", "--head", headArg, path); code != 0 {
		t.Fatalf("intact with head: code %d err %q", code, errs)
	}

	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	cases := []struct {
		name, file string
		extra      []string
		want       string
	}{
		{"edited", write("edited", bytes.Replace(data, []byte(`"add"`), []byte(`"rm"`), 1)), nil, "line 2 (seq 2): hash mismatch"},
		{"deleted", write("deleted", bytes.Join([][]byte{lines[0], lines[2]}, nil)), nil, "line 2 (seq 3): sequence jumps from 1 to 3"},
		{"reordered", write("reordered", bytes.Join([][]byte{lines[1], lines[0], lines[2]}, nil)), nil, "line 1 (seq 2): sequence jumps from 0 to 2"},
		{"inserted", write("inserted", bytes.Join([][]byte{lines[0], lines[0], lines[1], lines[2]}, nil)), nil, "line 2 (seq 1): sequence goes back"},
		{"cut short", write("cut", bytes.Join([][]byte{lines[0], lines[1]}, nil)), []string{"--head", headArg}, "line 2 (seq 2): head is seq 2 hash"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"audit", "verify"}, tc.extra...)
			code, _, errs := run(t, ctx, append(args, tc.file)...)
			if code != 1 || !strings.Contains(errs, tc.file+": tampered: "+tc.want) {
				t.Errorf("code %d stderr %q, want 1 and %q", code, errs, tc.want)
			}
		})
	}
	if code, _, _ := run(t, ctx, "audit", "verify", filepath.Join(dir, "missing")); code != 2 {
		t.Errorf("missing file: code %d, want 2", code)
	}
	if code, _, _ := run(t, ctx, "audit", "verify", "--head", "nope", path); code != 2 {
		t.Errorf("bad --head: code %d, want 2", code)
	}
}
