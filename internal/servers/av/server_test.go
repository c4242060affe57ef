package av

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"github.com/mcpsoc/mcpsoc/internal/mcpx/mcpxtest"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// connect serves s over in-memory transports and returns a client session.
func connect(t testing.TB, s *Server) *mcp.ClientSession {
	t.Helper()
	return mcpxtest.Connect(t, s.MCP(nil), "av-test")
}

func newServer(t *testing.T, cfg Config, opts *Options) *Server {
	t.Helper()
	s, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// call calls a tool; see mcpxtest.Call.
var call = mcpxtest.Call

func mustOK(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, out any) {
	t.Helper()
	if msg := call(t, cs, name, args, out); msg != "" {
		t.Fatalf("%s(%v): unexpected error %s", name, args, msg)
	}
}

func mustFail(t *testing.T, cs *mcp.ClientSession, name string, args map[string]any, want ...string) string {
	t.Helper()
	msg := call(t, cs, name, args, nil)
	if msg == "" {
		t.Fatalf("%s(%v): succeeded, want an error containing %q", name, args, want)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s(%v): error %q does not contain %q", name, args, msg, w)
		}
	}
	return msg
}

var allTools = map[string]bool{ // name → read-only
	"ping": true, "version": true, "stats": true, "scan_file": true, "scan_directory": true, "scan_bytes": true,
	"list_quarantine": true, "recent_detections": true, "quarantine_file": false, "restore_file": false,
}

// TestNoConfiguration: with nothing configured the server lists every tool
// with its hints, and each tool says which setting it lacks.
func TestNoConfiguration(t *testing.T) {
	cs := connect(t, newServer(t, Config{}, nil))
	lt, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(lt.Tools) != len(allTools) {
		t.Errorf("%d tools, want %d", len(lt.Tools), len(allTools))
	}
	for _, tool := range lt.Tools {
		ro, ok := allTools[tool.Name]
		if !ok {
			t.Errorf("unexpected tool %s", tool.Name)
			continue
		}
		a := tool.Annotations
		if a.ReadOnlyHint != ro || *a.DestructiveHint == ro || *a.OpenWorldHint {
			t.Errorf("%s: hints %+v", tool.Name, a)
		}
		if tool.InputSchema == nil || tool.OutputSchema == nil {
			t.Errorf("%s: schemas missing", tool.Name)
		}
	}
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"ping", nil, "clamd is not configured"},
		{"version", nil, "--clamd"},
		{"stats", nil, "clamd is not configured"},
		{"scan_bytes", map[string]any{"data_base64": base64.StdEncoding.EncodeToString([]byte("hi"))}, "clamd is not configured"},
		{"scan_file", map[string]any{"path": "/etc/passwd"}, "no allowed roots are configured"},
		{"scan_directory", map[string]any{"path": "/etc"}, "--allow-root"},
		{"quarantine_file", map[string]any{"path": "/etc/passwd"}, "quarantine actions are disabled"},
		{"restore_file", map[string]any{"id": "x"}, "quarantine actions are disabled"},
		{"list_quarantine", nil, "no quarantine directory is configured"},
		{"recent_detections", nil, "no clamd log file is configured"},
	} {
		mustFail(t, cs, tc.tool, tc.args, tc.want)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad address", Config{Clamd: "tcp:localhost"}, "want unix:/path or tcp:host:port"},
		{"bad port", Config{Clamd: "tcp:localhost:99999"}, "port in 1-65535"},
		{"missing root", Config{AllowedRoots: []string{filepath.Join(dir, "nope")}}, "no such file"},
		{"quarantine inside root", Config{AllowedRoots: []string{dir}, QuarantineDir: filepath.Join(dir, "q")}, "inside the allowed root"},
		{"enabled without dir", Config{EnableQuarantine: true}, "needs a quarantine directory"},
		{"negative limit", Config{MaxStreamBytes: -1}, "negative"},
		{"missing clamd.conf", Config{ClamdConfig: filepath.Join(dir, "clamd.conf")}, "reading clamd config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseSizeAndStreamMaxLength(t *testing.T) {
	for in, want := range map[string]int64{"100": 100, "2k": 2048, "25M": 25 << 20, "1m": 1 << 20} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v", in, got, err)
		}
	}
	if _, err := parseSize("lots"); err == nil {
		t.Error("parseSize accepted junk")
	}
	conf := filepath.Join(t.TempDir(), "clamd.conf")
	write(t, conf, "# comment\nLocalSocket /x\nStreamMaxLength 3M\n")
	if n, err := streamMaxLength(conf); err != nil || n != 3<<20 {
		t.Errorf("streamMaxLength = %d, %v", n, err)
	}
	write(t, conf, "LocalSocket /x\n")
	if n, err := streamMaxLength(conf); err != nil || n != 100<<20 {
		t.Errorf("default streamMaxLength = %d, %v", n, err)
	}
}

func TestParseStats(t *testing.T) {
	raw := "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live 1  idle 0 max 10 idle-timeout 30\nQUEUE: 0 items\n\tSTATS 0.000008 \n\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.883M pools_total 5.964M\nEND"
	s, err := parseStats(raw)
	if err != nil {
		t.Fatal(err)
	}
	if s.Pools != 1 || s.State != "VALID PRIMARY" || s.ThreadsLive != 1 || s.ThreadsMax != 10 || s.IdleTimeout != 30 || s.QueueItems != 0 || s.MemStats["pools_used"] != "5.883M" {
		t.Errorf("%+v", s)
	}
	if _, err := parseStats("HELLO"); err == nil {
		t.Error("parseStats accepted a non-STATS reply")
	}
}

// fakePeer is a misbehaving clamd written for this test: it accepts one
// connection at a time and answers every command with reply, to check how
// the client treats replies the protocol does not allow.
func fakePeer(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 64)
			_, _ = c.Read(buf)
			_, _ = c.Write([]byte(reply))
			c.Close()
		}
	}()
	return "tcp:" + ln.Addr().String()
}

func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	c, _ := NewClamd(fakePeer(t, "HELLO\x00"))
	var pe *ProtocolError
	if err := c.Ping(ctx); !errors.As(err, &pe) || !strings.Contains(err.Error(), `unexpected reply from clamd to PING: "HELLO"`) {
		t.Errorf("ping to a wrong peer: %v", err)
	}
	if _, err := c.Version(ctx); !errors.As(err, &pe) {
		t.Errorf("version to a wrong peer: %v", err)
	}
	if _, err := c.Instream(ctx, strings.NewReader("x")); !errors.As(err, &pe) {
		t.Errorf("instream to a wrong peer: %v", err)
	}
	c, _ = NewClamd(fakePeer(t, "UNKNOWN COMMAND\x00"))
	if err := c.Ping(ctx); !errors.As(err, &pe) {
		t.Errorf("unknown command: %v", err)
	}
	c, _ = NewClamd(fakePeer(t, ""))
	if err := c.Ping(ctx); err == nil || !strings.Contains(err.Error(), "connection closed without a reply") {
		t.Errorf("silent peer: %v", err)
	}
	// A port nobody listens on: connection refused.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	c, _ = NewClamd("tcp:" + addr)
	var ue *UnreachableError
	if err := c.Ping(ctx); !errors.As(err, &ue) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("refused: %v", err)
	}
	c, _ = NewClamd("unix:" + filepath.Join(t.TempDir(), "none.sock"))
	if err := c.Ping(ctx); !errors.As(err, &ue) || !strings.Contains(err.Error(), "no socket file") {
		t.Errorf("missing socket: %v", err)
	}
	// A peer that accepts and never answers: the timeout applies.
	ln, _ = net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(2 * time.Second)
			c.Close()
		}
	}()
	c, _ = NewClamd("tcp:" + ln.Addr().String())
	c.Timeout = 200 * time.Millisecond
	if err := c.Ping(ctx); !errors.As(err, &ue) || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("hung peer: %v", err)
	}
}

func TestRealClamdProtocol(t *testing.T) {
	env := startClamd(t)
	c, err := NewClamd(env.addr())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := c.Version(ctx)
	if err != nil || !strings.HasPrefix(v.Raw, "ClamAV ") || v.Engine == "" {
		t.Fatalf("version %+v %v", v, err)
	}
	st, err := c.Stats(ctx)
	if err != nil || st.Pools < 1 || st.ThreadsMax < 1 || st.State == "" {
		t.Fatalf("stats %+v %v", st, err)
	}
	vd, err := c.Instream(ctx, bytes.NewReader(eicar))
	if err != nil || !vd.Infected || vd.Signature != eicarSig {
		t.Fatalf("eicar: %+v %v", vd, err)
	}
	// Chunks smaller than the data exercise the framing.
	c.ChunkSize = 7
	vd, err = c.Instream(ctx, bytes.NewReader(append([]byte("header "), eicar...)))
	if err != nil || !vd.Infected {
		t.Fatalf("eicar in 7-byte chunks: %+v %v", vd, err)
	}
	vd, err = c.Instream(ctx, strings.NewReader("just text"))
	if err != nil || vd.Infected {
		t.Fatalf("clean: %+v %v", vd, err)
	}
	vd, err = c.Instream(ctx, strings.NewReader(""))
	if err != nil || vd.Infected {
		t.Fatalf("empty: %+v %v", vd, err)
	}
}

// fixture is a real clamd plus an allowed root, a quarantine directory, an
// outside directory and an audit log.
type fixture struct {
	env                 *clamdEnv
	root, outside, qdir string
	auditPath           string
	cs                  *mcp.ClientSession
}

func newFixture(t *testing.T, mutate func(*Config)) *fixture {
	t.Helper()
	env := startClamd(t)
	base := t.TempDir()
	f := &fixture{env: env, root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside"),
		qdir: filepath.Join(base, "quarantine"), auditPath: filepath.Join(base, "audit.jsonl")}
	for _, d := range []string{f.root, f.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{Clamd: env.addr(), AllowedRoots: []string{f.root, testFilesDir}, QuarantineDir: f.qdir,
		EnableQuarantine: true, LogFile: env.log}
	if mutate != nil {
		mutate(&cfg)
	}
	w, err := audit.Open(f.auditPath, &audit.Options{Sync: audit.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	s := newServer(t, cfg, &Options{Audit: func(ev audit.Event) error { _, err := w.Append(ev); return err }})
	f.cs = connect(t, s)
	return f
}

func TestScanTools(t *testing.T) {
	f := newFixture(t, nil)
	cs := f.cs
	var pong PingResult
	mustOK(t, cs, "ping", nil, &pong)
	if pong.Reply != "PONG" || pong.Clamd != f.env.addr() {
		t.Errorf("ping %+v", pong)
	}
	var ver VersionResult
	mustOK(t, cs, "version", nil, &ver)
	if ver.Engine == "" {
		t.Errorf("version %+v", ver)
	}
	var st StatsResult
	mustOK(t, cs, "stats", nil, &st)
	if st.ThreadsMax < 1 || !strings.Contains(st.Raw, "POOLS:") {
		t.Errorf("stats %+v", st)
	}

	t.Run("scan_bytes", func(t *testing.T) {
		var r BytesScan
		mustOK(t, cs, "scan_bytes", map[string]any{"data_base64": base64.StdEncoding.EncodeToString(eicar), "name": "eicar.com"}, &r)
		if !r.Infected || r.Signature != eicarSig || r.Size != int64(len(eicar)) || r.Name != "eicar.com" {
			t.Errorf("eicar bytes: %+v", r)
		}
		mustOK(t, cs, "scan_bytes", map[string]any{"data_base64": base64.StdEncoding.EncodeToString([]byte("hello"))}, &r)
		if r.Infected {
			t.Errorf("clean bytes: %+v", r)
		}
		mustFail(t, cs, "scan_bytes", map[string]any{"data_base64": "%%%not base64"}, "not valid standard base64")
		mustFail(t, cs, "scan_bytes", map[string]any{}, "data_base64")
		mustFail(t, cs, "scan_bytes", map[string]any{"data_base64": ""}, "data_base64 is required")
	})

	eicarPath := filepath.Join(f.root, "sub", "eicar.com")
	os.MkdirAll(filepath.Dir(eicarPath), 0o755)
	write(t, eicarPath, string(eicar))
	cleanPath := filepath.Join(f.root, "readme.txt")
	write(t, cleanPath, "nothing to see")
	secret := filepath.Join(f.outside, "secret.txt")
	write(t, secret, string(eicar))
	if err := os.Symlink(secret, filepath.Join(f.root, "link-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(f.outside, filepath.Join(f.root, "dirlink-out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(eicarPath, filepath.Join(f.root, "link-in")); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(f.root, "huge.iso")
	hf, _ := os.Create(huge)
	hf.Truncate(5 << 30) // sparse: 5 GB that costs no disk
	hf.Close()

	t.Run("scan_file", func(t *testing.T) {
		var r FileScan
		mustOK(t, cs, "scan_file", map[string]any{"path": eicarPath}, &r)
		if !r.Infected || r.Signature != eicarSig || r.Size != int64(len(eicar)) || len(r.SHA256) != 64 {
			t.Errorf("eicar file: %+v", r)
		}
		mustOK(t, cs, "scan_file", map[string]any{"path": filepath.Join(f.root, "link-in")}, &r)
		if !r.Infected || r.Resolved != eicarPath {
			t.Errorf("symlink inside the root: %+v", r)
		}
		mustOK(t, cs, "scan_file", map[string]any{"path": cleanPath}, &r)
		if r.Infected {
			t.Errorf("clean file: %+v", r)
		}
		mustOK(t, cs, "scan_file", map[string]any{"path": filepath.Join(testFilesDir, "clam.zip")}, &r)
		if !r.Infected || !strings.HasPrefix(r.Signature, clamTestSig) {
			t.Errorf("clam.zip: %+v", r)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			tool string
			path string
			want []string
		}{
			{"scan_file", secret, []string{"outside the allowed roots"}},
			{"scan_file", filepath.Join(f.root, "link-out"), []string{"resolves to", "outside the allowed roots"}},
			{"scan_file", filepath.Join(f.root, "dirlink-out", "secret.txt"), []string{"resolves to", "outside the allowed roots"}},
			{"scan_file", filepath.Join(f.root, "..", "outside", "secret.txt"), []string{"outside the allowed roots"}},
			{"scan_file", "sub/eicar.com", []string{"not absolute"}},
			{"scan_file", "", []string{"path is required"}},
			{"scan_file", filepath.Join(f.root, "missing"), []string{"does not exist"}},
			{"scan_file", filepath.Join(f.root, "sub"), []string{"is a directory"}},
			{"scan_file", huge, []string{"5368709120 bytes", "above the server's limit"}},
			{"scan_directory", f.outside, []string{"outside the allowed roots"}},
			{"scan_directory", eicarPath, []string{"not a directory"}},
			{"quarantine_file", secret, []string{"outside the allowed roots"}},
			{"quarantine_file", filepath.Join(f.root, "link-out"), []string{"outside the allowed roots"}},
		} {
			mustFail(t, cs, tc.tool, map[string]any{"path": tc.path}, tc.want...)
		}
		mustFail(t, cs, "scan_directory", map[string]any{"path": f.root, "max_files": -1}, "out of range")
		mustFail(t, cs, "recent_detections", map[string]any{"since": "yesterday"}, "neither an RFC 3339 time")
		mustFail(t, cs, "restore_file", map[string]any{"id": "../../etc/passwd"}, "not a quarantine id")
		if _, err := os.Stat(secret); err != nil {
			t.Fatal("the outside file was touched")
		}
	})

	t.Run("scan_directory", func(t *testing.T) {
		var r DirScan
		mustOK(t, cs, "scan_directory", map[string]any{"path": f.root}, &r)
		if r.InfectedCount != 1 || r.Infected[0].Path != eicarPath || r.Infected[0].Signature != eicarSig {
			t.Errorf("root: %+v", r)
		}
		if r.FilesScanned != 2 || len(r.Skipped) != 4 { // eicar, readme; 3 symlinks and the 5 GB file
			t.Errorf("root: scanned %d, skipped %+v", r.FilesScanned, r.Skipped)
		}
		mustOK(t, cs, "scan_directory", map[string]any{"path": f.root, "recursive": false}, &r)
		if r.InfectedCount != 0 || r.FilesScanned != 1 {
			t.Errorf("non-recursive: %+v", r)
		}
		mustOK(t, cs, "scan_directory", map[string]any{"path": testFilesDir, "max_files": 5}, &r)
		if !r.Truncated || r.FilesScanned != 5 {
			t.Errorf("max_files: %+v", r)
		}
	})

	t.Run("clamav-testfiles", func(t *testing.T) {
		want := countTestFiles(t)
		if want != 44 {
			t.Logf("clamav-testfiles has %d files (44 expected for 1.4.6)", want)
		}
		var r DirScan
		mustOK(t, cs, "scan_directory", map[string]any{"path": testFilesDir}, &r)
		if r.FilesScanned != want || r.InfectedCount != want || len(r.Errors) != 0 || len(r.Skipped) != 0 {
			t.Fatalf("scanned %d, infected %d of %d; errors %v skipped %v", r.FilesScanned, r.InfectedCount, want, r.Errors, r.Skipped)
		}
		seen := map[string]bool{}
		for _, inf := range r.Infected {
			if !strings.HasPrefix(inf.Signature, clamTestSig) || !strings.HasSuffix(inf.Signature, ".UNOFFICIAL") {
				t.Errorf("%s: signature %q", inf.Path, inf.Signature)
			}
			seen[filepath.Base(inf.Path)] = true
		}
		for _, name := range []string{"clam.exe", "clam.zip", "clam.7z", "clam.pdf", "clam-upx.exe", "clam.tar.gz"} {
			if !seen[name] {
				t.Errorf("%s not reported infected", name)
			}
		}
		t.Logf("%d files, %d bytes in %.1f ms", r.FilesScanned, r.BytesScanned, r.Duration)
	})

	t.Run("recent_detections", func(t *testing.T) {
		var d Detections
		mustOK(t, cs, "recent_detections", map[string]any{"signature": "eicar"}, &d)
		if len(d.Detections) == 0 || d.LinesRead == 0 {
			t.Fatalf("no EICAR detection in the clamd log: %+v", d)
		}
		for _, det := range d.Detections {
			if det.Signature != eicarSig || det.Time == nil || det.Target == "" {
				t.Errorf("detection %+v", det)
			}
		}
		mustOK(t, cs, "recent_detections", map[string]any{"limit": 3, "since": "1h"}, &d)
		if len(d.Detections) != 3 {
			t.Errorf("limit 3: %d detections", len(d.Detections))
		}
		mustOK(t, cs, "recent_detections", map[string]any{"since": "2099-01-01T00:00:00Z"}, &d)
		if len(d.Detections) != 0 {
			t.Errorf("future since: %+v", d.Detections)
		}
	})
}

// TestSizeLimits runs clamd with StreamMaxLength 1M: the server refuses
// above its own limit and above clamd's before sending anything, and
// reports clamd's own refusal clearly when it does not know clamd's limit.
func TestSizeLimits(t *testing.T) {
	env := startClamd(t, "StreamMaxLength 1M")
	root := t.TempDir()
	two := bytes.Repeat([]byte("0123456789abcdef"), (2<<20)/16)
	write(t, filepath.Join(root, "two-mib.bin"), string(two))
	b64 := base64.StdEncoding.EncodeToString(two)

	own := connect(t, newServer(t, Config{Clamd: env.addr(), AllowedRoots: []string{root}, MaxStreamBytes: 1 << 20}, nil))
	mustFail(t, own, "scan_bytes", map[string]any{"data_base64": b64}, "the upload is 2097152 bytes, above the server's limit of 1048576 bytes")
	mustFail(t, own, "scan_file", map[string]any{"path": filepath.Join(root, "two-mib.bin")}, "above the server's limit")

	known := connect(t, newServer(t, Config{Clamd: env.addr(), ClamdConfig: env.conf, AllowedRoots: []string{root}}, nil))
	mustFail(t, known, "scan_bytes", map[string]any{"data_base64": b64}, "above clamd's StreamMaxLength of 1048576 bytes")
	var r DirScan
	mustOK(t, known, "scan_directory", map[string]any{"path": root}, &r)
	if len(r.Skipped) != 1 || !strings.Contains(r.Skipped[0].Reason, "StreamMaxLength") {
		t.Errorf("oversize file in a directory: %+v", r)
	}

	unknown := connect(t, newServer(t, Config{Clamd: env.addr(), AllowedRoots: []string{root}, MaxStreamBytes: 4 << 20}, nil))
	mustFail(t, unknown, "scan_bytes", map[string]any{"data_base64": b64}, "exceeds clamd's StreamMaxLength")
	mustFail(t, unknown, "scan_file", map[string]any{"path": filepath.Join(root, "two-mib.bin")}, "exceeds clamd's StreamMaxLength")
	// clamd still serves after refusing.
	mustOK(t, unknown, "ping", nil, nil)
}

// TestRealClamdTCP talks to clamd over TCP (a port picked at run time).
func TestRealClamdTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	startClamd(t, "TCPSocket "+strconv.Itoa(port), "TCPAddr 127.0.0.1")
	cs := connect(t, newServer(t, Config{Clamd: "tcp:127.0.0.1:" + strconv.Itoa(port)}, nil))
	var r BytesScan
	mustOK(t, cs, "scan_bytes", map[string]any{"data_base64": base64.StdEncoding.EncodeToString(eicar)}, &r)
	if !r.Infected || r.Signature != eicarSig {
		t.Errorf("eicar over TCP: %+v", r)
	}
	var v VersionResult
	mustOK(t, cs, "version", nil, &v)
	if !strings.HasPrefix(v.Clamd, "tcp:") || v.Engine == "" {
		t.Errorf("version over TCP: %+v", v)
	}
}
