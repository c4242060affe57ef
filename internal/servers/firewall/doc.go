// Package firewall is MCPSoc's firewall MCP server ("mcpsoc mcp firewall"):
// block_ip, unblock_ip, list_blocks and status tools over a block list this
// server manages, and firewall_events, top_talkers and blocked_connections
// over firewall log files read with MCPSoc's parsers (internal/parse).
//
// Four backends hold the block list (Config.Backend): nftables (default,
// below), iptables+ipset (ipt.go: an ipset per family with element
// timeouts and a managed chain jumped to from INPUT and FORWARD), and the
// OPNsense and pfSense REST APIs (rest.go: an alias on the appliance, the
// TTLs tracked in a file under data_dir and swept). The guards, dry runs
// and audit records are the same for all.
//
// The nftables backend's managed table (default "inet mcpsoc") holds two sets, block4 (ipv4_addr) and block6
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
// The package never touches tables, sets, chains or aliases other than the
// configured ones. It does
// not own the audit log (state-changing calls are reported to
// Options.Audit) and does not choose the network namespace: nft, ipset
// and iptables act in the namespace the process runs in.
package firewall
