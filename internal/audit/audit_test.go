package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeLog creates a log of n call records and returns its path and lines.
func writeLog(t *testing.T, n int) (string, [][]byte) {
	return writeLogAs(t, n, "alice")
}

func writeLogAs(t *testing.T, n int, subject string) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	clock := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	w, err := Open(path, &Options{Sync: SyncNever, Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		ev := Event{Kind: "gateway.call", Subject: subject, Upstream: "everything", Tool: "echo",
			Args: json.RawMessage(`{"message":"hi <there>"}`), Decision: "allow", LatencyMicros: int64(i)}
		if _, err := w.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	return path, lines[:len(lines)-1]
}

func verifyBytes(data []byte, opts *VerifyOptions) (Head, error) {
	return Verify(bytes.NewReader(data), opts)
}

func TestIntactChain(t *testing.T) {
	path, _ := writeLog(t, 5)
	f, _ := os.Open(path)
	defer f.Close()
	head, err := Verify(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if head.Seq != 5 || len(head.Hash) != 64 {
		t.Fatalf("head %+v", head)
	}
	// An empty log is intact and has the genesis head.
	head, err = verifyBytes(nil, nil)
	if err != nil || head.Seq != 0 || head.Hash != GenesisPrev {
		t.Fatalf("empty: %+v %v", head, err)
	}
}

func TestTamper(t *testing.T) {
	_, lines := writeLog(t, 5)
	join := func(ls ...[]byte) []byte { return bytes.Join(ls, nil) }
	replace := func(i int, old, new string) []byte {
		cp := make([][]byte, len(lines))
		copy(cp, lines)
		cp[i] = []byte(strings.Replace(string(lines[i]), old, new, 1))
		if bytes.Equal(cp[i], lines[i]) {
			t.Fatalf("replacement %q not found in line %d", old, i)
		}
		return join(cp...)
	}
	// A record from another chain, valid on its own.
	_, other := writeLogAs(t, 3, "bob")

	cases := []struct {
		name     string
		data     []byte
		line     int
		seq      uint64
		reason   string
		expected *Head
	}{
		{"edit a field", replace(2, `"alice"`, `"mallory"`), 3, 3, "hash mismatch", nil},
		{"edit a field and its hash", func() []byte {
			var r Record
			json.Unmarshal(bytes.TrimSpace(lines[2]), &r)
			r.Subject = "mallory"
			r.Hash, _ = computeHash(&r)
			l, _ := encode(&r)
			return join(lines[0], lines[1], l, lines[3], lines[4])
		}(), 4, 4, "prev hash does not match", nil},
		{"whitespace edit", replace(1, `"seq":2,`, `"seq": 2,`), 2, 0, "not in canonical form", nil},
		{"unknown field", replace(1, `{"seq"`, `{"x":1,"seq"`), 2, 0, "unknown field", nil},
		{"duplicate key", replace(1, `"kind":"gateway.call"`, `"kind":"x","kind":"gateway.call"`), 2, 0, "not in canonical form", nil},
		{"delete a middle record", join(lines[0], lines[1], lines[3], lines[4]), 3, 4, "sequence jumps from 2 to 4", nil},
		{"delete the first record", join(lines[1], lines[2], lines[3], lines[4]), 1, 2, "sequence jumps from 0 to 2", nil},
		{"insert a foreign record", join(lines[0], lines[1], other[2], lines[2], lines[3], lines[4]), 3, 3, "prev hash does not match", nil},
		{"duplicate a record", join(lines[0], lines[1], lines[1], lines[2], lines[3], lines[4]), 3, 2, "sequence goes back from 2 to 2", nil},
		{"swap two records", join(lines[0], lines[2], lines[1], lines[3], lines[4]), 2, 3, "sequence jumps from 1 to 3", nil},
		{"renumbered swap", func() []byte {
			// Swap records 2 and 3 and rehash both with fixed seqs: the
			// prev links still break.
			var a, b Record
			json.Unmarshal(bytes.TrimSpace(lines[1]), &a)
			json.Unmarshal(bytes.TrimSpace(lines[2]), &b)
			a.Seq, b.Seq = 3, 2
			a.Hash, _ = computeHash(&a)
			b.Hash, _ = computeHash(&b)
			la, _ := encode(&a)
			lb, _ := encode(&b)
			return join(lines[0], lb, la, lines[3], lines[4])
		}(), 2, 2, "prev hash does not match", nil},
		{"truncated line", join(lines[0], lines[1], lines[2][:20]), 3, 0, "not newline-terminated", nil},
		{"garbage line", join(lines[0], []byte("hello\n"), lines[1]), 2, 0, "malformed record", nil},
		{"blank line", join(lines[0], []byte("\n"), lines[1]), 2, 0, "malformed record", nil},
		{"tail cut, head anchored", join(lines[0], lines[1], lines[2]), 3, 3, "expected seq 5", &Head{Seq: 5, Hash: "x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts *VerifyOptions
			if tc.expected != nil {
				opts = &VerifyOptions{ExpectHead: tc.expected}
			}
			_, err := verifyBytes(tc.data, opts)
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a ChainError", err)
			}
			if ce.Line != tc.line || ce.Seq != tc.seq || !strings.Contains(ce.Reason, tc.reason) {
				t.Errorf("got line %d seq %d %q; want line %d seq %d containing %q", ce.Line, ce.Seq, ce.Reason, tc.line, tc.seq, tc.reason)
			}
		})
	}
}

func TestExpectHeadMatches(t *testing.T) {
	path, _ := writeLog(t, 3)
	data, _ := os.ReadFile(path)
	head, err := verifyBytes(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifyBytes(data, &VerifyOptions{ExpectHead: &head}); err != nil {
		t.Fatal(err)
	}
}

func TestReopenContinuesChain(t *testing.T) {
	path, _ := writeLog(t, 3)
	w, err := Open(path, &Options{Sync: SyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := w.Append(Event{Kind: "gateway.call"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Seq != 4 {
		t.Fatalf("seq %d, want 4", rec.Seq)
	}
	if w.Err() != nil {
		t.Fatal(w.Err())
	}
	w.Close()
	if !errors.Is(w.Err(), ErrClosed) {
		t.Fatal("Err after Close")
	}
	if _, err := w.Append(Event{Kind: "x"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	data, _ := os.ReadFile(path)
	if head, err := verifyBytes(data, nil); err != nil || head.Seq != 4 {
		t.Fatalf("%+v %v", head, err)
	}
}

func TestOpenRecoversTornTail(t *testing.T) {
	path, lines := writeLog(t, 3)
	torn := lines[2][:30]
	os.WriteFile(path, bytes.Join([][]byte{lines[0], lines[1], torn}, nil), 0o600)
	w, err := Open(path, &Options{Sync: SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	if h := w.Head(); h.Seq != 3 {
		t.Fatalf("head after recovery %+v, want seq 3 (2 kept + recovery record)", h)
	}
	w.Close()
	data, _ := os.ReadFile(path)
	if _, err := verifyBytes(data, nil); err != nil {
		t.Fatal(err)
	}
	last := bytes.Split(bytes.TrimSpace(data), []byte("\n"))[2]
	rec, err := ParseRecord(last)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Bytes int    `json:"dropped_bytes"`
		Hash  string `json:"dropped_hash"`
	}
	json.Unmarshal(rec.Detail, &d)
	if rec.Kind != "audit.recovered" || d.Bytes != 30 || d.Hash != HashBytes(torn) {
		t.Fatalf("recovery record %s", last)
	}
}

func TestOpenRefusesBrokenChain(t *testing.T) {
	path, lines := writeLog(t, 3)
	os.WriteFile(path, bytes.Join([][]byte{lines[0], lines[2]}, nil), 0o600)
	_, err := Open(path, nil)
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Line != 2 {
		t.Fatalf("got %v", err)
	}
	data, _ := os.ReadFile(path)
	if len(bytes.Split(bytes.TrimSpace(data), []byte("\n"))) != 2 {
		t.Fatal("broken log was modified")
	}
}

func TestConcurrentAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	w, err := Open(path, &Options{Sync: SyncInterval, Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if _, err := w.Append(Event{Kind: "gateway.call", Tool: "t"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	head, err := verifyBytes(data, nil)
	if err != nil || head.Seq != 800 {
		t.Fatalf("%+v %v", head, err)
	}
}

func TestParseSyncPolicy(t *testing.T) {
	for in, want := range map[string]SyncPolicy{"": SyncInterval, "interval": SyncInterval, "always": SyncAlways, "never": SyncNever} {
		if got, err := ParseSyncPolicy(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseSyncPolicy("sometimes"); err == nil {
		t.Error("accepted an unknown policy")
	}
}

func BenchmarkAppend(b *testing.B) {
	w, err := Open(filepath.Join(b.TempDir(), "a.jsonl"), &Options{Sync: SyncInterval})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ev := Event{Kind: "gateway.call", Subject: "alice", Upstream: "everything", Tool: "echo",
		Args: json.RawMessage(`{"message":"hello"}`), Decision: "allow", LatencyMicros: 42}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Append(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGroupCommitConcurrent appends from many goroutines: the chain
// verifies, nothing is lost, and every Append has returned only after its
// own record reached the file.
func TestGroupCommitConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	w, err := Open(path, &Options{Sync: SyncInterval})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 16, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < each; j++ {
				rec, err := w.Append(Event{Kind: "test", Subject: fmt.Sprint(i), Reason: fmt.Sprint(j)})
				if err != nil {
					errs <- err
					return
				}
				if j%25 == 0 {
					data, _ := os.ReadFile(path)
					if !strings.Contains(string(data), rec.Hash) {
						errs <- fmt.Errorf("record %d returned before it was written", rec.Seq)
						return
					}
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	head := w.Head()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	got, err := Verify(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != workers*each || got != head {
		t.Fatalf("verified head %+v, writer head %+v", got, head)
	}
}

// TestHashAndEncodeCanonical: the one-encoding fast form is byte for byte
// the canonical line, with the hash Verify computes.
func TestHashAndEncodeCanonical(t *testing.T) {
	r := &Record{Seq: 7, Time: time.Unix(1700000000, 123).UTC(), Prev: "abc",
		Event: Event{Kind: "gateway.call", Subject: "a\"lice", Reason: "<&>", Detail: json.RawMessage(`{"x":1}`)}}
	line, err := hashAndEncode(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := computeHash(r)
	if r.Hash != want {
		t.Fatalf("hash %s, want %s", r.Hash, want)
	}
	canon, _ := encode(r)
	if !bytes.Equal(line, canon) {
		t.Fatalf("line %s\nwant %s", line, canon)
	}
}
