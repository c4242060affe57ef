// Package gateway is MCPSoc's MCP security gateway: one front door for many
// upstream MCP servers. It aggregates their tools under namespaced names
// ("upstream.tool"), serves them over Streamable HTTP and stdio, and puts
// every request through authentication (API keys, JWT/OAuth 2.1 resource
// server), authorization policy (listing and calling separately, destructive
// tools denied unless allowed, conditions on arguments), JSON Schema
// validation of arguments, size/depth and rate limits, and a hash-chained
// audit record (package audit).
//
// Connections to upstreams, reconnection and namespacing are mcpx's; the
// JSON-RPC framing and transports are the SDK's. The gateway intercepts
// requests with SDK receiving middleware and never forwards a client's
// credentials: upstreams are reached with their own configured credentials.
package gateway
