package av

import (
	"context"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
)

// testFilesDir is where Debian's clamav-testfiles puts its 44 samples.
const testFilesDir = "/usr/share/clamav-testfiles"

// eicar is the EICAR test string, assembled at run time so this source
// file does not itself match an EICAR signature when the repository is
// scanned.
var eicar = []byte(`X5O!P%@AP[4\PZX54(P^)7CC)7}$` + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")

const (
	eicarSig    = "Local.Eicar.Body.UNOFFICIAL"
	clamTestSig = "Local.ClamTest"
)

// clamdEnv is a clamd started by a test with a signature database
// generated in its scratch directory (interop.md §8).
type clamdEnv struct {
	dir, sock, log, conf string
	cmd                  *exec.Cmd
	exited               chan struct{}
}

// startClamd generates a database (clam.exe by MD5, EICAR and clam.exe
// body signatures) and starts clamd in the foreground on a Unix socket in a
// scratch directory, with extra lines appended to clamd.conf. clamd is
// stopped by PID when the test ends.
func startClamd(t testing.TB, extra ...string) *clamdEnv {
	t.Helper()
	for _, bin := range []string{"clamd", "sigtool"} {
		if _, err := exec.LookPath(bin); err != nil {
			testenv.Missing(t, bin+" (Debian packages clamav, clamav-daemon)")
		}
	}
	if _, err := os.Stat(filepath.Join(testFilesDir, "clam.exe")); err != nil {
		testenv.Missing(t, "clamav-testfiles (Debian package)")
	}
	// Unix socket paths are limited to 108 bytes; t.TempDir() names can be
	// longer than that, so the clamd directory is a short one of its own.
	dir, err := os.MkdirTemp("", "av-clamd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sigtool", "--md5", filepath.Join(testFilesDir, "clam.exe")).Output()
	if err != nil {
		t.Fatalf("sigtool --md5: %v", err)
	}
	hdb := strings.TrimSuffix(strings.TrimSpace(string(out)), "clam.exe") + "Local.ClamTest.Hash\n"
	ndb := "Local.Eicar.Body:0:*:" + hex.EncodeToString(eicar) + "\n" +
		"Local.ClamTest.Body:0:*:bb7110400033c050508bf3535350b029\n"
	write(t, filepath.Join(db, "local.hdb"), hdb)
	write(t, filepath.Join(db, "local.ndb"), ndb)
	e := &clamdEnv{dir: dir, sock: filepath.Join(dir, "clamd.sock"), log: filepath.Join(dir, "clamd.log"), conf: filepath.Join(dir, "clamd.conf")}
	conf := []string{
		"Foreground yes", "DatabaseDirectory " + db, "LocalSocket " + e.sock, "LogFile " + e.log,
		"LogTime yes", "PidFile " + filepath.Join(dir, "clamd.pid"),
	}
	if os.Geteuid() == 0 {
		conf = append(conf, "User root")
	}
	conf = append(conf, extra...)
	write(t, e.conf, strings.Join(conf, "\n")+"\n")
	e.cmd = exec.Command("clamd", "-c", e.conf)
	var stderr strings.Builder
	e.cmd.Stderr = &stderr
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("starting clamd: %v", err)
	}
	exited := make(chan struct{})
	e.exited = exited
	go func() { _ = e.cmd.Wait(); close(exited) }()
	t.Cleanup(e.stop)
	c := &Clamd{network: "unix", address: e.sock}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx)
		cancel()
		if err == nil {
			return e
		}
		select {
		case <-exited:
			t.Fatalf("clamd exited: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("clamd not ready after 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills clamd by its PID and waits for it to exit; safe to call
// twice.
func (e *clamdEnv) stop() {
	_ = e.cmd.Process.Kill()
	<-e.exited
}

func (e *clamdEnv) addr() string { return "unix:" + e.sock }

func write(t testing.TB, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// countTestFiles returns the number of regular files in testFilesDir.
func countTestFiles(t testing.TB) int {
	des, err := os.ReadDir(testFilesDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, de := range des {
		if de.Type().IsRegular() {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("%s is empty", testFilesDir)
	}
	return n
}
