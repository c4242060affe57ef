package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// openAI speaks Chat Completions: POST {base_url}/chat/completions with a
// bearer token, messages [{role, content}], answers in
// choices[0].message.content; a refusal comes as choices[0].message.refusal
// or finish_reason "content_filter".
type openAI struct{ base }

func (p *openAI) Name() string { return "openai " + p.model }

type oaiMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type oaiRequest struct {
	Model       string       `json:"model"`
	Messages    []oaiMessage `json:"messages"`
	MaxTokens   int          `json:"max_tokens,omitempty"`
	Temperature float64      `json:"temperature"`
}

type oaiResponse struct {
	Choices []struct {
		Message struct {
			Role    string  `json:"role"`
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

func (p *openAI) Complete(ctx context.Context, req Request) (*Response, error) {
	body := oaiRequest{Model: p.model, MaxTokens: req.MaxTokens, Temperature: 0}
	if body.MaxTokens <= 0 {
		body.MaxTokens = p.maxTokens
	}
	if req.System != "" {
		body.Messages = append(body.Messages, oaiMessage{Role: "system", Content: req.System})
	}
	for _, m := range req.Messages {
		body.Messages = append(body.Messages, oaiMessage{Role: m.Role, Content: m.Content})
	}
	h := http.Header{}
	if p.key.IsSet() {
		h.Set("Authorization", "Bearer "+p.key.Value())
	}
	raw, err := p.post(ctx, "/chat/completions", body, h, func(b []byte) (string, string) {
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
	var r oaiResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("llm: malformed chat completion: %w", err)
	}
	if len(r.Choices) == 0 {
		return nil, errors.New("llm: malformed chat completion: no choices")
	}
	c := r.Choices[0]
	if c.Message.Refusal != nil && *c.Message.Refusal != "" {
		return nil, fmt.Errorf("%w: %s", ErrRefused, clip(*c.Message.Refusal, 200))
	}
	if c.FinishReason == "content_filter" {
		return nil, fmt.Errorf("%w (content filter)", ErrRefused)
	}
	if c.Message.Content == nil {
		return nil, errors.New("llm: malformed chat completion: no content")
	}
	stop := c.FinishReason
	switch stop {
	case "stop":
		stop = "end"
	case "length":
		stop = "max_tokens"
	}
	return &Response{Text: *c.Message.Content, StopReason: stop}, nil
}
