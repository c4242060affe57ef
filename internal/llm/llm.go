// Package llm is MCPSoc's small port to language-model providers: one
// Provider interface and two adapters speaking the providers' documented
// HTTP wire formats with net/http — OpenAI Chat Completions (and the many
// servers compatible with it) and Anthropic Messages. No SDK is used: the
// two requests MCPSoc makes are a few JSON fields each, and plain net/http
// keeps the binary small and every byte sent visible here.
//
// Nothing in MCPSoc calls a provider unless the configuration names one
// (config.LLM) and the feature asks for it (mcpsoc scan --judge).
package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string // "user" or "assistant"
	Content string
}

// Request is one completion request.
type Request struct {
	// System is the system prompt (instructions the model should follow).
	System   string
	Messages []Message
	// MaxTokens bounds the answer; zero uses the configured default.
	MaxTokens int
}

// Response is the model's answer.
type Response struct {
	Text string
	// StopReason is the provider's reason, normalized: "end", "max_tokens",
	// or the provider's own word.
	StopReason string
}

// Provider completes requests. Implementations are safe for concurrent use.
type Provider interface {
	Complete(ctx context.Context, req Request) (*Response, error)
	// Name is the provider and model, for messages ("openai gpt-x").
	Name() string
}

// ErrRefused is returned when the model declined to answer (an explicit
// refusal or a content filter).
var ErrRefused = errors.New("the model refused to answer")

// StatusError is a non-2xx answer from the provider. Message is the
// provider's error message (never the request, never the key).
type StatusError struct {
	Status  int
	Type    string
	Message string
}

func (e *StatusError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("provider answered HTTP %d (%s): %s", e.Status, e.Type, e.Message)
	}
	return fmt.Sprintf("provider answered HTTP %d: %s", e.Status, e.Message)
}

// maxResponseBytes bounds a provider's answer read into memory.
const maxResponseBytes = 4 << 20

// Defaults for zero config fields.
const (
	DefaultTimeout   = 60 * time.Second
	DefaultMaxTokens = 1024
	DefaultBatch     = 8
)

// New returns the adapter for cfg.Provider. hc may be nil
// (http.DefaultClient's transport, with the configured timeout per request).
func New(cfg config.LLM, hc *http.Client) (Provider, error) {
	if !cfg.Enabled() {
		return nil, errors.New("llm: no provider configured (set llm.provider)")
	}
	if cfg.BaseURL == "" || cfg.Model == "" {
		return nil, errors.New("llm: base_url and model are required")
	}
	if hc == nil {
		hc = &http.Client{}
	}
	b := base{url: strings.TrimRight(cfg.BaseURL, "/"), model: cfg.Model, key: cfg.APIKey, hc: hc,
		timeout: cfg.Timeout, maxTokens: cfg.MaxTokens}
	if b.timeout <= 0 {
		b.timeout = DefaultTimeout
	}
	if b.maxTokens <= 0 {
		b.maxTokens = DefaultMaxTokens
	}
	switch cfg.Provider {
	case "openai":
		return &openAI{b}, nil
	case "anthropic":
		return &anthropic{b}, nil
	}
	return nil, fmt.Errorf("llm: unknown provider %q (want openai or anthropic)", cfg.Provider)
}

type base struct {
	url       string
	model     string
	key       config.Secret
	hc        *http.Client
	timeout   time.Duration
	maxTokens int
}

// post sends body as JSON and returns the answer's bytes on 2xx; errDecode
// turns an error body into a StatusError.
func (b *base) post(ctx context.Context, path string, body any, header http.Header, errDecode func([]byte) (string, string)) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url+path, bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := b.hc.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return nil, fmt.Errorf("llm: no answer within %s: %w", b.timeout, context.DeadlineExceeded)
		}
		return nil, fmt.Errorf("llm: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("llm: reading answer: %w", err)
	}
	if len(raw) > maxResponseBytes {
		return nil, fmt.Errorf("llm: answer larger than %d bytes", maxResponseBytes)
	}
	if resp.StatusCode/100 != 2 {
		typ, msg := errDecode(raw)
		if msg == "" {
			msg = strings.TrimSpace(clip(string(raw), 200))
		}
		return nil, &StatusError{Status: resp.StatusCode, Type: typ, Message: msg}
	}
	return raw, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
