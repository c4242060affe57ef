package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// schemaCache compiles tools' input schemas once per distinct schema text.
// Remote $ref is never resolved (no loader), so a schema cannot make the
// gateway fetch anything.
type schemaCache struct {
	mu sync.Mutex
	m  map[string]*compiled // key: tool name + "\x00" + schema JSON
	// byTool skips re-encoding the schema for a tool definition already
	// seen: the upstream manager keeps the same *mcp.Tool until its
	// catalog changes.
	byTool sync.Map // *mcp.Tool -> *compiled
	plain  sync.Map // *mcp.Tool -> bool (see forwardable)
}

// outputFor compiles the tool's output schema (cached like input schemas,
// under a distinct name).
func (c *schemaCache) outputFor(name string, t *mcp.Tool) *compiled {
	return c.get(name+"\x00output", t.OutputSchema)
}

func (c *schemaCache) forTool(name string, t *mcp.Tool) *compiled {
	if cc, ok := c.byTool.Load(t); ok {
		return cc.(*compiled)
	}
	cc := c.get(name, t.InputSchema)
	c.byTool.Store(t, cc)
	return cc
}

type compiled struct {
	rs   *jsonschema.Resolved
	fast *fastSchema // the schema's simple form, when it has one
	err  error       // the schema itself is invalid: calls are refused
}

// validate checks an instance: the fast form accepts what it can show
// valid, and the full validator decides (and words) everything else.
func (cc *compiled) validate(inst any) error {
	if cc.fast != nil && cc.fast.valid(inst) {
		return nil
	}
	return cc.rs.Validate(inst)
}

func (c *schemaCache) get(tool string, schema any) *compiled {
	raw, err := json.Marshal(schema)
	if err != nil {
		return &compiled{err: fmt.Errorf("input schema does not encode: %w", err)}
	}
	key := tool + "\x00" + string(raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*compiled{}
	}
	if cc, ok := c.m[key]; ok {
		return cc
	}
	cc := &compiled{}
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		cc.err = fmt.Errorf("input schema is not a JSON Schema: %w", err)
	} else if rs, err := s.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: false}); err != nil {
		cc.err = fmt.Errorf("input schema does not resolve: %w", err)
	} else {
		cc.rs = rs
		cc.fast = compileFast(raw)
	}
	if len(c.m) > 10_000 {
		// Bounded: upstreams that churn schemas cannot grow it forever.
		clear(c.m)
		c.byTool.Clear()
		c.plain.Clear()
	}
	c.m[key] = cc
	return cc
}

// forwardable reports whether a tool's calls can be forwarded as raw bytes:
// its input schema binds no argument to an HTTP header (x-mcp-header),
// which only the SDK client knows how to send.
func (c *schemaCache) forwardable(t *mcp.Tool) bool {
	if v, ok := c.plain.Load(t); ok {
		return v.(bool)
	}
	raw, err := json.Marshal(t.InputSchema)
	ok := err == nil && !bytes.Contains(raw, []byte(`"x-mcp-header"`))
	c.plain.Store(t, ok)
	return ok
}
