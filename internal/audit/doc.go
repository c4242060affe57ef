// Package audit owns MCPSoc's tamper-evident audit log: an append-only file of
// JSON lines in which every record carries its sequence number, the hash of
// the record before it and its own hash, so that editing, deleting, inserting
// or reordering any record breaks the chain at a point Verify names.
//
// # Format
//
// One record per line, UTF-8 JSON, newline-terminated. Fields appear in the
// fixed order of Record, compact, with Go's encoding/json escaping; this
// encoding is the canonical form and Verify rejects a line that is not in it
// (so even a whitespace edit is caught). The first record has seq 1 and prev
// equal to GenesisPrev; each later record has seq one more than its
// predecessor and prev equal to its predecessor's hash.
//
// A record's hash is the lowercase hex SHA-256 of
//
//	"mcpsoc.audit.v1\n" + canonical JSON of the record without its hash field
//
// # What the chain does not prove
//
// A chain alone cannot show that records were cut off the end. Writers
// expose the head (last seq and hash) and Verify reports it: anchor the head
// elsewhere (the SOC store, a ticket, a signed note) and pass it back with
// VerifyOptions.ExpectHead to detect truncation.
//
// # Durability
//
// Appends are group-committed: concurrent Appends are chained in order and
// written together with one write(2) of whole lines (one fsync under
// SyncAlways), and each Append returns only after the write that carried
// its record, so an acknowledged record survives a process crash (and, under
// SyncAlways, a power loss). A crash leaves at most one torn line at the
// end (a partially written batch is cut at its last whole line, later lines
// chaining from it are gone with it, and their callers were never told they
// succeeded). The fsync policy is chosen per writer (SyncAlways,
// SyncInterval, SyncNever; see SyncPolicy). On open, a torn final line (no
// newline) is cut off and a kind "audit.recovered" record stating how many
// bytes were dropped and their hash is appended, so recovery itself is on the
// record. Any other damage makes Open fail: the writer never extends a
// chain it cannot verify.
//
// The package does not decide what to record; the gateway (and later the
// playbook runner) fill the Event fields.
package audit
