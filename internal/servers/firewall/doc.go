// Package firewall is MCPSoc's firewall MCP server ("mcpsoc mcp firewall")
// with an nftables backend: block_ip, unblock_ip, list_blocks and status
// tools over a table this server manages (default "inet mcpsoc"), and
// firewall_events, top_talkers and blocked_connections over firewall log
// files read with MCPSoc's parsers (internal/parse).
//
// The managed table holds two sets, block4 (ipv4_addr) and block6
// (ipv6_addr), both with "flags timeout" so that a block's TTL is the set
// element's timeout and the kernel lifts it on time even when the server is
// not running, and two base chains hooked at input and forward that drop
// packets whose source address is in a set. The reason given for a block
// travels with the element as its nft comment, so no local state file can
// drift from the kernel's view.
//
// The package drives the real nft binary: state is read with "nft -j" and
// changes are sent as one script on stdin ("nft -f -"), so each change is
// one kernel transaction. Nothing from a caller reaches a script unparsed:
// addresses go through net/netip, durations through time.ParseDuration,
// and reasons are limited to a safe character set.
//
// The package never touches tables other than the configured one. It does
// not own the audit log (state-changing calls are reported to
// Options.Audit) and does not choose the network namespace: nft acts in the
// namespace the process runs in.
package firewall
