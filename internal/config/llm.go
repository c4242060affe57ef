package config

import (
	"net/url"
	"time"
)

// LLM configures the language-model provider that optional features (the
// scanner's judge, 'mcpsoc scan --judge') may call. Empty Provider means no
// provider: nothing is sent anywhere.
type LLM struct {
	// Provider is "openai" (Chat Completions and compatible servers) or
	// "anthropic" (Messages API).
	Provider string `yaml:"provider"`
	// BaseURL is the API root, e.g. https://HOST/v1 for Chat Completions or
	// https://HOST for Messages. Required: there is no built-in endpoint.
	// Plain http:// is accepted only for loopback hosts.
	BaseURL string `yaml:"base_url"`
	// Model is the provider's model name.
	Model string `yaml:"model"`
	// APIKey is sent as a bearer token (openai) or x-api-key (anthropic).
	APIKey Secret `yaml:"api_key"`
	// Timeout bounds one request (default 60s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxToolsPerRequest bounds the texts classified in one request
	// (default 8).
	MaxToolsPerRequest int `yaml:"max_tools_per_request"`
	// MaxTokens bounds the model's answer (default 1024).
	MaxTokens int `yaml:"max_tokens"`
}

// Enabled reports whether a provider is configured.
func (l LLM) Enabled() bool { return l.Provider != "" }

func (l LLM) validate(add func(path, format string, args ...any)) {
	if !l.Enabled() {
		return
	}
	switch l.Provider {
	case "openai", "anthropic":
	default:
		add("llm.provider", "must be openai or anthropic; got %q", l.Provider)
	}
	if l.Model == "" {
		add("llm.model", "must not be empty")
	}
	u, err := url.Parse(l.BaseURL)
	switch {
	case l.BaseURL == "":
		add("llm.base_url", "must be set (there is no default endpoint)")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		add("llm.base_url", "must be an http(s) URL; got %q", l.BaseURL)
	case u.Scheme == "http" && !IsLoopbackHost(u.Hostname()):
		add("llm.base_url", "plain http is allowed only on loopback; use https for %s", u.Host)
	}
	if l.Timeout < 0 {
		add("llm.timeout", "must not be negative")
	}
	if l.MaxToolsPerRequest < 0 || l.MaxToolsPerRequest > 100 {
		add("llm.max_tools_per_request", "must be between 1 and 100")
	}
	if l.MaxTokens < 0 {
		add("llm.max_tokens", "must not be negative")
	}
}
