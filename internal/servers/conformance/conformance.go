// Package conformance is the fixture MCP server that the official MCP
// conformance suite tests: the tools, prompts and resources its server
// scenarios call by fixed names, built with the mcpx server kit so that the
// suite certifies the kit every built-in server uses. It holds no security
// logic.
package conformance

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Name and Version identify the fixture server.
const (
	Name    = "mcpsoc-conformance"
	Version = "1.0.0"
)

// WatchedResourceURI is the resource whose subscribers get an update
// notification shortly after subscribing.
const WatchedResourceURI = "test://watched-resource"

// New builds the fixture server.
func New(opts *mcpx.ServerOptions) *mcpx.Server {
	if opts == nil {
		opts = &mcpx.ServerOptions{}
	}
	var srv *mcpx.Server
	opts.SDK = &mcp.ServerOptions{
		CompletionHandler: complete,
		SubscribeHandler: func(ctx context.Context, req *mcp.SubscribeRequest) error {
			if req.Params.URI == WatchedResourceURI {
				go func() {
					time.Sleep(50 * time.Millisecond)
					_ = srv.SDK().ResourceUpdated(context.Background(), &mcp.ResourceUpdatedNotificationParams{URI: WatchedResourceURI})
				}()
			}
			return nil
		},
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error { return nil },
	}
	if opts.Instructions == "" {
		opts.Instructions = "Fixture server for the MCP conformance suite. Every tool is read-only."
	}
	srv = mcpx.NewServer(Name, Version, opts)
	addTools(srv)
	addResources(srv.SDK())
	addPrompts(srv.SDK())
	return srv
}

type none struct{}

func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

func fixture(name, desc string) mcpx.ToolDef {
	return mcpx.ToolDef{Name: name, Description: desc, Hints: mcpx.ReadOnly}
}

func addTools(s *mcpx.Server) {
	mcpx.AddResultTool(s, fixture("test_simple_text", "Returns a fixed line of text."),
		func(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, error) {
			return text("This is a simple text response for testing."), nil
		})
	mcpx.AddResultTool(s, fixture("test_image_content", "Returns a 1x1 PNG image."),
		func(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.ImageContent{Data: pngPixel, MIMEType: "image/png"}}}, nil
		})
	mcpx.AddResultTool(s, fixture("test_audio_content", "Returns a short silent WAV clip."),
		func(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.AudioContent{Data: wavSilence, MIMEType: "audio/wav"}}}, nil
		})
	mcpx.AddResultTool(s, fixture("test_embedded_resource", "Returns an embedded text resource."),
		func(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
				URI: "test://embedded-resource", MIMEType: "text/plain", Text: "This is an embedded resource content.",
			}}}}, nil
		})
	mcpx.AddResultTool(s, fixture("test_multiple_content_types", "Returns text, an image and an embedded resource."),
		func(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.TextContent{Text: "Multiple content types test:"},
				&mcp.ImageContent{Data: pngPixel, MIMEType: "image/png"},
				&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
					URI: "test://mixed-content-resource", MIMEType: "application/json", Text: `{"test":"data","value":123}`,
				}},
			}}, nil
		})
	mcpx.AddResultTool(s, fixture("test_tool_with_logging", "Sends three log notifications while it runs."),
		func(ctx context.Context, req *mcp.CallToolRequest, _ none) (*mcp.CallToolResult, error) {
			for _, msg := range []string{"Tool execution started", "Tool processing data", "Tool execution completed"} {
				if err := req.Session.Log(ctx, &mcp.LoggingMessageParams{Level: "info", Logger: Name, Data: msg}); err != nil {
					return nil, fmt.Errorf("sending log notification: %w", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			return text("Tool with logging executed successfully"), nil
		})
	mcpx.AddResultTool(s, fixture("test_tool_with_progress", "Reports progress at 0, 50 and 100 percent."),
		func(ctx context.Context, req *mcp.CallToolRequest, _ none) (*mcp.CallToolResult, error) {
			token := req.Params.GetProgressToken()
			if token != nil {
				for _, p := range []float64{0, 50, 100} {
					err := req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
						ProgressToken: token, Progress: p, Total: 100, Message: fmt.Sprintf("step %.0f of 100", p),
					})
					if err != nil {
						return nil, fmt.Errorf("sending progress: %w", err)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			return text(fmt.Sprint(token)), nil
		})
	mcpx.AddResultTool(s, fixture("test_error_handling", "Always fails, to exercise tool errors."),
		func(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, error) {
			return nil, errors.New("This tool intentionally returns an error for testing")
		})
	type samplingIn struct {
		Prompt string `json:"prompt" jsonschema:"the prompt to send to the client's model"`
	}
	mcpx.AddResultTool(s, fixture("test_sampling", "Asks the client's model to answer a prompt."),
		func(ctx context.Context, req *mcp.CallToolRequest, in samplingIn) (*mcp.CallToolResult, error) {
			res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{
				Messages:  []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: in.Prompt}}},
				MaxTokens: 100,
			})
			if err != nil {
				return nil, fmt.Errorf("sampling: %w", err)
			}
			answer := "(non-text response)"
			if t, ok := res.Content.(*mcp.TextContent); ok {
				answer = t.Text
			}
			return text("LLM response: " + answer), nil
		})
	type elicitIn struct {
		Message string `json:"message" jsonschema:"the question shown to the user"`
	}
	mcpx.AddResultTool(s, fixture("test_elicitation", "Asks the user for a username."),
		func(ctx context.Context, req *mcp.CallToolRequest, in elicitIn) (*mcp.CallToolResult, error) {
			return elicit(ctx, req, in.Message, map[string]any{
				"type":       "object",
				"properties": map[string]any{"username": map[string]any{"type": "string", "description": "User's response"}},
				"required":   []string{"username"},
			})
		})
	mcpx.AddResultTool(s, fixture("test_elicitation_sep1034_defaults", "Elicits primitives that carry default values."),
		func(ctx context.Context, req *mcp.CallToolRequest, _ none) (*mcp.CallToolResult, error) {
			return elicit(ctx, req, "Test defaults for primitives", map[string]any{
				"type": "object",
				"properties": map[string]any{
					"name":     map[string]any{"type": "string", "description": "User name", "default": "John Doe"},
					"age":      map[string]any{"type": "integer", "description": "User age", "default": 30},
					"score":    map[string]any{"type": "number", "description": "User score", "default": 95.5},
					"status":   map[string]any{"type": "string", "description": "User status", "enum": []string{"active", "inactive", "pending"}, "default": "active"},
					"verified": map[string]any{"type": "boolean", "description": "Verification status", "default": true},
				},
			})
		})
	options := func(prefix string) []map[string]any {
		return []map[string]any{
			{"const": prefix + "1", "title": "First Option"},
			{"const": prefix + "2", "title": "Second Option"},
			{"const": prefix + "3", "title": "Third Option"},
		}
	}
	mcpx.AddResultTool(s, fixture("test_elicitation_sep1330_enums", "Elicits every enum schema shape."),
		func(ctx context.Context, req *mcp.CallToolRequest, _ none) (*mcp.CallToolResult, error) {
			return elicit(ctx, req, "Test enum schemas", map[string]any{
				"type": "object",
				"properties": map[string]any{
					"untitledSingle": map[string]any{"type": "string", "enum": []string{"option1", "option2", "option3"}},
					"titledSingle":   map[string]any{"type": "string", "oneOf": options("value")},
					"legacyEnum":     map[string]any{"type": "string", "enum": []string{"opt1", "opt2", "opt3"}, "enumNames": []string{"Option One", "Option Two", "Option Three"}},
					"untitledMulti": map[string]any{"type": "array", "minItems": 1, "maxItems": 3,
						"items": map[string]any{"type": "string", "enum": []string{"option1", "option2", "option3"}}},
					"titledMulti": map[string]any{"type": "array", "minItems": 1, "maxItems": 3,
						"items": map[string]any{"anyOf": options("value")}},
				},
			})
		})
	schema2020 := map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"type":    "object",
		"$defs": map[string]any{
			"address": map[string]any{
				"$anchor":    "addressDef",
				"type":       "object",
				"properties": map[string]any{"street": map[string]any{"type": "string"}, "city": map[string]any{"type": "string"}},
			},
		},
		"properties": map[string]any{
			"name":          map[string]any{"type": "string"},
			"address":       map[string]any{"$ref": "#/$defs/address"},
			"contactMethod": map[string]any{"type": "string", "enum": []string{"phone", "email"}},
			"phone":         map[string]any{"type": "string"},
			"email":         map[string]any{"type": "string"},
		},
		"allOf": []any{map[string]any{"anyOf": []any{
			map[string]any{"required": []string{"phone"}},
			map[string]any{"required": []string{"email"}},
		}}},
		"if":                   map[string]any{"properties": map[string]any{"contactMethod": map[string]any{"const": "phone"}}, "required": []string{"contactMethod"}},
		"then":                 map[string]any{"required": []string{"phone"}},
		"else":                 map[string]any{"required": []string{"email"}},
		"additionalProperties": false,
	}
	t := fixture("json_schema_2020_12_tool", "Declares an input schema using JSON Schema 2020-12 keywords.")
	t.InputSchema = schema2020
	mcpx.AddResultTool(s, t, func(_ context.Context, _ *mcp.CallToolRequest, in map[string]any) (*mcp.CallToolResult, error) {
		return text(fmt.Sprintf("JSON Schema 2020-12 tool called with %d argument(s)", len(in))), nil
	})
	mcpx.AddResultTool(s, fixture("test_reconnection", "Closes its SSE stream mid-call so the client must resume."),
		func(_ context.Context, req *mcp.CallToolRequest, _ none) (*mcp.CallToolResult, error) {
			// The SDK ignores a close requested before the response stream is
			// attached to the HTTP request, which happens concurrently with
			// the handler starting; give it a moment so the close (and its
			// retry field) reliably reaches the client.
			time.Sleep(25 * time.Millisecond)
			if req.Extra != nil && req.Extra.CloseSSEStream != nil {
				req.Extra.CloseSSEStream(mcp.CloseSSEStreamArgs{RetryAfter: 10 * time.Millisecond})
			}
			time.Sleep(100 * time.Millisecond)
			return text("Reconnection test completed: the client resumed after the stream closed."), nil
		})
	type addIn struct {
		A float64 `json:"a" jsonschema:"first addend"`
		B float64 `json:"b" jsonschema:"second addend"`
	}
	type addOut struct {
		Sum float64 `json:"sum"`
	}
	mcpx.AddTool(s, fixture("add_numbers", "Adds two numbers."),
		func(_ context.Context, _ *mcp.CallToolRequest, in addIn) (addOut, error) {
			return addOut{Sum: in.A + in.B}, nil
		})
}

func elicit(ctx context.Context, req *mcp.CallToolRequest, msg string, schema map[string]any) (*mcp.CallToolResult, error) {
	res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: msg, RequestedSchema: schema})
	if err != nil {
		return nil, fmt.Errorf("elicitation: %w", err)
	}
	return text(fmt.Sprintf("User response: action=%s, content=%v", res.Action, res.Content)), nil
}

func addResources(s *mcp.Server) {
	s.AddResource(&mcp.Resource{Name: "static-text", URI: "test://static-text", MIMEType: "text/plain",
		Description: "A fixed text resource"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
				URI: req.Params.URI, MIMEType: "text/plain", Text: "This is the content of the static text resource.",
			}}}, nil
		})
	s.AddResource(&mcp.Resource{Name: "static-binary", URI: "test://static-binary", MIMEType: "image/png",
		Description: "A fixed binary resource (a PNG image)"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
				URI: req.Params.URI, MIMEType: "image/png", Blob: pngPixel,
			}}}, nil
		})
	s.AddResourceTemplate(&mcp.ResourceTemplate{Name: "template", URITemplate: "test://template/{id}/data",
		MIMEType: "application/json", Description: "Data for an id, substituted into the URI"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			id, ok := strings.CutPrefix(req.Params.URI, "test://template/")
			id, ok2 := strings.CutSuffix(id, "/data")
			if !ok || !ok2 || id == "" || strings.Contains(id, "/") {
				return nil, mcp.ResourceNotFoundError(req.Params.URI)
			}
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
				URI: req.Params.URI, MIMEType: "application/json",
				Text: fmt.Sprintf(`{"id":%q,"templateTest":true,"data":"Data for ID: %s"}`, id, id),
			}}}, nil
		})
	s.AddResource(&mcp.Resource{Name: "watched-resource", URI: WatchedResourceURI, MIMEType: "text/plain",
		Description: "A resource that notifies its subscribers of updates"},
		func(_ context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
				URI: req.Params.URI, MIMEType: "text/plain", Text: "Watched resource content",
			}}}, nil
		})
}

func addPrompts(s *mcp.Server) {
	user := func(c mcp.Content) *mcp.PromptMessage { return &mcp.PromptMessage{Role: "user", Content: c} }
	s.AddPrompt(&mcp.Prompt{Name: "test_simple_prompt", Title: "Simple prompt", Description: "A prompt without arguments"},
		func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{user(&mcp.TextContent{Text: "This is a simple prompt for testing."})}}, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "test_prompt_with_arguments", Title: "Prompt with arguments", Description: "A prompt with two required arguments",
		Arguments: []*mcp.PromptArgument{
			{Name: "arg1", Description: "First test argument", Required: true},
			{Name: "arg2", Description: "Second test argument", Required: true},
		}},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			a := req.Params.Arguments
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{user(&mcp.TextContent{
				Text: fmt.Sprintf("Prompt with arguments: arg1='%s', arg2='%s'", a["arg1"], a["arg2"]),
			})}}, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "test_prompt_with_embedded_resource", Title: "Prompt with an embedded resource",
		Description: "A prompt that embeds the resource it is given",
		Arguments:   []*mcp.PromptArgument{{Name: "resourceUri", Description: "URI of the resource to embed", Required: true}}},
		func(_ context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{
				user(&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{
					URI: req.Params.Arguments["resourceUri"], MIMEType: "text/plain", Text: "Embedded resource content for testing.",
				}}),
				user(&mcp.TextContent{Text: "Please process the embedded resource above."}),
			}}, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "test_prompt_with_image", Title: "Prompt with an image", Description: "A prompt that carries an image"},
		func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{
				user(&mcp.ImageContent{Data: pngPixel, MIMEType: "image/png"}),
				user(&mcp.TextContent{Text: "Please analyze the image above."}),
			}}, nil
		})
}

// completionValues are offered for prompt arguments and template variables.
var completionValues = []string{"alpha", "beta", "gamma", "testValue1", "testValue2"}

func complete(_ context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	prefix := strings.ToLower(req.Params.Argument.Value)
	var vals []string
	for _, v := range completionValues {
		if strings.HasPrefix(strings.ToLower(v), prefix) {
			vals = append(vals, v)
		}
	}
	if vals == nil {
		vals = []string{}
	}
	return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: vals, Total: len(vals)}}, nil
}

// pngPixel and wavSilence are generated, not embedded, so the fixture
// carries no opaque blobs.
var (
	pngPixel   = encodePixel()
	wavSilence = encodeSilence(8000, 80)
)

func encodePixel() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.RGBA{R: 0x1f, G: 0x6f, B: 0xeb, A: 0xff})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// encodeSilence writes a mono 16-bit PCM WAV file of n silent samples.
func encodeSilence(rate, n int) []byte {
	data := make([]byte, 2*n)
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + len(data)))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1)) // PCM
	w(uint16(1)) // mono
	w(uint32(rate))
	w(uint32(rate * 2))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}
