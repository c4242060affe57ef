package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/mcpsoc/mcpsoc/internal/jsonscan"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The fast path serves a 2026-07-28 tools/call without an SDK server
// session on the client side and without the SDK client on the upstream
// side: the request's JSON-RPC envelope and arguments are decoded once, the
// call goes through admitCall (every check the SDK path runs: visibility,
// quarantine, policy with CEL, rate limits, schema validation, approval,
// audit availability), is forwarded as one POST on the upstream's
// keep-alive pool (mcpx.Manager.ForwardCall), and the upstream's result
// bytes are scanned and passed back. It applies only when nothing in the
// request needs the SDK:
//
//   - the MCP-Protocol-Version header and _meta say 2026-07-28, Mcp-Method
//     and Mcp-Name agree with the body (a mismatch goes to the SDK path,
//     which answers -32020);
//   - params hold only name, arguments and _meta, and _meta only the
//     protocol version, client info and capabilities (no progress token,
//     no log level, no multi-round-trip input responses);
//   - the upstream is a Streamable HTTP server without OAuth that
//     negotiated 2026-07-28, and the tool declares no x-mcp-header
//     parameters.
//
// Anything else is served by the SDK path unchanged.

const fastVersion = "2026-07-28"

const (
	metaVersion = "io.modelcontextprotocol/protocolVersion"
	metaClient  = "io.modelcontextprotocol/clientInfo"
	metaCaps    = "io.modelcontextprotocol/clientCapabilities"
)

type fastEnvelope struct {
	ID     json.RawMessage
	Params struct {
		Name      string
		Arguments json.RawMessage
	}
}

func (f *front) fastPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header
		if r.Method != http.MethodPost || headerIsNot(h, "Mcp-Method", "tools/call") || headerIsNot(h, "Mcp-Protocol-Version", fastVersion) {
			next.ServeHTTP(w, r)
			return
		}
		var body []byte
		if bb, ok := r.Body.(*readBody); ok {
			body = bb.b // read and checked by limitBody, not consumed
		} else {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				rpcError(w, http.StatusBadRequest, -32700, "cannot read request body")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if !f.serveFast(w, r, body) {
			next.ServeHTTP(w, r)
		}
	})
}

// headerIsNot reports whether h lacks key (given in canonical form) or holds
// another first value than want: Header.Get without canonicalizing.
func headerIsNot(h http.Header, key, want string) bool {
	v := h[key]
	return len(v) == 0 || v[0] != want
}

// parseFast reads a tools/call for the fast path in one pass over the
// valid JSON body, keeping the id and arguments as raw bytes. Anything it
// does not expect sends the request to the SDK path, which answers it as
// before: members other than jsonrpc, id, method and params (or params
// members other than name, arguments and _meta, or _meta keys other than
// the protocol version, client info and capabilities, such as a progress
// token, a log level or multi-round-trip input responses), a member given
// twice, an escaped key, a notification, a name that disagrees with the
// Mcp-Name header, or another protocol version.
func parseFast(body []byte, nameHeader string) (*fastEnvelope, bool) {
	if !jsonscan.Valid(body) {
		return nil, false
	}
	env := &fastEnvelope{}
	ok := fastObject(body, 15, func(k, v []byte) (uint8, bool) {
		switch string(k) {
		case "jsonrpc":
			return 1, string(v) == `"2.0"`
		case "id":
			env.ID = v
			return 2, plainID(v)
		case "method":
			return 4, string(v) == `"tools/call"`
		case "params":
			return 8, parseFastParams(v, env)
		}
		return 0, false
	})
	if !ok {
		return nil, false
	}
	if env.Params.Name == "" || nameHeader != env.Params.Name {
		return nil, false
	}
	if a := env.Params.Arguments; len(a) > 0 && a[0] != '{' && string(a) != "null" {
		return nil, false // admitCall would refuse it; let the SDK answer as it does
	}
	return env, true
}

func parseFastParams(v []byte, env *fastEnvelope) bool {
	return fastObject(v, 5, func(k, v []byte) (uint8, bool) {
		switch string(k) {
		case "name":
			var ok bool
			env.Params.Name, ok = jsonscan.String(v)
			return 1, ok
		case "arguments":
			env.Params.Arguments = v
			return 2, true
		case "_meta":
			return 4, fastMeta(v)
		}
		return 0, false
	})
}

// fastMeta accepts _meta holding the 2026-07-28 protocol version and at
// most the client's info and capabilities besides.
func fastMeta(v []byte) bool {
	return fastObject(v, 1, func(k, v []byte) (uint8, bool) {
		switch string(k) {
		case metaVersion:
			return 1, string(v) == `"`+fastVersion+`"`
		case metaClient:
			return 2, true
		case metaCaps:
			return 4, true
		}
		return 0, false
	})
}

// fastObject walks the members of the JSON object v. member names each
// expected key's bit and says whether its value is acceptable; an
// unexpected key (bit 0), a rejected value, a repeated key, a value that
// is not an object or a missing required bit makes it report false.
func fastObject(v []byte, required uint8, member func(k, v []byte) (bit uint8, ok bool)) bool {
	var seen uint8
	ok := true
	obj := jsonscan.Members(v, func(k, v []byte) bool {
		bit, good := member(k, v)
		if bit == 0 || !good || seen&bit != 0 {
			ok = false
			return false
		}
		seen |= bit
		return true
	})
	return obj && ok && seen&required == required
}

// serveFast answers the request and returns true, or returns false without
// writing anything when the request must take the SDK path.
func (f *front) serveFast(w http.ResponseWriter, r *http.Request, body []byte) bool {
	var nameHeader string
	if v := r.Header["Mcp-Name"]; len(v) > 0 {
		nameHeader = v[0]
	}
	env, ok := parseFast(body, nameHeader)
	if !ok {
		return false
	}
	p, _ := r.Context().Value(principalCtxKey{}).(*Principal)
	if p == nil {
		return false
	}
	full := env.Params.Name
	if f.only != "" {
		full = f.only + "." + full
	}
	server, _, ok := mcpx.SplitName(full)
	if !ok || !f.g.mgr.CanForward(server) {
		return false
	}
	if t, ok := f.g.tools(false).byName[full]; ok && !f.g.schemas.forwardable(t.Tool) {
		return false
	}
	f.g.fastCalls.Add(1)
	ctx := r.Context()
	c, d := f.admitCall(ctx, p, env.Params.Name, env.Params.Arguments, "", nil)
	if d != nil {
		switch {
		case d.res == nil:
			writeRPCError(w, env.ID, d.rpcErr)
		case d.decision == "unaudited":
			writeResult(w, env.ID, encodeResult(d.res))
		default:
			b := encodeResult(d.res)
			c.finish(ctx, b, d.decision, d.reason)
			writeResult(w, env.ID, b)
		}
		return true
	}
	args := c.raw
	if c.args == nil {
		args = nil // absent or null arguments reach the upstream as {}
	}
	raw, err := f.g.mgr.ForwardCall(ctx, c.tool.Server, c.tool.Tool.Name, args)
	if err != nil {
		res, msg := c.upstreamFailure(ctx, err)
		if res == nil {
			return true // the client went away
		}
		b := encodeResult(res)
		c.finish(ctx, b, "error", msg)
		writeResult(w, env.ID, b)
		return true
	}
	out, decision, reason := f.g.checkForwarded(c, raw)
	c.finish(ctx, out, decision, reason)
	writeResult(w, env.ID, out)
	return true
}

// checkForwarded applies the result checks of the SDK path to raw result
// bytes: multi-round-trip results are refused, structured content is held
// to the output schema, and credentials are redacted or blocked. Results
// that need none of that are passed through byte for byte.
func (g *Gateway) checkForwarded(c *call, raw json.RawMessage) (json.RawMessage, string, string) {
	head, err := resultHead(raw)
	if err != nil {
		return encodeResult(toolError("upstream result of %s is malformed; withheld", c.shown)), "error", "malformed upstream result"
	}
	if head.ResultType != "" && head.ResultType != "complete" {
		return encodeResult(toolError("upstream %s asked for more input (%s), which the gateway does not relay", c.tool.Server, head.ResultType)),
			"error", "upstream result type " + head.ResultType
	}
	mode := g.cfg.Content.Responses
	needOutput := len(head.StructuredContent) > 0 && string(head.StructuredContent) != "null" && c.tool.Tool.OutputSchema != nil
	needScan := mode != "off" && (mayHoldSecret(raw) || bytes.Contains(raw, []byte(`\u`)))
	if !needOutput && !needScan {
		return raw, "allow", ""
	}
	var res mcp.CallToolResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return encodeResult(toolError("upstream result of %s is malformed; withheld", c.shown)), "error", "malformed upstream result"
	}
	if bad := c.checkOutput(&res); bad != nil {
		return encodeResult(bad), "error", "structured content violates the output schema"
	}
	out, why := scanResponse(mode, &res)
	if why == "" {
		return raw, "allow", ""
	}
	if mode == "block" {
		return encodeResult(out), "deny", why
	}
	return encodeResult(out), "allow", why
}

type forwardedHead struct {
	ResultType        string          `json:"resultType"`
	StructuredContent json.RawMessage `json:"structuredContent"`
}

var headNames = []string{"resultType", "structuredContent"}

// resultHead reads the members of a result object checkForwarded needs, in
// one pass when encoding/json would read them the same way.
func resultHead(raw []byte) (forwardedHead, error) {
	var head forwardedHead
	var vals [2][]byte
	if ok, plain := jsonscan.Pick(raw, headNames, vals[:]); ok && plain && jsonscan.Valid(raw) {
		if v := vals[0]; v != nil && string(v) != "null" {
			s, isStr := jsonscan.String(v)
			if !isStr {
				return head, errors.New("resultType is not a string")
			}
			head.ResultType = s
		}
		head.StructuredContent = vals[1]
		return head, nil
	}
	err := json.Unmarshal(raw, &head)
	return head, err
}

// plainID reports whether id is a JSON-RPC request id (a string or a
// number, not null: notifications take the SDK path).
func plainID(id json.RawMessage) bool {
	if len(id) == 0 {
		return false
	}
	switch c := id[0]; {
	case c == '"':
		return true
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := strconv.ParseFloat(string(id), 64)
		return err == nil
	}
	return false
}

// encodeResult encodes a gateway-made tool result for a 2026-07-28 client.
func encodeResult(res *mcp.CallToolResult) []byte {
	b, err := json.Marshal(res)
	if err != nil || len(b) < 2 {
		return []byte(`{"resultType":"complete","isError":true,"content":[{"type":"text","text":"result could not be encoded"}]}`)
	}
	if bytes.Contains(b, []byte(`"resultType"`)) {
		return b
	}
	out := make([]byte, 0, len(b)+26)
	out = append(out, `{"resultType":"complete"`...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, b[1:]...)
}

// jsonContentType is the Content-Type value of fast-path answers, built
// once (net/http copies the header when it writes it).
var jsonContentType = []string{"application/json"}

func writeResult(w http.ResponseWriter, id, result []byte) {
	// Written in pieces into the response's buffer: no copy of the result.
	const head, mid, tail = `{"jsonrpc":"2.0","id":`, `,"result":`, "}\n"
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(head) + len(id) + len(mid) + len(result) + len(tail))}
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, head)
	_, _ = w.Write(id)
	_, _ = io.WriteString(w, mid)
	_, _ = w.Write(result)
	_, _ = io.WriteString(w, tail)
}

func writeRPCError(w http.ResponseWriter, id []byte, err error) {
	var we *jsonrpc.Error
	if !errors.As(err, &we) {
		code := int64(jsonrpc.CodeInternalError)
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			code = -32000
		}
		we = &jsonrpc.Error{Code: code, Message: err.Error()}
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": json.RawMessage(id), "error": we})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
}
