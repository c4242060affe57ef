package av

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mcpsoc/mcpsoc/internal/audit"
)

func TestQuarantineRoundTrip(t *testing.T) {
	f := newFixture(t, nil)
	cs := f.cs
	victim := filepath.Join(f.root, "dl", "invoice.doc")
	os.MkdirAll(filepath.Dir(victim), 0o755)
	content := append([]byte("PK fake doc "), eicar...)
	if err := os.WriteFile(victim, content, 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(victim, 0o640)
	sum := sha256.Sum256(content)

	// Dry run: reports the detection, moves nothing.
	var q QuarantineResult
	mustOK(t, cs, "quarantine_file", map[string]any{"path": victim, "dry_run": true}, &q)
	if !q.DryRun || q.Signature != eicarSig || q.Entry != nil {
		t.Errorf("dry run: %+v", q)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatal("dry run moved the file")
	}

	mustOK(t, cs, "quarantine_file", map[string]any{"path": victim, "reason": "ticket 42"}, &q)
	e := q.Entry
	if e == nil || e.OriginalPath != victim || e.Signature != eicarSig || e.Size != int64(len(content)) ||
		e.SHA256 != hex.EncodeToString(sum[:]) || e.Mode != "0640" || e.UID != os.Getuid() || e.Reason != "ticket 42" || e.QuarantinedAt.IsZero() {
		t.Fatalf("entry %+v", e)
	}
	if _, err := os.Lstat(victim); !os.IsNotExist(err) {
		t.Fatalf("original still there: %v", err)
	}
	bin := filepath.Join(f.qdir, e.ID+".bin")
	fi, err := os.Stat(bin)
	if err != nil || fi.Mode().Perm() != 0o400 {
		t.Fatalf("quarantined content: %v %v", fi, err)
	}
	if got, _ := os.ReadFile(bin); !bytes.Equal(got, content) {
		t.Fatal("quarantined content differs")
	}
	if meta, err := os.ReadFile(filepath.Join(f.qdir, e.ID+".json")); err != nil || !strings.Contains(string(meta), `"original_path": "`+victim+`"`) {
		t.Fatalf("metadata %s %v", meta, err)
	}
	if di, _ := os.Stat(f.qdir); di.Mode().Perm() != 0o700 {
		t.Errorf("quarantine dir mode %v", di.Mode().Perm())
	}

	var l ListQuarantine
	mustOK(t, cs, "list_quarantine", nil, &l)
	if l.Total != 1 || l.Entries[0].ID != e.ID || l.QuarantineDir == "" {
		t.Fatalf("list %+v", l)
	}

	// Restore refuses to overwrite a file that took the place.
	write(t, victim, "new file")
	var r RestoreResult
	mustFail(t, cs, "restore_file", map[string]any{"id": e.ID}, "refusing to overwrite")
	mustFail(t, cs, "restore_file", map[string]any{"id": e.ID, "dry_run": true}, "refusing to overwrite")
	if got, _ := os.ReadFile(victim); string(got) != "new file" {
		t.Fatal("restore overwrote the new file")
	}
	os.Remove(victim)
	mustOK(t, cs, "restore_file", map[string]any{"id": e.ID, "dry_run": true}, &r)
	if !r.DryRun || r.RestoredTo != victim {
		t.Errorf("dry restore %+v", r)
	}
	if _, err := os.Stat(victim); !os.IsNotExist(err) {
		t.Fatal("dry run restored")
	}
	mustOK(t, cs, "restore_file", map[string]any{"id": e.ID}, &r)
	if r.RestoredTo != victim || !r.OwnerRestored {
		t.Errorf("restore %+v", r)
	}
	got, err := os.ReadFile(victim)
	fi, _ = os.Stat(victim)
	if err != nil || !bytes.Equal(got, content) || fi.Mode().Perm() != 0o640 {
		t.Fatalf("restored file: mode %v, %v", fi.Mode(), err)
	}
	mustOK(t, cs, "list_quarantine", nil, &l)
	if l.Total != 0 || len(l.Entries) != 0 {
		t.Errorf("entry left after restore: %+v", l)
	}
	mustFail(t, cs, "restore_file", map[string]any{"id": e.ID}, "no quarantine entry")

	// Clean files are refused unless forced with a reason.
	clean := filepath.Join(f.root, "notes.txt")
	write(t, clean, "meeting notes")
	mustFail(t, cs, "quarantine_file", map[string]any{"path": clean}, "clean", "force")
	mustFail(t, cs, "quarantine_file", map[string]any{"path": clean, "force": true}, "force needs a reason")
	mustOK(t, cs, "quarantine_file", map[string]any{"path": clean, "force": true, "reason": "analyst decision"}, &q)
	if q.Entry == nil || q.Entry.Signature != "" {
		t.Errorf("forced: %+v", q)
	}
	// A symlink to a file is resolved and its target is what moves; a
	// directory is refused.
	mustFail(t, cs, "quarantine_file", map[string]any{"path": filepath.Join(f.root, "dl")}, "not a regular file")

	// Every state change is in the audit log, failures included.
	af, err := os.Open(f.auditPath)
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	if _, err := audit.Verify(af, nil); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	af.Seek(0, 0)
	var kinds []string
	sc := bufio.NewScanner(af)
	for sc.Scan() {
		rec, err := audit.ParseRecord(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if rec.Subject != "client:av-test" || rec.Tool == "" {
			t.Errorf("record %+v", rec)
		}
		kinds = append(kinds, rec.Kind+":"+rec.Decision)
	}
	want := "av.quarantine:allow av.restore:error av.restore:allow av.restore:error av.quarantine:error av.quarantine:error av.quarantine:allow av.quarantine:error"
	if strings.Join(kinds, " ") != want {
		t.Errorf("audit records\n got %s\nwant %s", strings.Join(kinds, " "), want)
	}
}

func TestQuarantineDisabled(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.EnableQuarantine = false })
	victim := filepath.Join(f.root, "eicar.com")
	write(t, victim, string(eicar))
	mustFail(t, f.cs, "quarantine_file", map[string]any{"path": victim}, "quarantine actions are disabled", "--enable-quarantine")
	var q QuarantineResult
	mustOK(t, f.cs, "quarantine_file", map[string]any{"path": victim, "dry_run": true}, &q)
	if q.Signature != eicarSig {
		t.Errorf("dry run while disabled: %+v", q)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatal("disabled quarantine moved the file")
	}
	var l ListQuarantine
	mustOK(t, f.cs, "list_quarantine", nil, &l)
}

// TestClamdStopped: once clamd is gone every backend tool says so, and a
// directory scan fails instead of returning an empty result.
func TestClamdStopped(t *testing.T) {
	f := newFixture(t, nil)
	victim := filepath.Join(f.root, "eicar.com")
	write(t, victim, string(eicar))
	f.env.stop()
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"ping", nil}, {"version", nil}, {"stats", nil},
		{"scan_file", map[string]any{"path": victim}},
		{"scan_directory", map[string]any{"path": f.root}},
		{"scan_directory", map[string]any{"path": testFilesDir}},
		{"scan_bytes", map[string]any{"data_base64": "aGk="}},
		{"quarantine_file", map[string]any{"path": victim}},
	} {
		msg := mustFail(t, f.cs, tc.tool, tc.args, "is not reachable")
		if !strings.Contains(msg, "connection refused") && !strings.Contains(msg, "no socket file") {
			t.Errorf("%s: %q does not say why", tc.tool, msg)
		}
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatal("quarantine without a verdict moved the file")
	}
	// The log is still readable without clamd.
	mustOK(t, f.cs, "recent_detections", nil, nil)
}

func TestRecentDetectionsFormats(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "clamd.log")
	write(t, log, strings.Join([]string{
		"Sat Mar 14 10:10:10 2026 -> +++ Started at Sat Mar 14 10:10:10 2026",
		"Sat Mar 14 10:10:10 2026 -> /srv/upload/invoice.doc: Win.Test.EICAR_HDB-1 FOUND",
		"Sat Mar 14 10:11:00 2026 -> /srv/upload/a: b.zip: Local.Eicar.Body.UNOFFICIAL FOUND",
		"Sat Mar 14 10:12:00 2026 -> ERROR: Can't open file /srv/x",
		"/srv/old/notime.exe: Win.Trojan.Agent-1 FOUND",
		"Sat Mar 14 10:13:00 2026 -> /srv/upload/clean.txt: OK",
		"Sat Mar 14 10:14:00 2026 -> instream(127.0.0.1@40112): PUA.Win.Tool.Foo-1 FOUND",
		"",
	}, "\n"))
	s := newServer(t, Config{LogFile: log}, nil)
	cs := connect(t, s)
	var d Detections
	mustOK(t, cs, "recent_detections", nil, &d)
	if len(d.Detections) != 4 || d.LinesRead != 7 {
		t.Fatalf("%+v", d)
	}
	first := d.Detections[0]
	if first.Target != "instream(127.0.0.1@40112)" || first.Path != "" || first.Signature != "PUA.Win.Tool.Foo-1" {
		t.Errorf("newest %+v", first)
	}
	if d.Detections[2].Path != "/srv/upload/a: b.zip" || d.Detections[2].Signature != "Local.Eicar.Body.UNOFFICIAL" {
		t.Errorf("path with a colon %+v", d.Detections[2])
	}
	if d.Detections[1].Time != nil {
		t.Errorf("line without LogTime got a time: %+v", d.Detections[1])
	}
	mustOK(t, cs, "recent_detections", map[string]any{"path_prefix": "/srv/upload/"}, &d)
	if len(d.Detections) != 2 {
		t.Errorf("path filter: %+v", d.Detections)
	}
	mustOK(t, cs, "recent_detections", map[string]any{"since": "2026-03-14T10:10:30Z"}, &d)
	if len(d.Detections) != 2 {
		t.Errorf("since filter: %+v", d.Detections)
	}
	mustFail(t, cs, "recent_detections", map[string]any{"limit": 5000}, "out of range")
	s2 := newServer(t, Config{LogFile: filepath.Join(dir, "missing.log")}, nil)
	mustFail(t, connect(t, s2), "recent_detections", nil, "opening clamd log", "no such file")
}
