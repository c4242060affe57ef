package av

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/audit"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Name and Version identify the server.
const (
	Name    = "mcpsoc-av"
	Version = "1.0.0"
)

// DefaultMaxStreamBytes is the upload and per-file limit when none is
// configured: Debian's shipped clamd.conf sets StreamMaxLength 25M.
const DefaultMaxStreamBytes = 25 << 20

// Config is the av server's configuration, the servers.av section of the
// YAML tree. The zero value is valid: every tool is listed and those that
// need a backend say it is not configured.
type Config struct {
	// Clamd is clamd's address: "unix:/run/clamav/clamd.ctl" or
	// "tcp:127.0.0.1:3310".
	Clamd string `yaml:"clamd,omitempty"`
	// ClamdConfig is clamd.conf, read for StreamMaxLength so that oversize
	// data is refused before it is sent.
	ClamdConfig string `yaml:"clamd_config,omitempty"`
	// AllowedRoots are the directories files may be scanned, quarantined
	// and restored in. Symlinks are resolved before the check.
	AllowedRoots []string `yaml:"allowed_roots,omitempty"`
	// QuarantineDir holds quarantined files (created 0700). It must lie
	// outside the allowed roots.
	QuarantineDir string `yaml:"quarantine_dir,omitempty"`
	// EnableQuarantine allows quarantine_file and restore_file to change
	// files; without it they only answer dry runs.
	EnableQuarantine bool `yaml:"enable_quarantine,omitempty"`
	// MaxStreamBytes caps uploads and scanned files; 0 means clamd's
	// StreamMaxLength when ClamdConfig is set, else DefaultMaxStreamBytes.
	MaxStreamBytes int64 `yaml:"max_stream_bytes,omitempty"`
	// LogFile is clamd's LogFile, read by recent_detections.
	LogFile string `yaml:"log_file,omitempty"`
	// Timeout bounds one clamd command, the scan included; 0 means 2 min.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// ScanConcurrency is how many files scan_directory streams to clamd at
	// once; 0 means 4. Keep it at or below clamd's MaxThreads.
	ScanConcurrency int `yaml:"scan_concurrency,omitempty"`
}

// Options are the server's collaborators. Nil means defaults.
type Options struct {
	Logger *slog.Logger
	// Audit records quarantine and restore calls (who, what, outcome).
	// Nil records nothing.
	Audit func(audit.Event) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the av server's state behind its tools. Its methods are safe
// for concurrent use.
type Server struct {
	cfg         Config
	clamd       *Clamd
	roots       *roots
	q           *quarantine
	limit       int64 // effective byte limit
	clamdLimit  int64 // StreamMaxLength from clamd.conf, 0 if unknown
	concurrency int
	log         *slog.Logger
	audit       func(audit.Event) error
	now         func() time.Time
	mu          sync.Mutex // serializes quarantine changes
}

// New validates cfg and builds the server state. Errors are configuration
// mistakes (a malformed address, a missing root); an unreachable clamd is
// not one, it is reported by the tools.
func New(cfg Config, opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	s := &Server{cfg: cfg, log: opts.Logger, audit: opts.Audit, now: opts.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.Clamd != "" {
		c, err := NewClamd(cfg.Clamd)
		if err != nil {
			return nil, err
		}
		c.Timeout = cfg.Timeout
		s.clamd = c
	}
	if cfg.ClamdConfig != "" {
		n, err := streamMaxLength(cfg.ClamdConfig)
		if err != nil {
			return nil, err
		}
		s.clamdLimit = n
	}
	if cfg.MaxStreamBytes < 0 {
		return nil, fmt.Errorf("max_stream_bytes %d is negative", cfg.MaxStreamBytes)
	}
	s.limit = cfg.MaxStreamBytes
	if s.limit == 0 {
		s.limit = DefaultMaxStreamBytes
		if s.clamdLimit > 0 {
			s.limit = s.clamdLimit
		}
	}
	s.concurrency = cfg.ScanConcurrency
	if s.concurrency <= 0 {
		s.concurrency = 4
	}
	rs, err := openRoots(cfg.AllowedRoots)
	if err != nil {
		return nil, err
	}
	s.roots = rs
	if cfg.QuarantineDir != "" {
		q, err := openQuarantine(cfg.QuarantineDir)
		if err != nil {
			rs.close()
			return nil, err
		}
		for _, r := range rs.list {
			if within(q.dir, r.path) {
				rs.close()
				return nil, fmt.Errorf("quarantine directory %s lies inside the allowed root %s: move it outside so quarantined files cannot be scanned, quarantined again or restored over", q.dir, r.path)
			}
		}
		s.q = q
	} else if cfg.EnableQuarantine {
		rs.close()
		return nil, errors.New("enable_quarantine needs a quarantine directory (--quarantine DIR, servers.av.quarantine_dir)")
	}
	return s, nil
}

// MaxRequestBytes is the size a transport should accept for one request so
// that every scan_bytes upload up to the limit arrives, and uploads up to
// twice the limit get a clear "above the limit" error rather than a dropped
// connection: twice the limit in base64 plus 1 MiB for the JSON-RPC
// envelope. Larger frames are cut off by the transport, which must not
// buffer a 5 GB request to answer it. The SDK's default stdio
// frame cap (16 MiB) and HTTP body cap (4 MiB) are below the default limit.
func (s *Server) MaxRequestBytes() int64 {
	return 2*4*((s.limit+2)/3) + 1<<20
}

// Close releases the open roots.
func (s *Server) Close() {
	s.roots.close()
	if s.q != nil {
		s.q.r.Close()
	}
}

// streamMaxLength reads StreamMaxLength from a clamd.conf; clamd's
// default (100M) when the file does not set it.
func streamMaxLength(conf string) (int64, error) {
	f, err := os.Open(conf)
	if err != nil {
		return 0, fmt.Errorf("reading clamd config: %w", err)
	}
	defer f.Close()
	n := int64(100 << 20)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 || fields[0] != "StreamMaxLength" {
			continue
		}
		v, err := parseSize(fields[1])
		if err != nil {
			return 0, fmt.Errorf("clamd config %s: StreamMaxLength: %w", conf, err)
		}
		n = v
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("reading clamd config: %w", err)
	}
	return n, nil
}

// parseSize reads clamd's SIZE syntax: a number with an optional k/K or
// m/M suffix (clamd.conf(5)).
func parseSize(v string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(v, "k"), strings.HasSuffix(v, "K"):
		mult, v = 1<<10, v[:len(v)-1]
	case strings.HasSuffix(v, "m"), strings.HasSuffix(v, "M"):
		mult, v = 1<<20, v[:len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", v)
	}
	return n * mult, nil
}

func (s *Server) backend() (*Clamd, error) {
	if s.clamd == nil {
		return nil, ErrNotConfigured
	}
	return s.clamd, nil
}

func (s *Server) tooLarge(what string, n int64) error {
	if s.clamdLimit > 0 && n > s.clamdLimit && s.clamdLimit <= s.limit {
		return fmt.Errorf("%s is %d bytes, above clamd's StreamMaxLength of %d bytes", what, n, s.clamdLimit)
	}
	return fmt.Errorf("%s is %d bytes, above the server's limit of %d bytes (--max-stream-bytes, servers.av.max_stream_bytes)", what, n, s.limit)
}

// MCP builds the MCP server exposing s's tools.
func (s *Server) MCP(opts *mcpx.ServerOptions) *mcpx.Server {
	if opts == nil {
		opts = &mcpx.ServerOptions{Logger: s.log}
	}
	if opts.Instructions == "" {
		opts.Instructions = "ClamAV antivirus through clamd. Use ping first to check the engine is up. " +
			"Scans only see files inside the configured allowed roots and give absolute paths. " +
			"quarantine_file and restore_file change files: call them with dry_run first and only act on a confirmed detection."
	}
	srv := mcpx.NewServer(Name, Version, opts)
	s.addTools(srv)
	return srv
}

type none struct{}

// PingResult is the result of ping.
type PingResult struct {
	Clamd     string  `json:"clamd" jsonschema:"the clamd address"`
	Reply     string  `json:"reply" jsonschema:"PONG"`
	LatencyMS float64 `json:"latency_ms" jsonschema:"round-trip time in milliseconds"`
}

// VersionResult is the result of version.
type VersionResult struct {
	Clamd string `json:"clamd"`
	VersionInfo
}

// StatsResult is the result of stats.
type StatsResult struct {
	Clamd string `json:"clamd"`
	Stats
}

// FileScanIn is the input of scan_file.
type FileScanIn struct {
	Path string `json:"path" jsonschema:"absolute path of a regular file inside an allowed root"`
}

// FileScan is one scanned file.
type FileScan struct {
	Path      string  `json:"path" jsonschema:"the path as given"`
	Resolved  string  `json:"resolved_path" jsonschema:"the path with symlinks resolved"`
	Size      int64   `json:"size"`
	SHA256    string  `json:"sha256" jsonschema:"SHA-256 of the scanned content, hex"`
	Infected  bool    `json:"infected"`
	Signature string  `json:"signature,omitempty" jsonschema:"matched ClamAV signature when infected"`
	Duration  float64 `json:"duration_ms"`
}

// DirScanIn is the input of scan_directory.
type DirScanIn struct {
	Path      string `json:"path" jsonschema:"absolute path of a directory inside an allowed root"`
	Recursive *bool  `json:"recursive,omitempty" jsonschema:"descend into subdirectories (default true)"`
	MaxFiles  int    `json:"max_files,omitempty" jsonschema:"stop after this many files (default 10000, at most 100000)"`
}

// Infection is an infected file.
type Infection struct {
	Path      string `json:"path"`
	Signature string `json:"signature"`
}

// Skipped is a file not scanned, with why.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// DirScan is the result of scan_directory.
type DirScan struct {
	Path          string      `json:"path"`
	Resolved      string      `json:"resolved_path"`
	FilesScanned  int         `json:"files_scanned"`
	BytesScanned  int64       `json:"bytes_scanned"`
	InfectedCount int         `json:"infected_count"`
	Infected      []Infection `json:"infected" jsonschema:"infected files with their signatures"`
	Skipped       []Skipped   `json:"skipped,omitempty" jsonschema:"files not scanned: symlinks, special files, over the size limit"`
	Errors        []Skipped   `json:"errors,omitempty" jsonschema:"files clamd or the server could not scan"`
	Truncated     bool        `json:"truncated" jsonschema:"true when max_files stopped the walk"`
	Duration      float64     `json:"duration_ms"`
}

// BytesScanIn is the input of scan_bytes.
type BytesScanIn struct {
	Data string `json:"data_base64" jsonschema:"the content to scan, standard base64"`
	Name string `json:"name,omitempty" jsonschema:"a label for the content (file name), echoed back"`
}

// BytesScan is the result of scan_bytes.
type BytesScan struct {
	Name      string  `json:"name,omitempty"`
	Size      int64   `json:"size"`
	SHA256    string  `json:"sha256"`
	Infected  bool    `json:"infected"`
	Signature string  `json:"signature,omitempty"`
	Duration  float64 `json:"duration_ms"`
}

// QuarantineIn is the input of quarantine_file.
type QuarantineIn struct {
	Path   string `json:"path" jsonschema:"absolute path of the file to quarantine, inside an allowed root"`
	Reason string `json:"reason,omitempty" jsonschema:"why (kept in the metadata and the audit log)"`
	Force  bool   `json:"force,omitempty" jsonschema:"quarantine even when clamd finds the file clean or cannot be asked; needs a reason"`
	DryRun bool   `json:"dry_run,omitempty" jsonschema:"check and report what would happen without moving anything"`
}

// QuarantineResult is the result of quarantine_file.
type QuarantineResult struct {
	DryRun        bool   `json:"dry_run"`
	Path          string `json:"path" jsonschema:"the file (symlinks resolved)"`
	Signature     string `json:"signature,omitempty" jsonschema:"what clamd detected"`
	QuarantineDir string `json:"quarantine_dir,omitempty"`
	Entry         *Entry `json:"entry,omitempty" jsonschema:"the new quarantine entry (absent in a dry run)"`
}

// RestoreIn is the input of restore_file.
type RestoreIn struct {
	ID     string `json:"id" jsonschema:"quarantine entry id from list_quarantine"`
	DryRun bool   `json:"dry_run,omitempty" jsonschema:"check and report what would happen without restoring"`
}

// RestoreResult is the result of restore_file.
type RestoreResult struct {
	DryRun        bool   `json:"dry_run"`
	RestoredTo    string `json:"restored_to"`
	OwnerRestored bool   `json:"owner_restored" jsonschema:"whether the original uid/gid could be set (needs root)"`
	Entry         Entry  `json:"entry"`
}

// ListQuarantineIn is the input of list_quarantine.
type ListQuarantineIn struct {
	Limit int `json:"limit,omitempty" jsonschema:"at most this many entries, newest first (default 100)"`
}

// ListQuarantine is the result of list_quarantine.
type ListQuarantine struct {
	QuarantineDir string   `json:"quarantine_dir"`
	Total         int      `json:"total"`
	Entries       []Entry  `json:"entries"`
	Damaged       []string `json:"damaged,omitempty" jsonschema:"entries whose metadata could not be read"`
}

// DetectionsIn is the input of recent_detections.
type DetectionsIn struct {
	Limit      int    `json:"limit,omitempty" jsonschema:"at most this many detections, newest first (default 50, at most 1000)"`
	Since      string `json:"since,omitempty" jsonschema:"only detections after this time: RFC 3339 (2026-11-21T10:00:00Z) or a duration back from now (24h)"`
	Signature  string `json:"signature,omitempty" jsonschema:"only signatures containing this text (case-insensitive)"`
	PathPrefix string `json:"path_prefix,omitempty" jsonschema:"only files under this path"`
}

// Detections is the result of recent_detections.
type Detections struct {
	LogFile    string      `json:"log_file"`
	LinesRead  int64       `json:"lines_read"`
	Truncated  bool        `json:"truncated" jsonschema:"true when only the end of a large log was read"`
	Detections []Detection `json:"detections"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (s *Server) addTools(srv *mcpx.Server) {
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "ping", Title: "Ping clamd", Hints: mcpx.ReadOnly,
		Description: "Check that clamd answers (PING → PONG) and how fast."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ none) (PingResult, error) {
			c, err := s.backend()
			if err != nil {
				return PingResult{}, err
			}
			start := time.Now()
			if err := c.Ping(ctx); err != nil {
				return PingResult{}, err
			}
			return PingResult{Clamd: c.Addr(), Reply: "PONG", LatencyMS: ms(time.Since(start))}, nil
		})
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "version", Title: "ClamAV version", Hints: mcpx.ReadOnly,
		Description: "ClamAV engine version and, with official databases, the signature database version and date."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ none) (VersionResult, error) {
			c, err := s.backend()
			if err != nil {
				return VersionResult{}, err
			}
			v, err := c.Version(ctx)
			return VersionResult{Clamd: c.Addr(), VersionInfo: v}, err
		})
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "stats", Title: "clamd statistics", Hints: mcpx.ReadOnly,
		Description: "clamd's thread pool state: live, idle and maximum threads, queued requests, memory statistics; the raw STATS text too."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ none) (StatsResult, error) {
			c, err := s.backend()
			if err != nil {
				return StatsResult{}, err
			}
			st, err := c.Stats(ctx)
			return StatsResult{Clamd: c.Addr(), Stats: st}, err
		})
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "scan_file", Title: "Scan a file", Hints: mcpx.ReadOnly,
		Description: "Scan one file with ClamAV. The path must be absolute and lie inside an allowed root after symlinks are resolved; the file is streamed to clamd."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in FileScanIn) (FileScan, error) {
			t, err := s.roots.resolve(in.Path)
			if err != nil {
				return FileScan{}, err
			}
			c, err := s.backend()
			if err != nil {
				return FileScan{}, err
			}
			return s.scanFile(ctx, c, in.Path, t)
		})
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "scan_directory", Title: "Scan a directory", Hints: mcpx.ReadOnly,
		Description: "Scan every regular file under a directory inside an allowed root and list the infected ones with their signatures. Symlinks are not followed; files over the size limit are listed as skipped."},
		s.scanDirectory)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "scan_bytes", Title: "Scan uploaded bytes", Hints: mcpx.ReadOnly,
		Description: "Scan base64-encoded content (an attachment, a download) with ClamAV. Content above the size limit is refused."},
		s.scanBytes)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "quarantine_file", Title: "Quarantine a file", Hints: mcpx.Destructive,
		Description: "Move a file inside an allowed root into the quarantine directory, keeping its path, mode, owner, size, SHA-256 and the detected signature so it can be restored. The file is scanned first and a clean file is refused unless force is set with a reason. Disabled unless the server runs with --enable-quarantine; dry_run always works."},
		s.quarantineFile)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "restore_file", Title: "Restore a quarantined file", Hints: mcpx.Destructive,
		Description: "Put a quarantined file back at its original path with its mode (and owner when possible). Refuses to overwrite an existing file. Disabled unless the server runs with --enable-quarantine; dry_run always works."},
		s.restoreFile)
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "list_quarantine", Title: "List quarantined files", Hints: mcpx.ReadOnly,
		Description: "List quarantine entries, newest first, with their original path, signature and hash."},
		func(_ context.Context, _ *mcp.CallToolRequest, in ListQuarantineIn) (ListQuarantine, error) {
			if s.q == nil {
				return ListQuarantine{}, errors.New("no quarantine directory is configured: start the server with --quarantine DIR (servers.av.quarantine_dir)")
			}
			if in.Limit < 0 {
				return ListQuarantine{}, fmt.Errorf("limit %d is negative", in.Limit)
			}
			es, bad, err := s.q.list()
			if err != nil {
				return ListQuarantine{}, err
			}
			out := ListQuarantine{QuarantineDir: s.q.dir, Total: len(es), Entries: es, Damaged: bad}
			limit := in.Limit
			if limit == 0 {
				limit = 100
			}
			if len(out.Entries) > limit {
				out.Entries = out.Entries[:limit]
			}
			if out.Entries == nil {
				out.Entries = []Entry{}
			}
			return out, nil
		})
	mcpx.AddTool(srv, mcpx.ToolDef{Name: "recent_detections", Title: "Recent detections", Hints: mcpx.ReadOnly,
		Description: "Detections (\"path: Signature FOUND\") from the clamd log file, newest first, filtered by time, signature or path."},
		s.recentDetections)
}

func (s *Server) scanFile(ctx context.Context, c *Clamd, given string, t target) (FileScan, error) {
	f, err := t.open()
	if err != nil {
		return FileScan{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return FileScan{}, fmt.Errorf("stat %q: %w", t.path, err)
	}
	if fi.IsDir() {
		return FileScan{}, fmt.Errorf("%q is a directory: use scan_directory", t.path)
	}
	if !fi.Mode().IsRegular() {
		return FileScan{}, fmt.Errorf("%q is not a regular file (%s)", t.path, fi.Mode().Type())
	}
	if fi.Size() > s.limit || (s.clamdLimit > 0 && fi.Size() > s.clamdLimit) {
		return FileScan{}, s.tooLarge(fmt.Sprintf("file %q", t.path), fi.Size())
	}
	start := time.Now()
	h := sha256.New()
	v, err := c.Instream(ctx, io.TeeReader(io.LimitReader(f, s.limit+1), h))
	if err != nil {
		return FileScan{}, fmt.Errorf("scanning %q: %w", t.path, err)
	}
	return FileScan{Path: given, Resolved: t.path, Size: fi.Size(), SHA256: hex.EncodeToString(h.Sum(nil)),
		Infected: v.Infected, Signature: v.Signature, Duration: ms(time.Since(start))}, nil
}

func (s *Server) scanDirectory(ctx context.Context, _ *mcp.CallToolRequest, in DirScanIn) (DirScan, error) {
	if in.MaxFiles < 0 || in.MaxFiles > 100000 {
		return DirScan{}, fmt.Errorf("max_files %d is out of range 0-100000", in.MaxFiles)
	}
	maxFiles := in.MaxFiles
	if maxFiles == 0 {
		maxFiles = 10000
	}
	recursive := in.Recursive == nil || *in.Recursive
	t, err := s.roots.resolve(in.Path)
	if err != nil {
		return DirScan{}, err
	}
	fi, err := t.root.r.Stat(t.rel)
	if err != nil {
		return DirScan{}, fmt.Errorf("stat %q: %w", t.path, err)
	}
	if !fi.IsDir() {
		return DirScan{}, fmt.Errorf("%q is not a directory: use scan_file", t.path)
	}
	c, err := s.backend()
	if err != nil {
		return DirScan{}, err
	}
	// Fail fast with the backend's own error rather than one per file.
	if err := c.Ping(ctx); err != nil {
		return DirScan{}, err
	}
	start := time.Now()
	out := DirScan{Path: in.Path, Resolved: t.path, Infected: []Infection{}}
	abs := func(rel string) string { return filepath.Join(t.root.path, filepath.FromSlash(rel)) }

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan string) // slash-separated paths relative to the root
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range s.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rel := range jobs {
				p := abs(rel)
				res, err := s.scanFile(ctx, c, p, target{path: p, root: t.root, rel: filepath.FromSlash(rel)})
				mu.Lock()
				switch {
				case err == nil:
					out.FilesScanned++
					out.BytesScanned += res.Size
					if res.Infected {
						out.Infected = append(out.Infected, Infection{Path: p, Signature: res.Signature})
					}
				case isBackendFailure(err):
					cancel(err)
				default:
					out.Errors = append(out.Errors, Skipped{Path: p, Reason: err.Error()})
				}
				mu.Unlock()
			}
		}()
	}
	fsys := t.root.r.FS()
	base := filepath.ToSlash(t.rel)
	n := 0
	walkErr := fs.WalkDir(fsys, base, func(rel string, d fs.DirEntry, err error) error {
		if ctx.Err() != nil {
			return fs.SkipAll
		}
		if err != nil {
			if rel == base {
				return err
			}
			mu.Lock()
			out.Errors = append(out.Errors, Skipped{Path: abs(rel), Reason: err.Error()})
			mu.Unlock()
			return nil
		}
		if d.IsDir() {
			if rel != base && !recursive {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			reason := "not a regular file"
			if d.Type()&fs.ModeSymlink != 0 {
				reason = "symbolic link (not followed; scan its target directly)"
			}
			mu.Lock()
			out.Skipped = append(out.Skipped, Skipped{Path: abs(rel), Reason: reason})
			mu.Unlock()
			return nil
		}
		info, err := d.Info()
		if err != nil {
			mu.Lock()
			out.Errors = append(out.Errors, Skipped{Path: abs(rel), Reason: err.Error()})
			mu.Unlock()
			return nil
		}
		if info.Size() > s.limit || (s.clamdLimit > 0 && info.Size() > s.clamdLimit) {
			mu.Lock()
			out.Skipped = append(out.Skipped, Skipped{Path: abs(rel), Reason: s.tooLarge("file", info.Size()).Error()})
			mu.Unlock()
			return nil
		}
		if n >= maxFiles {
			out.Truncated = true
			return fs.SkipAll
		}
		n++
		select {
		case jobs <- rel:
		case <-ctx.Done():
			return fs.SkipAll
		}
		return nil
	})
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return DirScan{}, fmt.Errorf("directory scan of %q aborted: %w", t.path, err)
	}
	if walkErr != nil {
		return DirScan{}, fmt.Errorf("walking %q: %w", t.path, walkErr)
	}
	out.InfectedCount = len(out.Infected)
	out.Duration = ms(time.Since(start))
	return out, nil
}

// isBackendFailure tells errors that doom every further scan (clamd down,
// a protocol violation, cancellation) from per-file ones.
func isBackendFailure(err error) bool {
	var ue *UnreachableError
	var pe *ProtocolError
	return errors.As(err, &ue) || errors.As(err, &pe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (s *Server) scanBytes(ctx context.Context, _ *mcp.CallToolRequest, in BytesScanIn) (BytesScan, error) {
	if in.Data == "" {
		return BytesScan{}, errors.New("data_base64 is required (the content to scan, base64-encoded)")
	}
	// Refuse before decoding: the decoded size is known from the length.
	if n := int64(base64.StdEncoding.DecodedLen(len(in.Data))) - int64(strings.Count(in.Data[max(0, len(in.Data)-2):], "=")); n > s.limit || (s.clamdLimit > 0 && n > s.clamdLimit) {
		return BytesScan{}, s.tooLarge("the upload", n)
	}
	data, err := base64.StdEncoding.DecodeString(in.Data)
	if err != nil {
		return BytesScan{}, fmt.Errorf("data_base64 is not valid standard base64: %w", err)
	}
	c, err := s.backend()
	if err != nil {
		return BytesScan{}, err
	}
	start := time.Now()
	v, err := c.Instream(ctx, bytes.NewReader(data))
	if err != nil {
		return BytesScan{}, err
	}
	sum := sha256.Sum256(data)
	return BytesScan{Name: in.Name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		Infected: v.Infected, Signature: v.Signature, Duration: ms(time.Since(start))}, nil
}

func (s *Server) quarantineFile(ctx context.Context, req *mcp.CallToolRequest, in QuarantineIn) (res QuarantineResult, err error) {
	if !in.DryRun {
		defer func() { err = s.record(req, "quarantine_file", in, res.Entry, err) }()
	}
	if !in.DryRun && !s.cfg.EnableQuarantine {
		return QuarantineResult{}, errors.New("quarantine actions are disabled: start the server with --enable-quarantine and --quarantine DIR (servers.av.enable_quarantine), or call with dry_run")
	}
	if in.Force && strings.TrimSpace(in.Reason) == "" {
		return QuarantineResult{}, errors.New("force needs a reason")
	}
	t, err := s.roots.resolve(in.Path)
	if err != nil {
		return QuarantineResult{}, err
	}
	fi, err := t.root.r.Lstat(t.rel)
	if err != nil {
		return QuarantineResult{}, fmt.Errorf("stat %q: %w", t.path, err)
	}
	if !fi.Mode().IsRegular() {
		return QuarantineResult{}, fmt.Errorf("%q is not a regular file", t.path)
	}
	res = QuarantineResult{DryRun: in.DryRun, Path: t.path}
	if s.q != nil {
		res.QuarantineDir = s.q.dir
	}
	c, cerr := s.backend()
	if cerr == nil {
		var scan FileScan
		scan, cerr = s.scanFile(ctx, c, in.Path, t)
		if cerr == nil {
			if scan.Infected {
				res.Signature = scan.Signature
			} else if !in.Force {
				return res, fmt.Errorf("clamd finds %q clean; pass force with a reason to quarantine it anyway", t.path)
			}
		}
	}
	if cerr != nil && !in.Force {
		return res, fmt.Errorf("cannot confirm a detection before quarantining (pass force with a reason to quarantine without one): %w", cerr)
	}
	if in.DryRun {
		return res, nil
	}
	if s.q == nil {
		return res, errors.New("no quarantine directory is configured: start the server with --quarantine DIR")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.q.add(t, res.Signature, in.Reason, s.now())
	if err != nil {
		return res, err
	}
	res.Entry = &e
	s.log.Info("file quarantined", "path", e.OriginalPath, "id", e.ID, "signature", e.Signature)
	return res, nil
}

func (s *Server) restoreFile(ctx context.Context, req *mcp.CallToolRequest, in RestoreIn) (res RestoreResult, err error) {
	if !in.DryRun {
		defer func() {
			var e *Entry
			if res.Entry.ID != "" {
				e = &res.Entry
			}
			err = s.record(req, "restore_file", in, e, err)
		}()
	}
	if !in.DryRun && !s.cfg.EnableQuarantine {
		return RestoreResult{}, errors.New("quarantine actions are disabled: start the server with --enable-quarantine and --quarantine DIR (servers.av.enable_quarantine), or call with dry_run")
	}
	if s.q == nil {
		return RestoreResult{}, errors.New("no quarantine directory is configured: start the server with --quarantine DIR (servers.av.quarantine_dir)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.q.get(in.ID)
	if err != nil {
		return RestoreResult{}, err
	}
	res = RestoreResult{DryRun: in.DryRun, RestoredTo: e.OriginalPath, Entry: e}
	t, err := s.roots.resolveNew(e.OriginalPath)
	if err != nil {
		return res, fmt.Errorf("cannot restore %s: %w", e.ID, err)
	}
	if t.path != e.OriginalPath {
		return res, fmt.Errorf("cannot restore %s: %q now resolves to %q", e.ID, e.OriginalPath, t.path)
	}
	if _, err := t.root.r.Lstat(t.rel); err == nil {
		return res, fmt.Errorf("refusing to overwrite %q: a file already exists there; move it away first", t.path)
	}
	if in.DryRun {
		return res, nil
	}
	res.OwnerRestored, err = s.q.restore(e, t)
	if err != nil {
		return res, err
	}
	s.log.Info("file restored", "path", e.OriginalPath, "id", e.ID)
	return res, nil
}

// record writes a state-changing call to the audit log and returns the
// call's error. A failed audit write is reported to the caller, since the
// action happened without its record.
func (s *Server) record(req *mcp.CallToolRequest, tool string, args any, detail any, callErr error) error {
	if s.audit == nil {
		return callErr
	}
	ev := audit.Event{Kind: "av." + strings.TrimSuffix(tool, "_file"), Method: "tools/call", Upstream: Name, Tool: tool, Decision: "allow"}
	ev.Subject, ev.Session = mcpx.Caller(req)
	if b, err := json.Marshal(args); err == nil {
		ev.Args = b
	}
	if detail != nil && !isNilEntry(detail) {
		if b, err := json.Marshal(detail); err == nil {
			ev.Detail = b
		}
	}
	return audit.RecordOutcome(s.audit, ev, callErr)
}

func isNilEntry(v any) bool {
	e, ok := v.(*Entry)
	return ok && e == nil
}

func (s *Server) recentDetections(_ context.Context, _ *mcp.CallToolRequest, in DetectionsIn) (Detections, error) {
	if s.cfg.LogFile == "" {
		return Detections{}, errors.New("no clamd log file is configured: start the server with --log /var/log/clamav/clamav.log (servers.av.log_file)")
	}
	if in.Limit < 0 || in.Limit > 1000 {
		return Detections{}, fmt.Errorf("limit %d is out of range 0-1000", in.Limit)
	}
	f := detectionFilter{signature: in.Signature, path: in.PathPrefix, limit: in.Limit}
	if f.limit == 0 {
		f.limit = 50
	}
	if in.Since != "" {
		if t, err := time.Parse(time.RFC3339, in.Since); err == nil {
			f.since = t
		} else if d, err := time.ParseDuration(in.Since); err == nil && d > 0 {
			f.since = s.now().Add(-d)
		} else {
			return Detections{}, fmt.Errorf("since %q is neither an RFC 3339 time nor a positive duration such as 24h", in.Since)
		}
	}
	ds, lines, trunc, err := recentDetections(s.cfg.LogFile, f)
	if err != nil {
		return Detections{}, err
	}
	if ds == nil {
		ds = []Detection{}
	}
	return Detections{LogFile: s.cfg.LogFile, LinesRead: lines, Truncated: trunc, Detections: ds}, nil
}
