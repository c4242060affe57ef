package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/llm"
	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
	"github.com/mcpsoc/mcpsoc/internal/pin"
	"github.com/mcpsoc/mcpsoc/internal/scan"
)

func init() { register("scan", newScanCmd) }

// maxToolsFileBytes bounds one saved tools/list file. Real listings are
// kilobytes to a few megabytes; anything larger is refused with an error for
// that file rather than read into memory.
const maxToolsFileBytes = 64 << 20

func newScanCmd() *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Scan MCP client configs and servers for secrets, unpinned packages, look-alikes, poisoning and rug pulls",
		Long: `Scan the MCP servers configured in client applications.

Without --config, the configs of Claude Desktop, Claude Code (user, project,
local and managed scopes), Cursor, VS Code (mcp.json, settings.json,
.vscode/mcp.json), Copilot CLI, Windsurf, Cline, Zed, Continue, Gemini CLI,
Codex, Antigravity, Kiro, OpenCode, Amazon Q and Amp are discovered in the
home folder and in --project (default: the current folder).

Static checks run without starting anything: hard-coded secrets (redacted in
the report), unpinned packages and images, look-alike package names and
hosts, plaintext http:// remote servers, download-and-execute wrappers,
auto-approval, broken files and missing commands.

--connect starts every stdio server (with a minimal environment and
--timeout) and reaches every remote server: their instructions, tools,
prompts and resources are analyzed together per client, and remote servers
are probed without credentials (do they answer? do they publish RFC 9728
protected-resource metadata?). Nothing is started or contacted without it.

--lock FILE (with --connect) compares servers with a lockfile written by
'mcpsoc pin' and reports added, removed, changed and renamed tools.

Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 on
errors (bad flags, a --config file that cannot be read).

Subcommands:
  tools   analyze saved tools/list results without running any server`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd, f)
		},
	}
	cmd.Flags().StringArrayVar(&f.configs, "config", nil, "client config file to scan instead of discovering (repeatable)")
	cmd.Flags().StringVar(&f.client, "client", "", "client id for --config files when the path does not tell (claude-desktop, vscode, zed, codex…)")
	cmd.Flags().StringVar(&f.project, "project", "", "project folder whose project-scope configs are discovered (default: current folder)")
	cmd.Flags().BoolVar(&f.connect, "connect", false, "start stdio servers and contact remote servers to list and analyze what they offer")
	cmd.Flags().DurationVar(&f.timeout, "timeout", scan.DefaultConnectTimeout, "with --connect: time allowed to start and list one server")
	cmd.Flags().StringVar(&f.lock, "lock", "", "with --connect: compare servers with this lockfile (see 'mcpsoc pin')")
	cmd.Flags().StringVar(&f.format, "format", "table", "output format: table, json or sarif")
	cmd.Flags().StringVar(&f.failOn, "fail-on", "hard", "exit 1 when a finding reaches this level: hard, review, none, or a severity (info, low, medium, high, critical)")
	f.judge.flags(cmd)
	f.soc.flags(cmd)
	cmd.Flags().Lookup("server").Usage = "also send the findings as events to the running mcpsoc serve at this `URL`"
	cmd.Flags().BoolVar(&f.noColor, "no-color", false, "never color the table (colors are used only on a terminal and without NO_COLOR)")
	cmd.AddCommand(newScanToolsCmd())
	return cmd
}

type scanFlags struct {
	configs []string
	client  string
	project string
	connect bool
	timeout time.Duration
	lock    string
	format  string
	failOn  string
	noColor bool
	judge   judgeFlags
	soc     apiClient
}

// judgeFlags enable the optional LLM judge. Nothing is sent to a provider
// unless --judge is given and --llm-config names a file with an llm section.
type judgeFlags struct {
	on   bool
	conf string
}

func (j *judgeFlags) flags(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&j.on, "judge", false, "ask the configured LLM about borderline texts (sends those texts to the provider; off by default)")
	cmd.Flags().StringVar(&j.conf, "llm-config", "", "with --judge: mcpsoc YAML config `file` whose llm section names the provider")
}

// analyzer returns the content analyzer: offline unless --judge.
func (j *judgeFlags) analyzer(stderr io.Writer) (*mcpsec.Analyzer, error) {
	if !j.on {
		if j.conf != "" {
			return nil, errors.New("--llm-config is only used with --judge")
		}
		return mcpsec.New(nil), nil
	}
	if j.conf == "" {
		return nil, errors.New("--judge needs --llm-config FILE with an llm section (provider, base_url, model, api_key)")
	}
	cfg, err := config.Load(j.conf)
	if err != nil {
		return nil, err
	}
	if !cfg.LLM.Enabled() {
		return nil, fmt.Errorf("--judge: %s has no llm.provider", j.conf)
	}
	p, err := llm.New(cfg.LLM, nil)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "mcpsoc: --judge: borderline texts are sent to %s at %s\n", p.Name(), cfg.LLM.BaseURL)
	return mcpsec.New(&mcpsec.Options{Judge: llm.NewJudge(p, cfg.LLM.MaxToolsPerRequest)}), nil
}

// scanSources turns --config files into sources, or returns nil to discover.
func scanSources(f scanFlags) ([]scan.Source, error) {
	var out []scan.Source
	for _, p := range f.configs {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("--config %s: %w", p, err)
		}
		if st.IsDir() {
			return nil, fmt.Errorf("--config %s: is a folder; give the config file", p)
		}
		client := f.client
		if client == "" {
			client = scan.GuessClient(p)
		}
		out = append(out, scan.Source{Client: client, Scope: "file", Path: p})
	}
	return out, nil
}

func runScan(cmd *cobra.Command, f scanFlags) error {
	fail, err := parseFailOn(f.failOn)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	switch f.format {
	case "table", "json", "sarif":
	default:
		return &ExitError{Code: 2, Err: fmt.Errorf("--format %q: want table, json or sarif", f.format)}
	}
	if f.lock != "" && !f.connect {
		return &ExitError{Code: 2, Err: errors.New("--lock compares live tool definitions: add --connect")}
	}
	sources, err := scanSources(f)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	an, err := f.judge.analyzer(cmd.ErrOrStderr())
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	env := scan.HostEnv(runtime.GOOS)
	if f.project != "" {
		env.Workdir = f.project
	}
	v, _ := buildVersion()
	opts := &scan.Options{
		Sources:  sources,
		Env:      env,
		Static:   scan.StaticOptions{LookPath: exec.LookPath},
		Connect:  f.connect,
		Analyzer: an,
		ConnectOptions: scan.ConnectOptions{
			Timeout: f.timeout, ClientName: "mcpsoc-scan", ClientVersion: v,
		},
	}
	if f.lock != "" {
		lf, err := pin.ReadFile(f.lock)
		if err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		opts.Check = scan.LockCheck(lf)
	}
	if f.connect {
		stderr := cmd.ErrOrStderr()
		var mu sync.Mutex
		opts.OnStart = func(src scan.Source, s scan.ServerResult) {
			mu.Lock()
			defer mu.Unlock()
			if s.Transport == "stdio" {
				fmt.Fprintf(stderr, "mcpsoc: starting %s (%s): %s\n", s.Name, src.Path, s.CommandLine)
			} else {
				fmt.Fprintf(stderr, "mcpsoc: contacting %s (%s): %s\n", s.Name, src.Path, s.RedactedURL)
			}
		}
	}
	rep, err := scan.Run(cmd.Context(), opts)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	out := cmd.OutOrStdout()
	switch f.format {
	case "table":
		err = scan.WriteTable(out, rep, !f.noColor && isTerminal(out))
	case "json":
		err = scan.WriteJSON(out, rep)
	case "sarif":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		err = enc.Encode(scan.SARIF(rep, scan.SARIFOptions{ToolName: "mcpsoc", ToolVersion: v}))
	}
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("writing report: %w", err)}
	}
	if cmd.Flags().Changed("server") {
		if err := sendScanEvents(cmd, &f.soc, rep); err != nil {
			return &ExitError{Code: 2, Err: err}
		}
	}
	if len(rep.JudgeErrors) > 0 {
		for _, e := range rep.JudgeErrors {
			fmt.Fprintf(cmd.ErrOrStderr(), "mcpsoc: %s\n", e)
		}
		return &ExitError{Code: 2, Err: errors.New("the judge did not answer for every server (deterministic findings are reported)")}
	}
	if len(sources) > 0 {
		var bad []string
		for _, fr := range rep.Files {
			if fr.Error != "" {
				bad = append(bad, fr.Path+": "+fr.Error)
			}
		}
		if len(bad) > 0 {
			return &ExitError{Code: 2, Err: fmt.Errorf("could not read %s", strings.Join(bad, "; "))}
		}
	}
	for _, fd := range rep.Findings {
		if fail(fd.Finding) {
			return &ExitError{Code: 1}
		}
	}
	return nil
}

// sendScanEvents pushes the findings to a running SOC's ingest API as
// NDJSON ECS events (format ecs, source scan). The idempotency key is the hash of the
// batch, so a retried push does not duplicate events.
func sendScanEvents(cmd *cobra.Command, c *apiClient, rep *scan.Report) error {
	if len(rep.Findings) == 0 {
		return nil
	}
	host, _ := os.Hostname()
	body, err := scan.Events(rep, host)
	if err != nil {
		return err
	}
	key, err := c.key()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	res, err := c.push(cmd.Context(), body, "ecs", "scan", key, "scan-"+hex.EncodeToString(sum[:16]))
	if err != nil {
		return fmt.Errorf("sending findings: %w", err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "mcpsoc: sent %d findings to %s (%d events accepted)\n", len(rep.Findings), c.server, res.Accepted)
	return nil
}

// isTerminal reports whether w is a character device and NO_COLOR is unset.
func isTerminal(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	fh, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := fh.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

type scanToolsFlags struct {
	format string
	failOn string
	judge  judgeFlags
}

func newScanToolsCmd() *cobra.Command {
	var f scanToolsFlags
	cmd := &cobra.Command{
		Use:   "tools FILE|DIR...",
		Short: "Analyze saved tools/list results (files or folders of .json files)",
		Long: `Analyze saved MCP tools/list results without running anything.

Each FILE is a JSON object with "tools" (optionally "serverInfo",
"instructions", "prompts", "resources"), a bare array of tools, or a JSON-RPC
response carrying such a result. A DIR is searched recursively for *.json
files. All servers given in one run are analyzed together, so name collisions
and cross-server shadowing between them are reported.

Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 when a
file could not be read or decoded (the other files are still scanned and
reported).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScanTools(cmd, args, f)
		},
	}
	cmd.Flags().StringVar(&f.format, "format", "table", "output format: table, json or sarif")
	cmd.Flags().StringVar(&f.failOn, "fail-on", "hard", "exit 1 when a finding reaches this level: hard, review, none, or a severity (info, low, medium, high, critical)")
	f.judge.flags(cmd)
	return cmd
}

// scanInput is one decoded file.
type scanInput struct {
	File   string
	Server *mcpsec.Server
}

type scanFileError struct {
	File  string `json:"file"`
	Error string `json:"error"`
}

// failPolicy decides whether a finding fails the run.
type failPolicy func(mcpsec.Finding) bool

func parseFailOn(s string) (failPolicy, error) {
	switch strings.ToLower(s) {
	case "hard":
		return func(f mcpsec.Finding) bool { return f.Tier == mcpsec.TierHard }, nil
	case "review", "any":
		return func(mcpsec.Finding) bool { return true }, nil
	case "none":
		return func(mcpsec.Finding) bool { return false }, nil
	}
	sev, err := mcpsec.ParseSeverity(strings.ToLower(s))
	if err != nil {
		return nil, fmt.Errorf("--fail-on: %w (or hard, review, none)", err)
	}
	return func(f mcpsec.Finding) bool { return f.Severity.Rank() >= sev.Rank() }, nil
}

func runScanTools(cmd *cobra.Command, args []string, f scanToolsFlags) (retErr error) {
	fail, err := parseFailOn(f.failOn)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	switch f.format {
	case "table", "json", "sarif":
	default:
		return &ExitError{Code: 2, Err: fmt.Errorf("--format %q: want table, json or sarif", f.format)}
	}
	stderr := cmd.ErrOrStderr()
	an, err := f.judge.analyzer(stderr)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	files, errs := expandToolsArgs(args)
	var inputs []scanInput
	for _, file := range files {
		s, err := readToolsFile(file)
		if err != nil {
			errs = append(errs, scanFileError{File: file, Error: err.Error()})
			continue
		}
		inputs = append(inputs, scanInput{File: file, Server: s})
	}
	uniqueServerNames(inputs)
	servers := make([]*mcpsec.Server, len(inputs))
	fileOf := make(map[string]string, len(inputs))
	for i, in := range inputs {
		servers[i] = in.Server
		fileOf[in.Server.Name] = filepath.ToSlash(in.File)
	}
	findings, err := an.AnalyzeServers(cmd.Context(), servers)
	var judgeErr *mcpsec.JudgeError
	if err != nil && !errors.As(err, &judgeErr) {
		return &ExitError{Code: 2, Err: fmt.Errorf("analyzing: %w", err)}
	}
	if judgeErr != nil {
		// Report what the deterministic analysis found, then fail as
		// incomplete.
		jerr := err
		defer func() {
			if retErr == nil || errors.As(retErr, new(*ExitError)) {
				fmt.Fprintf(stderr, "mcpsoc: %v\n", jerr)
				retErr = &ExitError{Code: 2, Err: errors.New("the judge did not answer (deterministic findings are reported)")}
			}
		}()
	}
	for _, e := range errs {
		fmt.Fprintf(stderr, "mcpsoc: %s: %s\n", e.File, e.Error)
	}
	out := cmd.OutOrStdout()
	switch f.format {
	case "table":
		writeScanTable(out, inputs, findings)
	case "json":
		err = writeScanJSON(out, inputs, findings, errs)
	case "sarif":
		v, _ := buildVersion()
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		err = enc.Encode(mcpsec.SARIF(findings, mcpsec.SARIFOptions{ToolName: "mcpsoc", ToolVersion: v, FileOf: fileOf}))
	}
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("writing report: %w", err)}
	}
	if len(errs) > 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("%d inputs could not be scanned (see above)", len(errs))}
	}
	for _, fd := range findings {
		if fail(fd) {
			return &ExitError{Code: 1}
		}
	}
	return nil
}

// expandToolsArgs turns FILE|DIR arguments into a sorted file list; folders
// contribute their *.json files, recursively.
func expandToolsArgs(args []string) ([]string, []scanFileError) {
	var files []string
	var errs []scanFileError
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			errs = append(errs, scanFileError{File: a, Error: err.Error()})
			continue
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		var found []string
		werr := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, scanFileError{File: p, Error: err.Error()})
				return nil
			}
			if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".json") {
				found = append(found, p)
			}
			return nil
		})
		if werr != nil {
			errs = append(errs, scanFileError{File: a, Error: werr.Error()})
		}
		if len(found) == 0 {
			errs = append(errs, scanFileError{File: a, Error: "no .json files in folder"})
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, errs
}

func readToolsFile(path string) (*mcpsec.Server, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxToolsFileBytes {
		return nil, fmt.Errorf("file is %d bytes, larger than the %d-byte limit for a tools/list result", st.Size(), maxToolsFileBytes)
	}
	data, err := io.ReadAll(io.LimitReader(fh, maxToolsFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxToolsFileBytes {
		return nil, fmt.Errorf("file is larger than the %d-byte limit for a tools/list result", maxToolsFileBytes)
	}
	s, err := mcpsec.DecodeServer(data, "")
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("invalid JSON at byte %d: %w", se.Offset, err)
		}
		return nil, err
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return s, nil
}

// uniqueServerNames suffixes duplicate server names (#2, #3) so findings and
// collisions stay attributable to one file.
func uniqueServerNames(in []scanInput) {
	seen := map[string]int{}
	for _, x := range in {
		seen[x.Server.Name]++
	}
	count := map[string]int{}
	for _, x := range in {
		n := x.Server.Name
		if seen[n] > 1 {
			count[n]++
			if count[n] > 1 {
				x.Server.Name = fmt.Sprintf("%s#%d", n, count[n])
			}
		}
	}
}

func writeScanTable(w io.Writer, inputs []scanInput, findings []mcpsec.Finding) {
	by := map[string][]mcpsec.Finding{}
	for _, f := range findings {
		by[f.Location.Server] = append(by[f.Location.Server], f)
	}
	var hard, review int
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, in := range inputs {
		s := in.Server
		fs := by[s.Name]
		fmt.Fprintf(tw, "%s (%s): %d tools, %d prompts, %d resources, %d findings\n", s.Name, in.File, len(s.Tools), len(s.Prompts), len(s.Resources)+len(s.ResourceTemplates), len(fs))
		for _, f := range fs {
			if f.Tier == mcpsec.TierHard {
				hard++
			} else {
				review++
			}
			where := f.Location.Kind
			if f.Location.Object != "" {
				where += ":" + f.Location.Object
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(string(f.Tier)), f.Severity, f.RuleID, where, f.Location.Path, f.Title)
			fmt.Fprintf(tw, "  \t\t\t\t\t%s\n", tableSafe(f.Evidence))
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d servers, %d hard findings, %d review findings\n", len(inputs), hard, review)
}

// tableSafe keeps evidence on one line for the table.
func tableSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}

// scanReport is the --format json document (see docs/mcpsec.md).
type scanReport struct {
	SchemaVersion int              `json:"schemaVersion"`
	Servers       []scanReportSrv  `json:"servers"`
	Findings      []mcpsec.Finding `json:"findings"`
	Errors        []scanFileError  `json:"errors"`
	Summary       map[string]int   `json:"summary"`
}

type scanReportSrv struct {
	Name      string `json:"name"`
	File      string `json:"file"`
	Tools     int    `json:"tools"`
	Prompts   int    `json:"prompts"`
	Resources int    `json:"resources"`
}

func writeScanJSON(w io.Writer, inputs []scanInput, findings []mcpsec.Finding, errs []scanFileError) error {
	r := scanReport{SchemaVersion: 1, Servers: []scanReportSrv{}, Findings: findings, Errors: errs, Summary: map[string]int{"hard": 0, "review": 0}}
	if r.Findings == nil {
		r.Findings = []mcpsec.Finding{}
	}
	if r.Errors == nil {
		r.Errors = []scanFileError{}
	}
	for _, in := range inputs {
		s := in.Server
		r.Servers = append(r.Servers, scanReportSrv{Name: s.Name, File: filepath.ToSlash(in.File), Tools: len(s.Tools), Prompts: len(s.Prompts), Resources: len(s.Resources) + len(s.ResourceTemplates)})
	}
	for _, f := range findings {
		r.Summary[string(f.Tier)]++
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
