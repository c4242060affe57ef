package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// anthropicVersion is the Messages API version header value.
const anthropicVersion = "2023-06-01"

// anthropic speaks the Messages API: POST {base_url}/v1/messages with
// x-api-key and anthropic-version headers, a top-level system string and
// messages [{role, content}]; the answer is a list of content blocks, text
// blocks carrying the text; stop_reason "refusal" is a refusal.
type anthropic struct{ base }

func (p *anthropic) Name() string { return "anthropic " + p.model }

type antMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type antRequest struct {
	Model       string       `json:"model"`
	MaxTokens   int          `json:"max_tokens"`
	System      string       `json:"system,omitempty"`
	Messages    []antMessage `json:"messages"`
	Temperature float64      `json:"temperature"`
}

type antResponse struct {
	Type    string `json:"type"`
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StopReason string `json:"stop_reason"`
}

func (p *anthropic) Complete(ctx context.Context, req Request) (*Response, error) {
	body := antRequest{Model: p.model, MaxTokens: req.MaxTokens, System: req.System, Temperature: 0}
	if body.MaxTokens <= 0 {
		body.MaxTokens = p.maxTokens
	}
	for _, m := range req.Messages {
		body.Messages = append(body.Messages, antMessage{Role: m.Role, Content: m.Content})
	}
	h := http.Header{}
	if p.key.IsSet() {
		h.Set("X-Api-Key", p.key.Value())
	}
	h.Set("Anthropic-Version", anthropicVersion)
	path := "/v1/messages"
	if strings.HasSuffix(p.url, "/v1") {
		path = "/messages"
	}
	raw, err := p.post(ctx, path, body, h, func(b []byte) (string, string) {
		var e struct {
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		return e.Error.Type, e.Error.Message
	})
	if err != nil {
		return nil, err
	}
	var r antResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("llm: malformed messages answer: %w", err)
	}
	if r.Type != "" && r.Type != "message" {
		return nil, fmt.Errorf("llm: malformed messages answer: type %q", r.Type)
	}
	if r.StopReason == "refusal" {
		return nil, ErrRefused
	}
	var text strings.Builder
	n := 0
	for _, c := range r.Content {
		if c.Type == "text" {
			text.WriteString(c.Text)
			n++
		}
	}
	if n == 0 {
		return nil, errors.New("llm: malformed messages answer: no text block")
	}
	stop := r.StopReason
	if stop == "end_turn" || stop == "stop_sequence" {
		stop = "end"
	}
	return &Response{Text: text.String(), StopReason: stop}, nil
}
