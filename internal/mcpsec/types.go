package mcpsec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Server is everything one MCP server shows a model: its identity, its
// instructions and the tools, prompts and resources it lists. It mirrors the
// JSON of the MCP results so saved snapshots decode directly, without the SDK
// types.
type Server struct {
	// Name identifies the server in findings (a config entry name or the
	// serverInfo name).
	Name         string      `json:"name,omitempty"`
	Info         *ServerInfo `json:"serverInfo,omitempty"`
	Instructions string      `json:"instructions,omitempty"`
	Tools        []Tool      `json:"tools,omitempty"`
	Prompts      []Prompt    `json:"prompts,omitempty"`
	Resources    []Resource  `json:"resources,omitempty"`
	// ResourceTemplates are the resources/templates/list entries.
	ResourceTemplates []Resource `json:"resourceTemplates,omitempty"`
}

// ServerInfo is the implementation info a server reports in initialize.
type ServerInfo struct {
	Name    string `json:"name,omitempty"`
	Title   string `json:"title,omitempty"`
	Version string `json:"version,omitempty"`
}

// Tool is one tools/list entry. Schemas stay raw JSON so that every string leaf
// at any depth can be walked, whatever keywords the schema uses.
type Tool struct {
	Name         string          `json:"name"`
	Title        string          `json:"title,omitempty"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"inputSchema,omitempty"`
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
	Annotations  *Annotations    `json:"annotations,omitempty"`
	Meta         json.RawMessage `json:"_meta,omitempty"`
}

// Annotations are the tool hints of the MCP specification. They come from the
// server and are untrusted; only Title is model-visible text.
type Annotations struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    *bool  `json:"readOnlyHint,omitempty"`
	DestructiveHint *bool  `json:"destructiveHint,omitempty"`
	IdempotentHint  *bool  `json:"idempotentHint,omitempty"`
	OpenWorldHint   *bool  `json:"openWorldHint,omitempty"`
}

// Prompt is one prompts/list entry.
type Prompt struct {
	Name        string           `json:"name"`
	Title       string           `json:"title,omitempty"`
	Description string           `json:"description,omitempty"`
	Arguments   []PromptArgument `json:"arguments,omitempty"`
}

// PromptArgument is one argument of a prompt.
type PromptArgument struct {
	Name        string `json:"name"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
}

// Resource is one resources/list or resources/templates/list entry.
type Resource struct {
	URI         string `json:"uri,omitempty"`
	URITemplate string `json:"uriTemplate,omitempty"`
	Name        string `json:"name,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	MIMEType    string `json:"mimeType,omitempty"`
}

// ErrNotToolsList reports JSON that is neither a tools/list result, a bare
// array of tools, a server snapshot nor a JSON-RPC response carrying one.
var ErrNotToolsList = errors.New("not a tools/list result")

// DecodeServer decodes a saved tools/list result. It accepts a result object
// ({"tools": [...]}, optionally with serverInfo, instructions, prompts and
// resources), a bare array of tools, or a JSON-RPC response whose result is
// such an object. name, when not empty, names the server; otherwise
// serverInfo.name is used.
func DecodeServer(data []byte, name string) (*Server, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("empty input: %w", ErrNotToolsList)
	}
	var s Server
	switch data[0] {
	case '[':
		if err := json.Unmarshal(data, &s.Tools); err != nil {
			return nil, fmt.Errorf("decoding tool array: %w", err)
		}
	case '{':
		var probe struct {
			JSONRPC string          `json:"jsonrpc"`
			Result  json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(data, &probe); err != nil {
			return nil, fmt.Errorf("decoding tools/list result: %w", err)
		}
		if len(probe.Result) > 0 && probe.JSONRPC != "" {
			return DecodeServer(probe.Result, name)
		}
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, fmt.Errorf("decoding tools/list result: %w", err)
		}
		if s.Tools == nil && s.Prompts == nil && s.Resources == nil && s.ResourceTemplates == nil && s.Instructions == "" {
			return nil, fmt.Errorf("no tools, prompts, resources or instructions: %w", ErrNotToolsList)
		}
	default:
		return nil, fmt.Errorf("top-level JSON is not an object or array: %w", ErrNotToolsList)
	}
	for i, t := range s.Tools {
		if t.Name == "" && t.Description == "" && len(t.InputSchema) == 0 {
			return nil, fmt.Errorf("tools[%d] has no name, description or schema: %w", i, ErrNotToolsList)
		}
	}
	switch {
	case name != "":
		s.Name = name
	case s.Name != "":
	case s.Info != nil && s.Info.Name != "":
		s.Name = s.Info.Name
	}
	return &s, nil
}
