package config

import (
	"encoding/json"
	"log/slog"
)

// Secret holds a credential read from configuration. It never prints,
// logs or marshals its value: every formatting path yields "[redacted]"
// (or "" when empty), so a config dump or an API response cannot leak it.
// Use Value to read the credential where it is needed.
type Secret struct{ v string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: s} }

// Value returns the credential itself.
func (s Secret) Value() string { return s.v }

// IsSet reports whether a non-empty value is held.
func (s Secret) IsSet() bool { return s.v != "" }

const redacted = "[redacted]"

func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return "config.Secret(" + s.String() + ")" }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the redaction marker, never the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML writes the redaction marker, never the value.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML reads the value from a YAML scalar.
func (s *Secret) UnmarshalYAML(unmarshal func(any) error) error {
	var v string
	if err := unmarshal(&v); err != nil {
		return err
	}
	s.v = v
	return nil
}
