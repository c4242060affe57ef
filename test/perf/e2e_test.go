// Package perf holds end-to-end throughput benchmarks of the pipeline
// against a real 'mcpsoc serve' process, side by side with rsyslog
// receiving the same stream into a plain file.
//
//	go test ./test/perf -run '^$' -bench . -benchtime 1x -timeout 30m
//
// MCPSOC_PERF_EVENTS sets the number of events (default 500000);
// MCPSOC_PERF_BASELINE an earlier mcpsoc binary to compare with;
// MCPSOC_PERF_STREAM=cyclic the older stream (see stream);
// MCPSOC_PERF_DETECT=off runs serve with detection disabled, which measures
// the chain alone (syslog over TCP → bus → SQLite) beside the
// default, where detection shares the two cores.
package perf

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/testenv"
	_ "modernc.org/sqlite"
)

func events() int {
	if n, err := strconv.Atoi(os.Getenv("MCPSOC_PERF_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 500000
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// stream prebuilds n realistic filterlog lines in RFC 3164 syslog. Their
// timestamps run forward, 1,000 lines per second from 10:00:00, as a busy
// firewall's do. MCPSOC_PERF_STREAM=cyclic gives the stream the figures
// before 2026-11-21 21:00 UTC used instead: timestamps cycling through one
// hour, one second per line, so a million lines revisit each second 278
// times. That put every insert into a time-ordered index at a random
// place, which no live source does.
func stream(n int) [][]byte {
	cyclic := os.Getenv("MCPSOC_PERF_STREAM") == "cyclic"
	chunks := make([][]byte, 0, 8)
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		hh, mm, ss := 13, (i/60)%60, i%60
		if !cyclic {
			sec := i / 1000
			hh, mm, ss = 10+sec/3600, (sec/60)%60, sec%60
		}
		fmt.Fprintf(&buf, "<134>Nov 21 %02d:%02d:%02d fw filterlog[4242]: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,%d,0,DF,6,tcp,60,203.0.%d.%d,192.0.2.10,%d,%d,0,S,%d,,64240,,mss;sackOK;TS;nop;wscale\n",
			hh, mm, ss, i%65535, (i/250)%250, i%250, 1024+i%60000, 1+i%1024, i)
		if buf.Len() > 8<<20 {
			chunks = append(chunks, bytes.Clone(buf.Bytes()))
			buf.Reset()
		}
	}
	return append(chunks, bytes.Clone(buf.Bytes()))
}

// send writes the stream over conns TCP connections.
func send(b *testing.B, addr string, chunks [][]byte, conns int) {
	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			for i := c; i < len(chunks); i += conns {
				if _, err := conn.Write(chunks[i]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Prometheus writes large counters in exponent form (1e+06).
var storedRE = regexp.MustCompile(`(?m)^mcpsoc_store_events_total (\S+)`)

func storedEvents(api string) int {
	resp, err := http.Get("http://" + api + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := storedRE.FindSubmatch(body); m != nil {
		f, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			return 0
		}
		return int(f)
	}
	return 0
}

// sealing reports whether the SQLite store at path has a segment whose
// indexes are being built (false for a store without segments).
func sealing(path string) bool {
	db, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		return false
	}
	defer db.Close()
	var n int
	err = db.QueryRow(`SELECT count(*) FROM event_segments WHERE state = 'sealing'`).Scan(&n)
	return err == nil && n > 0
}

// BenchmarkSyslogToStore measures sustained syslog over TCP → bus → SQLite,
// from the first byte sent to the last event committed in the store.
// MCPSOC_PERF_BASELINE names another mcpsoc binary (an earlier commit's
// build) to measure in the same run, for a ratio the machine's load does not
// skew.
func BenchmarkSyslogToStore(b *testing.B) {
	n := events()
	chunks := stream(n)
	bin := testenv.GoBinary(b, "./cmd/mcpsoc")
	base := os.Getenv("MCPSOC_PERF_BASELINE")
	if base == "" {
		syslogToStore(b, bin, n, chunks)
		return
	}
	b.Run("current", func(b *testing.B) { syslogToStore(b, bin, n, chunks) })
	b.Run("baseline", func(b *testing.B) { syslogToStore(b, base, n, chunks) })
}

func syslogToStore(b *testing.B, bin string, n int, chunks [][]byte) {
	for b.Loop() {
		dir := b.TempDir()
		api, sys := freeAddr(b), freeAddr(b)
		cfg := filepath.Join(dir, "mcpsoc.yaml")
		conf := fmt.Sprintf("log: {level: warn}\ningest:\n  syslog:\n    - {name: fw, protocol: tcp, listen: %q, format: auto}\n", sys)
		if os.Getenv("MCPSOC_PERF_DETECT") == "off" {
			conf += "detect: {disabled: true}\n"
		}
		os.WriteFile(cfg, []byte(conf), 0o600)
		cmd := exec.Command(bin, "serve", "--config", cfg, "--data", filepath.Join(dir, "data"), "--listen", api)
		var logs bytes.Buffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for storedEvents(api) < 0 {
			time.Sleep(20 * time.Millisecond)
		}
		start := time.Now()
		send(b, sys, chunks, 2)
		for storedEvents(api) < n {
			if time.Since(start) > 20*time.Minute {
				b.Fatalf("only %d of %d events stored\n%s", storedEvents(api), n, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		el := time.Since(start)
		// Stored events are searchable at once; a full segment's
		// indexes are built after it fills. Until that ends, the work
		// is not done: the second rate and the CPU time include it.
		for sealing(filepath.Join(dir, "data", "events.db")) {
			time.Sleep(20 * time.Millisecond)
		}
		sealed := time.Since(start)
		cmd.Process.Kill()
		cmd.Wait()
		b.ReportMetric(float64(n)/el.Seconds(), "events/s")
		b.ReportMetric(float64(n)/sealed.Seconds(), "indexed-events/s")
		b.ReportMetric(el.Seconds(), "seconds")
		reportCPU(b, cmd, n)
	}
}

// reportCPU reports the CPU time the finished process used per event
// (start-up included): on a shared machine the wall-clock rate depends on
// the other load, CPU time per event much less.
func reportCPU(b *testing.B, cmd *exec.Cmd, n int) {
	if ps := cmd.ProcessState; ps != nil {
		b.ReportMetric(float64((ps.UserTime()+ps.SystemTime()).Microseconds())/float64(n), "cpu-µs/event")
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			b.ReportMetric(float64(ru.Maxrss)/1024, "max-rss-MiB") // Linux: KiB
		}
	}
}

// BenchmarkRsyslogToFile is the reference: Debian's rsyslog receiving the
// same stream over TCP into a plain file, until the file holds every line.
func BenchmarkRsyslogToFile(b *testing.B) {
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		b.Skip("rsyslogd is not installed (apt-get install rsyslog)")
	}
	n := events()
	chunks := stream(n)
	for b.Loop() {
		dir := b.TempDir()
		sys := freeAddr(b)
		_, port, _ := net.SplitHostPort(sys)
		out := filepath.Join(dir, "out.log")
		conf := filepath.Join(dir, "rsyslog.conf")
		os.WriteFile(conf, []byte(fmt.Sprintf(`global(workDirectory=%q)
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port=%q)
template(name="raw" type="string" string="%%rawmsg%%\n")
action(type="omfile" file=%q template="raw" asyncWriting="on" ioBufferSize="1m" flushInterval="1")
`, dir, port, out)), 0o600)
		cmd := exec.Command(rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
		var logs bytes.Buffer
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			c, err := net.Dial("tcp", sys)
			if err == nil {
				c.Close()
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		start := time.Now()
		send(b, sys, chunks, 2)
		for countLines(out) < n {
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("rsyslog wrote %d of %d lines\n%s", countLines(out), n, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		el := time.Since(start)
		cmd.Process.Kill()
		cmd.Wait()
		b.ReportMetric(float64(n)/el.Seconds(), "events/s")
		b.ReportMetric(el.Seconds(), "seconds")
		reportCPU(b, cmd, n)
	}
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			n++
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return n
		}
	}
}
