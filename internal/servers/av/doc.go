// Package av is MCPSoc's antivirus MCP server ("mcpsoc mcp av"): ClamAV's
// clamd driven over its socket protocol (PING, VERSION, STATS, INSTREAM)
// with a client of our own, file and directory scans confined to allowed
// roots, scans of uploaded bytes, a quarantine that moves files out with
// their metadata and can restore them, and recent detections read from the
// clamd log through the clamav parser.
//
// Files are always streamed to clamd with INSTREAM, never named to it with
// SCAN: the server reads each file itself through os.Root, so the
// allowed-roots check and the read are the same operation (no window for a
// swapped symlink), the server never learns about files its own user cannot
// read even when clamd runs as root, and the same code works with a clamd
// on another host over TCP that cannot see our file system.
//
// The package does not run or configure clamd and does not own the audit
// log: state-changing calls are reported to Options.Audit.
package av
