package scan

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/mcpsec"
)

// maxArgs bounds the arguments of one entry that are checked.
const maxArgs = 1024

// StaticOptions tune the static checks.
type StaticOptions struct {
	// LookPath resolves a command on PATH; nil skips the missing-binary
	// check (configs of another machine, or a scan of files only).
	LookPath func(string) (string, error)
}

// CheckEntry runs every static check on one configured server. It never
// starts anything.
func CheckEntry(e Entry, opts *StaticOptions) []Finding {
	if opts == nil {
		opts = &StaticOptions{}
	}
	var out []Finding
	loc := func(path string) mcpsec.Location {
		return mcpsec.Location{Server: e.Name, Kind: KindConfig, Path: joinPath(e.Path, path)}
	}
	add := func(id, path, evidence string) {
		out = append(out, NewFinding(id, loc(path), evidence))
	}

	// Real entries have a handful of arguments; bound the work for absurd
	// ones (the config file itself is bounded by MaxConfigBytes).
	if len(e.Args) > maxArgs {
		e.Args = e.Args[:maxArgs]
	}
	// Secrets in env, args, headers, URL.
	for _, k := range sortedKeys(e.Env) {
		if h, ok := findSecret(k, e.Env[k]); ok {
			add(secretRule(h), "env."+k, h.kind+": "+k+"="+Redact(h.value))
		}
	}
	for _, a := range argSecrets(e.Args) {
		add(secretRule(a.hit), fmt.Sprintf("args[%d]", a.index), a.hit.kind+": "+strings.Replace(e.Args[a.index], a.hit.value, Redact(a.hit.value), 1))
	}
	for i, a := range e.Args { // docker -e KEY=VALUE
		if i > 0 && (e.Args[i-1] == "-e" || e.Args[i-1] == "--env") {
			if k, v, ok := strings.Cut(a, "="); ok {
				if h, ok := findSecret(k, v); ok && !h.provider {
					add(secretRule(h), fmt.Sprintf("args[%d]", i), h.kind+": "+k+"="+Redact(h.value))
				}
			}
		}
	}
	for _, k := range sortedKeys(e.Headers) {
		if h, ok := findSecret(k, e.Headers[k]); ok {
			add(secretRule(h), "headers."+k, h.kind+": "+k+": "+Redact(h.value))
		}
	}
	if e.URL != "" {
		if h, ok := urlSecret(e.URL); ok {
			add(secretRule(h), "url", h.kind+": "+RedactURL(e.URL))
		}
	}

	// Transport.
	if e.URL != "" {
		if u, err := url.Parse(e.URL); err == nil {
			if strings.EqualFold(u.Scheme, "http") && !isLoopback(u.Hostname()) {
				add("MCP-CONFIG-HTTP-001", "url", "http://"+u.Host+u.Path)
			}
			if k, how, ok := squatHost(u.Hostname()); ok {
				add("MCP-CONFIG-SQUAT-001", "url", fmt.Sprintf("host %s looks like %s (%s)", u.Hostname(), k, how))
			}
		}
	}

	// Command line.
	if e.Command != "" {
		argv := append([]string{e.Command}, e.Args...)
		for _, p := range launchedPackages(argv) {
			if !p.pinned {
				id := "MCP-CONFIG-PIN-001"
				if p.ecosystem == "image" {
					id = "MCP-CONFIG-PIN-002"
				}
				add(id, fmt.Sprintf("args[%d]", p.argIndex), p.ecosystem+" "+p.spec+": "+p.why)
			}
			var k, how string
			var ok bool
			switch p.ecosystem {
			case "npm":
				k, how, ok = squatNPM(p.name)
			case "pypi":
				k, how, ok = squatPyPI(p.name)
			case "image":
				k, how, ok = squatImage(p.name)
			}
			if ok {
				add("MCP-CONFIG-SQUAT-001", fmt.Sprintf("args[%d]", p.argIndex), fmt.Sprintf("%s package %s looks like %s (%s)", p.ecosystem, p.name, k, how))
			}
		}
		if ev, ok := downloadExec(argv); ok {
			add("MCP-CONFIG-EXEC-001", "command", ev)
		}
		if opts.LookPath != nil && !strings.Contains(e.Command, "${") {
			if _, err := opts.LookPath(e.Command); err != nil {
				add("MCP-CONFIG-BINARY-001", "command", e.Command+": "+err.Error())
			}
		}
	}

	// Consent bypass.
	if len(e.AutoApprove) > 0 {
		add("MCP-CONFIG-TRUST-001", "autoApprove", "autoApprove: "+strings.Join(e.AutoApprove, ", "))
	}
	if e.Trust {
		add("MCP-CONFIG-TRUST-001", "trust", "trust: true")
	}
	return out
}

func secretRule(h secretHit) string {
	if h.provider {
		return "MCP-CONFIG-SECRET-001"
	}
	return "MCP-CONFIG-SECRET-002"
}

func joinPath(base, sub string) string {
	if sub == "" {
		return base
	}
	if base == "" {
		return sub
	}
	return base + "." + sub
}

// RedactURL removes the password and query values of a URL.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "****")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = "****"
			}
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), "%2A", "*")
}

func isLoopback(host string) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// launched is a package a launcher command starts.
type launched struct {
	ecosystem string // npm, pypi, image
	name      string // package or image repository without version
	spec      string // as written
	argIndex  int    // index in args (argv minus the command)
	pinned    bool
	why       string
}

var (
	shellSeparators = regexp.MustCompile(`&&|\|\||;|\|`)
	fullSHA         = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

var exactSemver = regexp.MustCompile(`^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?$`)

// launchedPackages recognizes npx, bunx, pnpm dlx, yarn dlx, npm exec, uvx,
// uv tool run, pipx run, docker run and podman run, also behind a shell
// wrapper (sh -c "npx -y pkg").
func launchedPackages(argv []string) []launched {
	if len(argv) == 0 {
		return nil
	}
	cmd := commandBase(argv[0])
	rest := argv[1:]
	off := 0 // index of rest[0] in args
	switch {
	case (cmd == "sh" || cmd == "bash" || cmd == "zsh" || cmd == "cmd" || cmd == "powershell" || cmd == "pwsh") && len(rest) >= 2:
		// sh -c "…", cmd /c …: parse the words of the script; indexes point at the script argument.
		for i, a := range rest {
			if la := strings.ToLower(a); la == "-c" || la == "/c" || la == "/k" || la == "-command" {
				script := strings.Join(rest[i+1:], " ")
				var out []launched
				for _, part := range shellSeparators.Split(script, -1) {
					for _, p := range launchedPackages(strings.Fields(part)) {
						p.argIndex = i + 1
						out = append(out, p)
					}
				}
				return out
			}
		}
		return nil
	case cmd == "npx" || cmd == "bunx":
	case (cmd == "pnpm" || cmd == "yarn") && len(rest) > 0 && rest[0] == "dlx",
		cmd == "npm" && len(rest) > 0 && (rest[0] == "exec" || rest[0] == "x"):
		rest, off = rest[1:], 1
	case cmd == "uvx":
		return pyLaunch(rest, 0)
	case (cmd == "uv" && len(rest) > 1 && rest[0] == "tool" && rest[1] == "run"):
		return pyLaunch(rest[2:], 2)
	case cmd == "pipx" && len(rest) > 0 && rest[0] == "run":
		return pyLaunch(rest[1:], 1)
	case (cmd == "docker" || cmd == "podman") && len(rest) > 0 && (rest[0] == "run" || rest[0] == "create"):
		return imageLaunch(rest[1:], 1)
	default:
		return nil
	}
	// npm family.
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			continue
		case a == "-p" || a == "--package":
			if i+1 < len(rest) {
				return []launched{npmSpec(rest[i+1], off+i+1)}
			}
			return nil
		case strings.HasPrefix(a, "--package="):
			return []launched{npmSpec(strings.TrimPrefix(a, "--package="), off+i)}
		case strings.HasPrefix(a, "-"):
			continue
		default:
			return []launched{npmSpec(a, off+i)}
		}
	}
	return nil
}

func commandBase(c string) string {
	b := strings.ToLower(filepath.Base(strings.ReplaceAll(c, `\`, "/")))
	for _, ext := range []string{".exe", ".cmd", ".bat", ".ps1"} {
		b = strings.TrimSuffix(b, ext)
	}
	return b
}

func npmSpec(spec string, idx int) launched {
	l := launched{ecosystem: "npm", spec: spec, argIndex: idx}
	s := strings.TrimPrefix(spec, "npm:")
	switch {
	case strings.HasPrefix(s, "github:") || strings.HasPrefix(s, "git+") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://"):
		l.name = s
		_, frag, ok := strings.Cut(s, "#")
		l.pinned = ok && fullSHA.MatchString(frag)
		if !l.pinned {
			l.why = "git or URL source without a full commit hash"
		}
		return l
	}
	name, version := s, ""
	start := 0
	if strings.HasPrefix(s, "@") {
		start = 1
	}
	if i := strings.Index(s[start:], "@"); i >= 0 {
		name, version = s[:start+i], s[start+i+1:]
	}
	l.name = name
	switch {
	case version == "":
		l.why = "no version: the registry's latest release runs"
	case exactSemver.MatchString(version):
		l.pinned = true
	case version == "latest" || version == "next":
		l.why = "dist-tag @" + version + " moves with every release"
	default:
		l.why = "version range @" + version + " is not an exact version"
	}
	return l
}

func pyLaunch(rest []string, off int) []launched {
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--from":
			if i+1 < len(rest) {
				return []launched{pySpec(rest[i+1], off+i+1)}
			}
			return nil
		case strings.HasPrefix(a, "--from="):
			return []launched{pySpec(strings.TrimPrefix(a, "--from="), off+i)}
		case a == "--with" || a == "--python" || a == "-p" || a == "--index-url" || a == "--spec":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return []launched{pySpec(a, off+i)}
		}
	}
	return nil
}

func pySpec(spec string, idx int) launched {
	l := launched{ecosystem: "pypi", spec: spec, argIndex: idx}
	if strings.HasPrefix(spec, "git+") || strings.Contains(spec, "://") {
		l.name = spec
		_, frag, ok := strings.Cut(spec, "@")
		l.pinned = ok && fullSHA.MatchString(strings.SplitN(frag, "#", 2)[0])
		if !l.pinned {
			l.why = "git or URL source without a full commit hash"
		}
		return l
	}
	name := spec
	if i := strings.IndexAny(spec, "=<>!~@["); i >= 0 {
		name = spec[:i]
	}
	l.name = name
	rest := strings.TrimPrefix(spec, name)
	if j := strings.Index(rest, "]"); strings.HasPrefix(rest, "[") && j >= 0 {
		rest = rest[j+1:]
	}
	switch {
	case strings.HasPrefix(rest, "==") && !strings.ContainsAny(rest[2:], "*,<>"):
		l.pinned = true
	case strings.HasPrefix(rest, "@") && exactSemver.MatchString(rest[1:]):
		l.pinned = true
	case rest == "" || rest == "@latest":
		l.why = "no version: the index's newest release runs"
	default:
		l.why = "version specifier " + rest + " is not an exact pin"
	}
	return l
}

// dockerValueFlags take a separate value argument.
var dockerValueFlags = map[string]bool{
	"-e": true, "--env": true, "--env-file": true, "-v": true, "--volume": true, "--name": true, "--network": true, "--net": true,
	"-p": true, "--publish": true, "-w": true, "--workdir": true, "-u": true, "--user": true, "--entrypoint": true, "--mount": true,
	"--platform": true, "--pull": true, "-l": true, "--label": true, "--cpus": true, "-m": true, "--memory": true, "--add-host": true,
	"--cap-add": true, "--cap-drop": true, "--security-opt": true, "--tmpfs": true, "-h": true, "--hostname": true, "--runtime": true,
	"--ulimit": true, "--device": true, "--dns": true, "--ipc": true, "--pid": true, "--log-driver": true, "--restart": true,
}

func imageLaunch(rest []string, off int) []launched {
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if dockerValueFlags[a] {
			i++
			continue
		}
		if strings.HasPrefix(a, "-") {
			continue
		}
		l := launched{ecosystem: "image", spec: a, argIndex: off + i}
		ref := a
		if r, digest, ok := strings.Cut(a, "@"); ok {
			ref = r
			l.pinned = strings.HasPrefix(digest, "sha256:") && len(digest) == 7+64
			if !l.pinned {
				l.why = "malformed digest"
			}
		}
		name := ref
		if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
			name = ref[:i]
			if !l.pinned {
				l.why = "tag " + ref[i+1:] + " can be moved; no @sha256 digest"
			}
		} else if !l.pinned {
			l.why = "no tag and no digest: :latest runs"
		}
		l.name = strings.TrimPrefix(strings.TrimPrefix(name, "docker.io/"), "library/")
		return []launched{l}
	}
	return nil
}

// Download-and-execute shapes: a fetch piped into a shell or interpreter,
// process substitution, PowerShell iex of a download, or python -c with
// urlopen/exec. Spans are bounded.
var downloadExecRes = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\b(?:curl|wget|fetch)\b[^|;&]{0,300}\|\s{0,5}(?:sudo\s+)?(?:ba|z|k|da)?sh\b`),
	regexp.MustCompile(`(?i)\b(?:curl|wget)\b[^|;&]{0,300}\|\s{0,5}(?:sudo\s+)?(?:python3?|node|perl|ruby|bun|deno)\b`),
	regexp.MustCompile(`(?i)(?:ba|z)?sh\s{1,5}<\(\s{0,5}(?:curl|wget)\b`),
	regexp.MustCompile(`(?i)\b(?:iwr|irm|invoke-webrequest|invoke-restmethod|new-object\s+net\.webclient)\b.{0,300}(?:\|\s{0,5}iex\b|invoke-expression|downloadstring)`),
	regexp.MustCompile(`(?i)\biex\s{0,5}\(\s{0,5}(?:iwr|irm|new-object\s+net\.webclient)`),
	regexp.MustCompile(`(?i)\b(?:eval|exec)\b.{0,40}\b(?:urlopen|requests\.get|\$\(curl|\$\(wget)`),
}

// downloadKeywords start every download-and-execute shape; the patterns
// run only in windows around them, so a huge argument stays cheap.
var downloadKeywords = []string{"curl", "wget", "fetch", "iwr", "irm", "invoke-", "webclient", "iex", "eval", "exec"}

func downloadExec(argv []string) (string, bool) {
	line := strings.Join(argv, " ")
	lower := strings.ToLower(line)
	var windows []string
	for _, kw := range downloadKeywords {
		from := 0
		for n := 0; n < 16; n++ {
			i := strings.Index(lower[from:], kw)
			if i < 0 {
				break
			}
			i += from
			start := max(0, i-16)
			windows = append(windows, line[start:min(len(line), i+700)])
			from = i + len(kw)
		}
	}
	for _, w := range windows {
		if m, ok := matchDownloadExec(w); ok {
			return m, true
		}
	}
	return "", false
}

func matchDownloadExec(line string) (string, bool) {
	for _, re := range downloadExecRes {
		if m := re.FindString(line); m != "" {
			if len(m) > 160 {
				m = m[:157] + "…"
			}
			if h, ok := urlSecret(m); ok {
				m = strings.ReplaceAll(m, h.value, Redact(h.value))
			}
			return m, true
		}
	}
	return "", false
}

// sortFindings orders findings by client, file, server, then content order.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Client != b.Client {
			return a.Client < b.Client
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Location.Server != b.Location.Server {
			return a.Location.Server < b.Location.Server
		}
		if a.Location.Kind != b.Location.Kind {
			return a.Location.Kind < b.Location.Kind
		}
		if a.Location.Object != b.Location.Object {
			return a.Location.Object < b.Location.Object
		}
		if a.Location.Path != b.Location.Path {
			return a.Location.Path < b.Location.Path
		}
		return a.RuleID < b.RuleID
	})
}
