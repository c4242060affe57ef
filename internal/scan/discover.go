package scan

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Env describes the machine whose client configs are discovered. Paths are
// computed from it alone, so tests can point Home and Root at a temporary
// folder and ask for any OS.
type Env struct {
	// OS is "linux", "darwin" or "windows".
	OS string
	// Home is the user's home folder.
	Home string
	// Workdir is the project folder whose project-scope configs
	// (.mcp.json, .vscode/mcp.json, .cursor/mcp.json…) are read; empty skips them.
	Workdir string
	// Root prefixes system-wide paths (/etc/claude-code, C:\Program Files…);
	// empty means the real root.
	Root string
	// Vars are environment variables that move config files: XDG_CONFIG_HOME,
	// APPDATA, LOCALAPPDATA, ProgramFiles, CODEX_HOME, OPENCODE_CONFIG,
	// CLINE_MCP_SETTINGS_PATH.
	Vars map[string]string
}

// Source is one config file a client may read.
type Source struct {
	// Client is a stable client id: claude-desktop, claude-code, cursor,
	// vscode, vscode-insiders, copilot-cli, windsurf, cline, zed, continue,
	// gemini-cli, codex, antigravity, kiro, opencode, amazon-q, amp.
	Client string `json:"client"`
	// Scope is user, project, local or managed.
	Scope string `json:"scope"`
	Path  string `json:"path"`
}

// HostEnv describes the running machine.
func HostEnv(goos string) Env {
	home, _ := os.UserHomeDir()
	wd, _ := os.Getwd()
	vars := map[string]string{}
	for _, k := range []string{"XDG_CONFIG_HOME", "APPDATA", "LOCALAPPDATA", "ProgramFiles", "CODEX_HOME", "OPENCODE_CONFIG", "CLINE_MCP_SETTINGS_PATH"} {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	return Env{OS: goos, Home: home, Workdir: wd, Vars: vars}
}

// Candidates lists every config file the known clients may read on e.OS, in
// a stable order. Files need not exist; Discover keeps those that do.
func Candidates(e Env) []Source {
	h := e.Home
	j := filepath.Join
	var appData, xdg, support string
	switch e.OS {
	case "windows":
		appData = e.Vars["APPDATA"]
		if appData == "" {
			appData = j(h, "AppData", "Roaming")
		}
		xdg = appData
		support = appData
	case "darwin":
		support = j(h, "Library", "Application Support")
		xdg = e.Vars["XDG_CONFIG_HOME"]
		if xdg == "" {
			xdg = j(h, ".config")
		}
	default:
		xdg = e.Vars["XDG_CONFIG_HOME"]
		if xdg == "" {
			xdg = j(h, ".config")
		}
		support = xdg
	}
	root := e.Root
	if root == "" {
		root = string(filepath.Separator)
		if e.OS == "windows" {
			root = `C:\`
		}
	}
	sys := func(p ...string) string { return j(append([]string{root}, p...)...) }
	var out []Source
	add := func(client, scope, path string) {
		if path != "" {
			out = append(out, Source{Client: client, Scope: scope, Path: path})
		}
	}

	// Claude Desktop has no official Linux build; the community builds use
	// the XDG folder, which is what `support` is on Linux.
	add("claude-desktop", "user", j(support, "Claude", "claude_desktop_config.json"))

	// Installed .mcpb desktop extensions: one folder per extension with a
	// manifest.json whose server.mcp_config is the launch entry.
	out = append(out, findFiles("claude-desktop", "extension", j(support, "Claude", "Claude Extensions"), "manifest.json", 2)...)

	add("claude-code", "user", j(h, ".claude.json"))
	// Plugins bring their own .mcp.json (or plugin.json with mcpServers).
	out = append(out, findFiles("claude-code", "plugin", j(h, ".claude", "plugins"), ".mcp.json", 5)...)
	switch e.OS {
	case "windows":
		pf := e.Vars["ProgramFiles"]
		if pf == "" {
			pf = sys("Program Files")
		} else if e.Root != "" {
			pf = sys(strings.TrimPrefix(filepath.ToSlash(pf), filepath.VolumeName(pf)))
		}
		add("claude-code", "managed", j(pf, "ClaudeCode", "managed-mcp.json"))
	case "darwin":
		add("claude-code", "managed", sys("Library", "Application Support", "ClaudeCode", "managed-mcp.json"))
	default:
		add("claude-code", "managed", sys("etc", "claude-code", "managed-mcp.json"))
	}

	add("cursor", "user", j(h, ".cursor", "mcp.json"))

	for _, v := range []struct{ client, dir string }{{"vscode", "Code"}, {"vscode-insiders", "Code - Insiders"}} {
		user := j(support, v.dir, "User")
		add(v.client, "user", j(user, "mcp.json"))
		add(v.client, "user", j(user, "settings.json"))
		add("cline", "user", j(user, "globalStorage", "saoudrizwan.claude-dev", "settings", "cline_mcp_settings.json"))
	}
	add("copilot-cli", "user", j(h, ".copilot", "mcp-config.json"))
	add("windsurf", "user", j(h, ".codeium", "windsurf", "mcp_config.json"))
	if p := e.Vars["CLINE_MCP_SETTINGS_PATH"]; p != "" {
		add("cline", "user", p)
	} else {
		add("cline", "user", j(h, ".cline", "data", "settings", "cline_mcp_settings.json"))
	}
	if e.OS == "windows" {
		add("zed", "user", j(appData, "Zed", "settings.json"))
	} else {
		add("zed", "user", j(xdg, "zed", "settings.json"))
	}
	add("continue", "user", j(h, ".continue", "config.yaml"))
	add("continue", "user", j(h, ".continue", "config.json"))
	out = append(out, globBlocks("continue", "user", j(h, ".continue", "mcpServers"))...)
	add("gemini-cli", "user", j(h, ".gemini", "settings.json"))
	add("antigravity", "user", j(h, ".gemini", "antigravity", "mcp_config.json"))
	codexHome := e.Vars["CODEX_HOME"]
	if codexHome == "" {
		codexHome = j(h, ".codex")
	}
	add("codex", "user", j(codexHome, "config.toml"))
	if e.OS != "windows" {
		add("codex", "managed", sys("etc", "codex", "config.toml"))
	}
	add("kiro", "user", j(h, ".kiro", "settings", "mcp.json"))
	if p := e.Vars["OPENCODE_CONFIG"]; p != "" {
		add("opencode", "user", p)
	}
	add("opencode", "user", j(xdg, "opencode", "opencode.json"))
	add("opencode", "user", j(xdg, "opencode", "opencode.jsonc"))
	add("amazon-q", "user", j(h, ".aws", "amazonq", "mcp.json"))
	add("amp", "user", j(xdg, "amp", "settings.json"))

	if w := e.Workdir; w != "" {
		add("claude-code", "project", j(w, ".mcp.json"))
		add("cursor", "project", j(w, ".cursor", "mcp.json"))
		add("vscode", "project", j(w, ".vscode", "mcp.json"))
		add("vscode", "project", j(w, ".vscode", "settings.json"))
		add("zed", "project", j(w, ".zed", "settings.json"))
		out = append(out, globBlocks("continue", "project", j(w, ".continue", "mcpServers"))...)
		add("gemini-cli", "project", j(w, ".gemini", "settings.json"))
		add("codex", "project", j(w, ".codex", "config.toml"))
		add("kiro", "project", j(w, ".kiro", "settings", "mcp.json"))
		add("opencode", "project", j(w, "opencode.json"))
		add("opencode", "project", j(w, "opencode.jsonc"))
		add("amazon-q", "project", j(w, ".amazonq", "mcp.json"))
	}
	return dedupeSources(out)
}

// globBlocks lists Continue block files (*.yaml, *.yml, *.json) in dir.
func globBlocks(client, scope, dir string) []Source {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []Source
	for _, d := range ents {
		ext := strings.ToLower(filepath.Ext(d.Name()))
		if !d.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			out = append(out, Source{Client: client, Scope: scope, Path: filepath.Join(dir, d.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// findFiles lists files called name under dir, at most depth folders down,
// in lexical order. Missing folders give nothing.
func findFiles(client, scope, dir, name string, depth int) []Source {
	var out []Source
	base := strings.Count(filepath.Clean(dir), string(filepath.Separator))
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if strings.Count(filepath.Clean(p), string(filepath.Separator))-base >= depth {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == name && d.Type().IsRegular() {
			out = append(out, Source{Client: client, Scope: scope, Path: p})
		}
		return nil
	})
	return out
}

// dedupeSources drops repeated paths (a Workdir equal to Home lists some
// files twice), keeping the first.
func dedupeSources(in []Source) []Source {
	seen := map[string]bool{}
	out := in[:0]
	for _, s := range in {
		k := filepath.Clean(s.Path)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	return out
}

// Discover returns the candidates that exist as regular files.
func Discover(e Env) []Source {
	var out []Source
	for _, s := range Candidates(e) {
		if st, err := os.Stat(s.Path); err == nil && st.Mode().IsRegular() {
			out = append(out, s)
		}
	}
	return out
}

// GuessClient names the client a config file given with --config most likely
// belongs to, from its path; "" when unknown.
func GuessClient(path string) string {
	p := strings.ToLower(filepath.ToSlash(path))
	base := filepath.Base(p)
	switch {
	case base == "claude_desktop_config.json":
		return "claude-desktop"
	case base == ".claude.json" || base == ".mcp.json" || base == "managed-mcp.json":
		return "claude-code"
	case strings.Contains(p, "/.cursor/"):
		return "cursor"
	case base == "cline_mcp_settings.json":
		return "cline"
	case strings.Contains(p, "/.vscode/") || strings.Contains(p, "/code/user/") || strings.Contains(p, "/code - insiders/user/"):
		return "vscode"
	case base == "mcp-config.json" && strings.Contains(p, "/.copilot/"):
		return "copilot-cli"
	case strings.Contains(p, "/windsurf/"):
		return "windsurf"
	case strings.Contains(p, "/zed/"):
		return "zed"
	case strings.Contains(p, "/.continue/"):
		return "continue"
	case strings.Contains(p, "/antigravity/"):
		return "antigravity"
	case strings.Contains(p, "/.gemini/"):
		return "gemini-cli"
	case strings.HasSuffix(base, ".toml"):
		return "codex"
	case strings.Contains(p, "/.kiro/"):
		return "kiro"
	case strings.HasPrefix(base, "opencode.json"):
		return "opencode"
	case strings.Contains(p, "/amazonq/"):
		return "amazon-q"
	}
	return ""
}
