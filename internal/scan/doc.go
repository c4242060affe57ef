// Package scan finds the MCP servers configured in client applications
// (Claude Desktop, Claude Code, Cursor, VS Code, Windsurf, Cline, Zed,
// Continue, Gemini CLI, Codex, Kiro, OpenCode and others), checks each entry
// statically (hard-coded secrets, unpinned packages, look-alike names,
// plaintext remote servers, download-and-execute wrappers), optionally
// connects to the servers to read what they show a model, and assembles the
// findings into table, JSON and SARIF reports.
//
// It owns discovery, config parsing, the static config rules (MCP-CONFIG-*),
// connecting for a scan and the report formats. It does not analyze tool
// text itself: that is internal/mcpsec. Lockfiles are internal/pin, signed
// manifests internal/sign.
package scan
