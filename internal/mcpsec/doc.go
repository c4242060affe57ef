// Package mcpsec holds the content analyzers shared by the MCP scanner and the
// MCP security gateway. It reads everything a model will read from an MCP
// server — tool names, titles, descriptions, every string leaf of input and
// output schemas, annotations, server instructions, prompts and resources —
// and reports findings with stable rule ids, a tier (hard findings fail CI,
// review findings ask a human), a severity and a mapping to the OWASP MCP Top
// 10.
//
// The analysis is offline and deterministic. It scores combinations of weak
// signals (imperatives aimed at the assistant, secrecy, sensitive targets,
// sinks, triggers, cross-tool references) rather than matching known payload
// strings, checks raw text for invisible Unicode and ANSI escapes before any
// normalization, decodes base64, hex and URL-encoded blobs and re-scans them,
// and analyzes several servers together to find cross-server shadowing, name
// collisions and payloads split across tools.
//
// mcpsec does not discover client configurations, connect to servers, pin or
// sign definitions, or talk to a language model: an optional Judge may be
// supplied by the caller, and nothing leaves the machine by default.
package mcpsec
