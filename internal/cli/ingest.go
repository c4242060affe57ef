package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/ingest"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func init() { register("ingest", newIngestCmd) }

// chunkBytes is how much of a file one push carries.
const chunkBytes = 4 << 20

func newIngestCmd() *cobra.Command {
	var c apiClient
	var format, source string
	cmd := &cobra.Command{
		Use:   "ingest [--server URL] --format auto|NAME FILE...",
		Short: "Ship log files into a running SOC, with a progress bar",
		Long: `Ingest sends files to a running 'mcpsoc serve' (POST /api/v1/ingest) in
gzip-compressed chunks of whole lines. Each chunk carries an idempotency key
derived from the file and the chunk's position, so a failed push is retried
and re-running the same command does not duplicate events.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			key, err := c.key()
			if err != nil {
				return err
			}
			var total int64
			for _, f := range files {
				fi, err := os.Stat(f)
				if err != nil {
					return &ExitError{Code: 2, Err: err}
				}
				total += fi.Size()
			}
			p := newProgress(cmd.ErrOrStderr(), total)
			var sum ingest.PushResult
			for _, f := range files {
				r, err := c.pushFile(cmd.Context(), f, format, source, key, p)
				sum.Accepted += r.Accepted
				sum.PipelineErrors += r.PipelineErrors
				sum.Truncated += r.Truncated
				if err != nil {
					p.done()
					return fmt.Errorf("%s: %w", f, err)
				}
			}
			p.done()
			fmt.Fprintf(cmd.OutOrStdout(), "ingested %d events from %d file(s) (%d pipeline errors, %d truncated) in %s\n",
				sum.Accepted, len(files), sum.PipelineErrors, sum.Truncated, p.elapsed().Round(time.Millisecond))
			return nil
		},
	}
	c.flags(cmd)
	cmd.Flags().StringVarP(&format, "format", "f", "auto", "log `format` (auto or a parser name, see 'mcpsoc parse --help')")
	cmd.Flags().StringVar(&source, "source", "cli", "source `name` recorded with the events")
	return cmd
}

// pushFile sends one file in chunks that end on a line boundary.
func (c *apiClient) pushFile(ctx context.Context, path, format, source, key string, p *progress) (ingest.PushResult, error) {
	var sum ingest.PushResult
	f, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer f.Close()
	abs, _ := filepath.Abs(path)
	fi, _ := f.Stat()
	fileKey := fmt.Sprintf("%s|%d|%d", abs, fi.Size(), fi.ModTime().UnixNano())
	r := bufio.NewReaderSize(f, 64<<10)
	var offset int64
	chunk := make([]byte, 0, chunkBytes+64<<10)
	for {
		chunk = chunk[:0]
		for len(chunk) < chunkBytes {
			line, err := r.ReadSlice('\n')
			chunk = append(chunk, line...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return sum, err
			}
		}
		if len(chunk) == 0 {
			return sum, nil
		}
		sk := sha256.Sum256([]byte(fileKey + "|" + strconv.FormatInt(offset, 10)))
		res, err := c.push(ctx, chunk, format, source, key, hex.EncodeToString(sk[:16]))
		if err != nil {
			return sum, err
		}
		sum.Accepted += res.Accepted
		sum.PipelineErrors += res.PipelineErrors
		sum.Truncated += res.Truncated
		offset += int64(len(chunk))
		p.add(int64(len(chunk)), res.Accepted)
		if len(chunk) < chunkBytes {
			return sum, nil
		}
	}
}

// push sends one chunk, retrying with backoff on network errors and 5xx.
func (c *apiClient) push(ctx context.Context, body []byte, format, source, key, idem string) (ingest.PushResult, error) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(body)
	zw.Close()
	u := c.url("/api/v1/ingest") + "?" + url.Values{"format": {format}, "source": {source}}.Encode()
	var res ingest.PushResult
	delay := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(zipped.Bytes()))
		if err != nil {
			return res, err
		}
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Idempotency-Key", idem)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := c.client().Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK:
				return res, json.Unmarshal(b, &res)
			case resp.StatusCode < 500:
				return res, fmt.Errorf("server refused the push: %s: %s", resp.Status, bytes.TrimSpace(b))
			}
			err = fmt.Errorf("server answered %s", resp.Status)
		}
		if attempt == 6 || ctx.Err() != nil {
			return res, fmt.Errorf("pushing to %s: %w", c.server, err)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// progress draws bytes, events/s and ETA on a terminal; elsewhere it stays
// quiet and only the final summary is printed.
type progress struct {
	w      io.Writer
	tty    bool
	total  int64
	bytes  int64
	events int64
	start  time.Time
	last   time.Time
}

func newProgress(w io.Writer, total int64) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty, total: total, start: time.Now()}
}

func (p *progress) add(bytes, events int64) {
	p.bytes += bytes
	p.events += events
	if !p.tty || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	el := time.Since(p.start).Seconds()
	rate := float64(p.events) / max(el, 1e-9)
	eta := "?"
	if p.bytes > 0 {
		eta = (time.Duration(el*float64(p.total-p.bytes)/float64(p.bytes)) * time.Second / time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%s / %s  %3.0f%%  %s events/s  ETA %s   ", mib(p.bytes), mib(p.total),
		100*float64(p.bytes)/float64(max(p.total, 1)), strconv.FormatFloat(rate, 'f', 0, 64), eta)
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) elapsed() time.Duration { return time.Since(p.start) }

func mib(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB" }
