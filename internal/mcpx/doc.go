// Package mcpx is MCPSoc's layer over the official MCP Go SDK
// (github.com/modelcontextprotocol/go-sdk). It owns two things:
//
//   - the host's connector, Manager: many MCP servers declared in config,
//     connected concurrently over stdio or Streamable HTTP, their tools,
//     prompts and resources aggregated under namespaced names
//     ("server.tool"), with per-call timeouts, cancellation, per-server
//     concurrency limits, health checks, reconnection with backoff and a
//     circuit breaker;
//   - the server kit, Server: typed tool handlers with schemas inferred from
//     Go types, mandatory tool annotations, and serving over stdio and
//     Streamable HTTP (stateful for 2025-06-18/2025-11-25 clients, stateless
//     for 2026-07-28 ones, on one endpoint) behind Host/Origin checks and
//     request size limits.
//
// JSON-RPC framing, version negotiation and the transports themselves are
// the SDK's; mcpx never writes protocol messages by hand. It does not know
// about any particular server: built-in servers live in internal/servers.
package mcpx
