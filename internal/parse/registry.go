package parse

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Factory builds a Parser for one stream. cfg is never nil and must be
// treated as read-only.
type Factory func(cfg *Config) (Parser, error)

var (
	regMu    sync.RWMutex
	registry = map[string]Factory{}
)

// Register adds a format. Formats call it from init. It panics on an empty
// or duplicate name or a nil factory: all are programmer errors.
func Register(name string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if name == "" {
		panic("parse: Register with empty name")
	}
	if f == nil {
		panic("parse: Register " + name + " with nil factory")
	}
	if _, dup := registry[name]; dup {
		panic("parse: duplicate format " + name)
	}
	registry[name] = f
}

// Names returns the registered format names, sorted, including "auto".
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Registered reports whether name is a registered format.
func Registered(name string) bool {
	regMu.RLock()
	defer regMu.RUnlock()
	_, ok := registry[name]
	return ok
}

// UnknownFormatError is returned for a format name nobody registered.
type UnknownFormatError struct {
	Name  string
	Valid []string
}

func (e *UnknownFormatError) Error() string {
	return fmt.Sprintf("unknown format %q (valid formats: %s)", e.Name, strings.Join(e.Valid, ", "))
}

func build(name string, cfg *Config) (Parser, error) {
	regMu.RLock()
	f, ok := registry[name]
	regMu.RUnlock()
	if !ok {
		return nil, &UnknownFormatError{Name: name, Valid: Names()}
	}
	p, err := f(cfg)
	if err != nil {
		return nil, fmt.Errorf("building parser %q: %w", name, err)
	}
	return p, nil
}

// RegisterForTest registers a format and returns a function that removes it
// again, for tests that need a throw-away parser.
func RegisterForTest(name string, f Factory) (restore func()) {
	Register(name, f)
	return func() {
		regMu.Lock()
		delete(registry, name)
		regMu.Unlock()
	}
}
