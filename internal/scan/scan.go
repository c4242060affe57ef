package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
	"github.com/mcpsoc/mcpsoc/internal/pin"
)

// Options configure a scan. Nil means defaults: discover configs on this
// machine, static checks only.
type Options struct {
	// Sources are the config files to read; empty means Discover(Env).
	Sources []Source
	// Env is used for discovery when Sources is empty.
	Env Env
	// Static tunes the static checks.
	Static StaticOptions
	// Connect starts stdio servers and reaches remote ones (explicit
	// consent, SEP-1024); without it nothing is started or contacted.
	Connect bool
	// ConnectOptions apply to every server.
	ConnectOptions ConnectOptions
	// Concurrency bounds servers connected at once; zero means 32.
	Concurrency int
	// Analyzer analyzes what connected servers list; nil uses mcpsec.New(nil).
	Analyzer *mcpsec.Analyzer
	// Check, when set, compares each connected server with a reference
	// (a lockfile, signed manifests) and returns findings.
	Check func(client string, e Entry, s *mcpsec.Server) []Finding
	// OnStart, when set, is called before each server is started or
	// contacted, so a command line tool can show the full command (SEP-1024
	// consent). It may be called from several goroutines.
	OnStart func(file Source, s ServerResult)
	// Logger receives progress at debug level; nil discards.
	Logger *slog.Logger
}

// ServerResult is one configured server in a report.
type ServerResult struct {
	Entry
	// Command shows the full command line with secrets redacted.
	CommandLine string `json:"commandLine,omitempty"`
	// URL with credentials redacted.
	RedactedURL string `json:"url,omitempty"`
	// Identity is the package, image or URL identity used for pinning.
	Identity pin.Identity `json:"identity"`
	// Connected is true when the server was listed.
	Connected bool `json:"connected"`
	// ConnectError says why connecting failed.
	ConnectError string `json:"connectError,omitempty"`
	// ElapsedMS is how long connecting and listing took.
	ElapsedMS int64 `json:"elapsedMs,omitempty"`
	// Info and counts come from the listing.
	Info              *mcpsec.ServerInfo `json:"serverInfo,omitempty"`
	Tools             int                `json:"tools"`
	Prompts           int                `json:"prompts"`
	Resources         int                `json:"resources"`
	ResourceTemplates int                `json:"resourceTemplates"`
	Posture           *Posture           `json:"posture,omitempty"`
	// Listing is what the server showed, for pinning; not in JSON reports.
	Listing *mcpsec.Server `json:"-"`
}

// FileResult is one config file in a report.
type FileResult struct {
	Source
	// Error is set when the file could not be parsed.
	Error   string         `json:"error,omitempty"`
	Inputs  []Input        `json:"inputs,omitempty"`
	Servers []ServerResult `json:"servers"`
}

// Report is the outcome of a scan; its JSON form is documented in
// docs/scanner.md (schemaVersion 1).
type Report struct {
	SchemaVersion int          `json:"schemaVersion"`
	Generated     time.Time    `json:"generated"`
	Connected     bool         `json:"connected"`
	Files         []FileResult `json:"files"`
	Findings      []Finding    `json:"findings"`
	Summary       Summary      `json:"summary"`
	// JudgeErrors are failures of the optional LLM judge (--judge); the
	// deterministic findings are complete without it.
	JudgeErrors []string `json:"judgeErrors,omitempty"`
}

// Summary counts a report.
type Summary struct {
	Files      int            `json:"files"`
	Servers    int            `json:"servers"`
	Findings   int            `json:"findings"`
	BySeverity map[string]int `json:"bySeverity"`
	ByTier     map[string]int `json:"byTier"`
}

// Run scans. It returns an error only when the scan as a whole cannot run
// (cancelled); broken files and servers that fail become findings.
func Run(ctx context.Context, opts *Options) (*Report, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.Analyzer == nil {
		o.Analyzer = mcpsec.New(nil)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sources := o.Sources
	if len(sources) == 0 {
		sources = Discover(o.Env)
	}
	rep := &Report{SchemaVersion: 1, Generated: time.Now().UTC(), Connected: o.Connect, Files: []FileResult{}, Findings: []Finding{}}
	for _, src := range sources {
		fr := FileResult{Source: src, Servers: []ServerResult{}}
		cf, err := ParseFile(src)
		if err != nil {
			var pe *ParseError
			msg := err.Error()
			if errors.As(err, &pe) {
				msg = pe.Err.Error()
			}
			fr.Error = msg
			f := NewFinding("MCP-CONFIG-INVALID-001", mcpsec.Location{Kind: KindConfig}, msg)
			f.Client, f.Scope, f.File = src.Client, src.Scope, src.Path
			rep.Findings = append(rep.Findings, f)
			rep.Files = append(rep.Files, fr)
			continue
		}
		fr.Inputs = cf.Inputs
		for _, e := range cf.Entries {
			sr := ServerResult{Entry: e, Identity: PinIdentity(e), CommandLine: redactedCommandLine(e)}
			if e.URL != "" {
				sr.RedactedURL = RedactURL(e.URL)
			}
			for _, f := range CheckEntry(e, &o.Static) {
				f.Client, f.Scope, f.File = src.Client, src.Scope, src.Path
				if e.Project != "" {
					f.Scope = "local"
				}
				rep.Findings = append(rep.Findings, f)
			}
			fr.Servers = append(fr.Servers, sr)
		}
		rep.Files = append(rep.Files, fr)
	}
	if o.Connect {
		if err := connectAll(ctx, rep, &o, log); err != nil {
			return nil, err
		}
	}
	rep.Findings = append(rep.Findings, toxicFlows(rep)...)
	sortFindings(rep.Findings)
	rep.summarize()
	return rep, nil
}

// connectAll lists every enabled server concurrently, then analyzes each
// client's servers together (cross-server shadowing and collisions are
// per client: that is what one model sees).
func connectAll(ctx context.Context, rep *Report, o *Options, log *slog.Logger) error {
	type job struct{ fi, si int }
	var jobs []job
	for fi := range rep.Files {
		for si, s := range rep.Files[fi].Servers {
			if !s.Disabled {
				jobs = append(jobs, job{fi, si})
			}
		}
	}
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			fr := &rep.Files[j.fi]
			sr := &fr.Servers[j.si]
			if o.OnStart != nil {
				o.OnStart(fr.Source, *sr)
			}
			start := time.Now()
			var extra []Finding
			if sr.Transport != "stdio" {
				p, err := Probe(ctx, sr.Entry, &o.ConnectOptions)
				if err == nil {
					sr.Posture = p
					if p.Unauthenticated {
						extra = append(extra, NewFinding("MCP-REMOTE-AUTH-001", mcpsec.Location{Server: sr.Name, Kind: KindConfig, Path: joinPath(sr.Path, "url")}, "initialize without credentials succeeded at "+RedactURL(sr.URL)))
					}
					if p.ResourceMetadata == "" {
						ev := fmt.Sprintf("HTTP %d without credentials; no resource_metadata in WWW-Authenticate and no /.well-known/oauth-protected-resource", p.Status)
						extra = append(extra, NewFinding("MCP-REMOTE-PRM-001", mcpsec.Location{Server: sr.Name, Kind: KindConfig, Path: joinPath(sr.Path, "url")}, ev))
					}
				}
			}
			listing, err := Connect(ctx, sr.Entry, &o.ConnectOptions)
			sr.ElapsedMS = time.Since(start).Milliseconds()
			if err != nil {
				sr.ConnectError = err.Error()
				log.Debug("server not scanned", "server", sr.Name, "error", err)
				extra = append(extra, NewFinding("MCP-CONNECT-001", mcpsec.Location{Server: sr.Name, Kind: KindConfig, Path: sr.Path}, truncate(err.Error(), 300)))
			}
			if listing != nil && err == nil {
				sr.Connected = true
				sr.Listing = listing
				sr.Info = listing.Info
				sr.Tools, sr.Prompts = len(listing.Tools), len(listing.Prompts)
				sr.Resources, sr.ResourceTemplates = len(listing.Resources), len(listing.ResourceTemplates)
			}
			mu.Lock()
			for _, f := range extra {
				f.Client, f.Scope, f.File = fr.Client, fr.Scope, fr.Path
				rep.Findings = append(rep.Findings, f)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	// Analyze per client.
	type member struct {
		fr *FileResult
		sr *ServerResult
	}
	byClient := map[string][]member{}
	var clients []string
	for fi := range rep.Files {
		fr := &rep.Files[fi]
		for si := range fr.Servers {
			sr := &fr.Servers[si]
			if sr.Listing == nil {
				continue
			}
			if _, ok := byClient[fr.Client]; !ok {
				clients = append(clients, fr.Client)
			}
			byClient[fr.Client] = append(byClient[fr.Client], member{fr, sr})
		}
	}
	for _, c := range clients {
		ms := byClient[c]
		servers := make([]*mcpsec.Server, len(ms))
		owner := map[string]member{}
		seen := map[string]int{}
		for i, m := range ms {
			s := *m.sr.Listing
			seen[s.Name]++
			if seen[s.Name] > 1 { // same name in user and project scope
				s.Name = fmt.Sprintf("%s#%d", s.Name, seen[s.Name])
			}
			servers[i] = &s
			owner[s.Name] = m
		}
		fs, err := o.Analyzer.AnalyzeServers(ctx, servers)
		if err != nil {
			var je *mcpsec.JudgeError
			if !errors.As(err, &je) || ctx.Err() != nil {
				return fmt.Errorf("analyzing %s servers: %w", c, err)
			}
			rep.JudgeErrors = append(rep.JudgeErrors, c+": "+err.Error())
		}
		for _, f := range fs {
			m := owner[f.Location.Server]
			rep.Findings = append(rep.Findings, Finding{Finding: f, Client: c, Scope: m.fr.Scope, File: m.fr.Path})
		}
		if o.Check != nil {
			for _, m := range ms {
				for _, f := range o.Check(c, m.sr.Entry, m.sr.Listing) {
					f.Client, f.Scope, f.File = c, m.fr.Scope, m.fr.Path
					rep.Findings = append(rep.Findings, f)
				}
			}
		}
	}
	return nil
}

func (r *Report) summarize() {
	s := Summary{Files: len(r.Files), Findings: len(r.Findings), BySeverity: map[string]int{}, ByTier: map[string]int{}}
	for _, f := range r.Files {
		s.Servers += len(f.Servers)
	}
	for _, f := range r.Findings {
		s.BySeverity[string(f.Severity)]++
		s.ByTier[string(f.Tier)]++
	}
	r.Summary = s
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// redactedCommandLine is the command as a user would type it, secrets
// replaced, so consent prompts and reports show what will run.
func redactedCommandLine(e Entry) string {
	if e.Command == "" {
		return ""
	}
	args := e.Args
	more := 0
	if len(args) > maxArgs {
		args, more = args[:maxArgs], len(args)-maxArgs
	}
	var b strings.Builder
	b.WriteString(quoteArg(e.Command))
	for _, a := range redactArgs(args) {
		b.WriteString(" " + quoteArg(a))
	}
	if more > 0 {
		fmt.Fprintf(&b, " … (%d more arguments)", more)
	}
	return b.String()
}
