package av

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
	_ "github.com/mcpsoc/mcpsoc/internal/parse/clamav" // registers the "clamav" format
)

// maxLogTail bounds how much of the end of the clamd log recent_detections
// reads, so a huge unrotated log cannot stall a call.
const maxLogTail = 32 << 20

// Detection is one "path: Signature FOUND" line of the clamd log.
type Detection struct {
	Time      *time.Time `json:"time,omitempty" jsonschema:"when clamd logged it (needs LogTime yes in clamd.conf)"`
	Path      string     `json:"path,omitempty" jsonschema:"scanned file, absent for streamed data"`
	Target    string     `json:"target,omitempty" jsonschema:"clamd's name for streamed data, e.g. instream(local)"`
	Signature string     `json:"signature" jsonschema:"ClamAV signature name"`
	Line      string     `json:"line" jsonschema:"the log line"`
}

type detectionFilter struct {
	since     time.Time
	signature string
	path      string
	limit     int
}

// recentDetections reads the end of a clamd log file and returns the
// detections matching f, newest first, and whether the file was longer
// than what was read.
func recentDetections(logPath string, f detectionFilter) (out []Detection, lines int64, truncated bool, err error) {
	file, err := os.Open(logPath)
	if err != nil {
		return nil, 0, false, fmt.Errorf("opening clamd log: %w", err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return nil, 0, false, fmt.Errorf("stat clamd log: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, false, fmt.Errorf("clamd log %q is not a regular file", logPath)
	}
	var r io.Reader = file
	if fi.Size() > maxLogTail {
		if _, err := file.Seek(fi.Size()-maxLogTail, io.SeekStart); err != nil {
			return nil, 0, false, fmt.Errorf("seeking in clamd log: %w", err)
		}
		br := bufio.NewReader(file)
		if _, err := br.ReadString('\n'); err != nil { // drop the cut line
			return nil, 0, true, nil
		}
		r, truncated = br, true
	}
	// clamd writes LogTime stamps in its local time zone, which is ours
	// when it runs on this host.
	n, err := parse.New("clamav", &parse.Config{Location: time.Local, SourceID: "file:" + logPath})
	if err != nil {
		return nil, 0, false, err
	}
	sc := parse.NewScanner(r, n)
	for sc.Scan() {
		ev := sc.Event()
		if ev.Kind != event.KindAlert || ev.Action != "malware-detected" {
			continue
		}
		d := Detection{Signature: ev.Rule.Name, Line: ev.Original}
		// Without LogTime the parser stamps the read time; that is not when
		// clamd detected anything, so leave the time out.
		if !ev.Timestamp.IsZero() && !ev.Timestamp.Equal(ev.Provenance.IngestTime) {
			ts := ev.Timestamp.UTC()
			d.Time = &ts
		}
		d.Path, _ = ev.GetString("file.path")
		d.Target, _ = ev.GetString("clamav.scan_target") // streamed data: "instream(local)", "instream(IP@PORT)"
		if !f.since.IsZero() && (d.Time == nil || d.Time.Before(f.since)) {
			continue
		}
		if f.signature != "" && !strings.Contains(strings.ToLower(d.Signature), strings.ToLower(f.signature)) {
			continue
		}
		if f.path != "" && !strings.HasPrefix(d.Path, f.path) {
			continue
		}
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		return nil, 0, truncated, fmt.Errorf("reading clamd log: %w", err)
	}
	lines = sc.Stats().Lines
	// Newest first, at most limit.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if f.limit > 0 && len(out) > f.limit {
		out = out[:f.limit]
	}
	return out, lines, truncated, nil
}
