package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/tailscale/hujson"
	"go.yaml.in/yaml/v3"
)

// MaxConfigBytes bounds one client config file. Real configs are a few
// kilobytes (Claude Code's ~/.claude.json, which also keeps history, reaches
// a few megabytes); anything larger is reported instead of read.
const MaxConfigBytes = 16 << 20

// Entry is one configured MCP server, in a shape common to every client.
type Entry struct {
	// Name is the key the client gives the server.
	Name string `json:"name"`
	// Path is where the entry sits in the file, such as mcpServers.fw or
	// projects["/src/app"].mcpServers.db.
	Path string `json:"path"`
	// Project is the project folder for Claude Code local-scope entries.
	Project string `json:"project,omitempty"`
	// Transport is stdio, http or sse.
	Transport string            `json:"transport"`
	Command   string            `json:"command,omitempty"`
	Args      []string          `json:"-"`
	Env       map[string]string `json:"-"`
	EnvFile   string            `json:"envFile,omitempty"`
	Cwd       string            `json:"cwd,omitempty"`
	URL       string            `json:"-"`
	Headers   map[string]string `json:"-"`
	// BearerTokenEnvVar names the variable Codex reads a token from.
	BearerTokenEnvVar string   `json:"bearerTokenEnvVar,omitempty"`
	Disabled          bool     `json:"disabled,omitempty"`
	AutoApprove       []string `json:"autoApprove,omitempty"`
	// Trust is Gemini CLI's trust flag (skips every confirmation).
	Trust bool `json:"trust,omitempty"`
}

// Input is a VS Code input variable (${input:id}).
type Input struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	Password    bool   `json:"password"`
}

// ConfigFile is one parsed client config.
type ConfigFile struct {
	Source  Source  `json:"source"`
	Entries []Entry `json:"servers"`
	Inputs  []Input `json:"inputs,omitempty"`
}

// ParseError says why a config file could not be read.
type ParseError struct {
	Path string
	Err  error
}

func (e *ParseError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *ParseError) Unwrap() error { return e.Err }

// ErrTooLarge is returned for files over MaxConfigBytes.
var ErrTooLarge = errors.New("config file too large")

// ParseFile reads and parses one client config file.
func ParseFile(src Source) (*ConfigFile, error) {
	fh, err := os.Open(src.Path)
	if err != nil {
		return nil, &ParseError{src.Path, err}
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxConfigBytes+1))
	if err != nil {
		return nil, &ParseError{src.Path, err}
	}
	if len(data) > MaxConfigBytes {
		return nil, &ParseError{src.Path, fmt.Errorf("%w: over %d bytes", ErrTooLarge, MaxConfigBytes)}
	}
	cf, err := Parse(src, data)
	if err != nil {
		return nil, &ParseError{src.Path, err}
	}
	return cf, nil
}

// Parse parses config bytes; the format comes from the file extension:
// .toml (Codex), .yaml/.yml (Continue), anything else JSON with comments and
// trailing commas allowed (JSONC, as Zed, VS Code and OpenCode write).
func Parse(src Source, data []byte) (*ConfigFile, error) {
	var root map[string]any
	switch strings.ToLower(filepath.Ext(src.Path)) {
	case ".toml":
		if err := toml.Unmarshal(data, &root); err != nil {
			return nil, fmt.Errorf("invalid TOML: %w", err)
		}
	case ".yaml", ".yml":
		var v any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("invalid YAML: %w", err)
		}
		m, ok := v.(map[string]any)
		if !ok && v != nil {
			return nil, errors.New("top level is not a mapping")
		}
		root = m
	default:
		if len(bytes.TrimSpace(data)) == 0 {
			return &ConfigFile{Source: src}, nil
		}
		std, err := hujson.Standardize(data)
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		var v any
		if err := json.Unmarshal(std, &v); err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("top level is not a JSON object")
		}
		root = m
	}
	cf := &ConfigFile{Source: src}
	cf.collect(root)
	return cf, nil
}

func (cf *ConfigFile) collect(root map[string]any) {
	if root == nil {
		return
	}
	cf.addMap("mcpServers", root["mcpServers"], "")
	cf.addList("mcpServers", root["mcpServers"])
	cf.addMap("servers", root["servers"], "")
	cf.addMap("context_servers", root["context_servers"], "")
	cf.addMap("mcp_servers", root["mcp_servers"], "")
	cf.addMap("amp.mcpServers", root["amp.mcpServers"], "")
	if m, ok := root["mcp"].(map[string]any); ok {
		if _, vs := m["servers"]; vs {
			cf.addMap("mcp.servers", m["servers"], "")
			cf.Inputs = append(cf.Inputs, decodeInputs(m["inputs"])...)
		} else if _, gem := m["allowed"]; !gem {
			if _, gem2 := m["excluded"]; !gem2 {
				cf.addMap("mcp", m, "") // OpenCode
			}
		}
	}
	cf.Inputs = append(cf.Inputs, decodeInputs(root["inputs"])...)
	if projects, ok := root["projects"].(map[string]any); ok {
		keys := sortedKeys(projects)
		for _, p := range keys {
			if pm, ok := projects[p].(map[string]any); ok {
				cf.addMap(fmt.Sprintf("projects[%q].mcpServers", p), pm["mcpServers"], p)
			}
		}
	}
	// A .mcpb extension manifest: {"name", "server": {"mcp_config": {…}}}.
	if srv, ok := root["server"].(map[string]any); ok {
		if mc, ok := srv["mcp_config"].(map[string]any); ok {
			name := str(root["name"])
			if name == "" {
				name = "extension"
			}
			cf.add("server.mcp_config", name, mc, "")
		}
	}
	if ex, ok := root["experimental"].(map[string]any); ok {
		if list, ok := ex["modelContextProtocolServers"].([]any); ok {
			for i, it := range list {
				m, _ := it.(map[string]any)
				if m == nil {
					continue
				}
				if tr, ok := m["transport"].(map[string]any); ok {
					m = tr
				}
				cf.add(fmt.Sprintf("experimental.modelContextProtocolServers[%d]", i), fmt.Sprintf("server-%d", i+1), m, "")
			}
		}
	}
}

func (cf *ConfigFile) addMap(path string, v any, project string) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for _, name := range sortedKeys(m) {
		e, ok := m[name].(map[string]any)
		if !ok {
			continue
		}
		cf.add(path+"."+name, name, e, project)
	}
}

// addList reads Continue's YAML list form: [{name, command, …}].
func (cf *ConfigFile) addList(path string, v any) {
	list, ok := v.([]any)
	if !ok {
		return
	}
	for i, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		name := str(m["name"])
		if name == "" {
			name = fmt.Sprintf("server-%d", i+1)
		}
		cf.add(fmt.Sprintf("%s[%d]", path, i), name, m, "")
	}
}

func (cf *ConfigFile) add(path, name string, m map[string]any, project string) {
	e := Entry{Name: name, Path: path, Project: project}
	switch c := m["command"].(type) {
	case string:
		e.Command = c
	case []any: // OpenCode: command is the whole argv
		argv := strs(c)
		if len(argv) > 0 {
			e.Command, e.Args = argv[0], argv[1:]
		}
	case map[string]any: // older Zed form
		e.Command = str(c["path"])
		e.Args = strs(c["args"])
		e.Env = strMap(c["env"])
	}
	if e.Args == nil {
		e.Args = strs(m["args"])
	}
	if env := strMap(m["env"]); env != nil {
		e.Env = env
	}
	if env := strMap(m["environment"]); env != nil {
		e.Env = env
	}
	e.EnvFile = str(m["envFile"])
	e.Cwd = str(m["cwd"])
	for _, k := range []string{"url", "serverUrl", "httpUrl"} {
		if u := str(m[k]); u != "" {
			e.URL = u
			if k == "httpUrl" {
				e.Transport = "http"
			}
			if k == "url" && cf.Source.Client == "gemini-cli" && str(m["type"]) == "" {
				e.Transport = "sse" // Gemini CLI: url is SSE, httpUrl Streamable HTTP
			}
			break
		}
	}
	e.Headers = strMap(m["headers"])
	if e.Headers == nil {
		e.Headers = strMap(m["http_headers"])
	}
	e.BearerTokenEnvVar = str(m["bearer_token_env_var"])
	if b, ok := m["disabled"].(bool); ok {
		e.Disabled = b
	}
	if b, ok := m["enabled"].(bool); ok && !b {
		e.Disabled = true
	}
	e.AutoApprove = strs(m["autoApprove"])
	if b, ok := m["trust"].(bool); ok {
		e.Trust = b
	}
	if e.Transport == "" {
		switch t := strings.ToLower(str(m["type"])); t {
		case "sse":
			e.Transport = "sse"
		case "http", "streamable-http", "streamablehttp", "remote":
			e.Transport = "http"
		case "stdio", "local":
			e.Transport = "stdio"
		}
	}
	if e.Transport == "" {
		// Unknown or missing transport: an entry with a URL is HTTP, one
		// with a command is stdio.
		if e.URL != "" && e.Command == "" {
			e.Transport = "http"
		} else {
			e.Transport = "stdio"
		}
	}
	if e.Command == "" && e.URL == "" {
		return // Gemini's top-level mcp{allowed}, or a note, not a server
	}
	cf.Entries = append(cf.Entries, e)
}

func decodeInputs(v any) []Input {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []Input
	for _, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		in := Input{ID: str(m["id"]), Type: str(m["type"]), Description: str(m["description"])}
		in.Password, _ = m["password"].(bool)
		out = append(out, in)
	}
	return out
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case map[string]any, []any:
		return ""
	}
	return fmt.Sprint(v)
}

func strs(v any) []string {
	list, ok := v.([]any)
	if !ok {
		if s, ok := v.([]string); ok {
			return s
		}
		return nil
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, str(x))
	}
	return out
}

func strMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		out[k] = str(x)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
