// Package event owns the normalized security event that every parser produces
// and every consumer (detection engines, the store, the API) reads, plus the
// OCSF-style Severity scale. It does not parse logs (package parse does) and it
// does not store or index events.
//
// # Field names
//
// Field names are Elastic Common Schema (ECS) dotted names: "@timestamp",
// "event.kind", "source.ip", "url.original", and so on. Data a format carries
// that ECS has no name for lives under a vendor namespace ("pfsense.tos",
// "suricata.eve.flow_id", "winlog.event_data.Image"); nothing a parser
// understood is dropped.
//
// # Layout and why
//
// Parsers must normalize several hundred thousand firewall lines per second
// per core, so an Event is not a map. The fields almost every event has
// (timestamp, event.*, source/destination address and port, network.*,
// observer.*, rule.*, message, event.original, provenance) are typed struct
// fields: setting them costs a store and reading them a load. Every other
// field is an entry in a small ordered slice of name/value pairs (the
// extension list). A slice beats a map here: events carry 5 to 40 extension
// fields, appending needs no hashing and no bucket allocation, and a linear
// scan over a few dozen short strings is as fast as a hash lookup.
//
// Values are kept JSON-like so generic consumers need no type switch beyond
// the JSON kinds: string, int64, float64, bool, []string and []any (whose
// elements are JSON-like too). Addresses are canonical text produced by
// net/netip; ports are numbers. Port 0 and Severity 0 mean "absent" in the
// typed fields (ECS gives neither a useful meaning).
//
// # Access
//
// Get resolves any dotted name to its value, typed or extension; Fields walks
// every present field; MarshalJSON writes nested ECS JSON
// ({"source":{"ip":"192.0.2.1"}}) and UnmarshalJSON reads it back.
//
// Windows events keep their data in ECS form (winlog.event_id,
// winlog.event_data.Image, ...). Get additionally resolves the field names
// Sigma's Windows rules use as-is: "EventID", "Channel", "Provider_Name",
// "Computer" and the other System names map to their winlog.* field, and any
// other undotted name is looked up in winlog.event_data then
// winlog.user_data, so "Image" and "CommandLine" work unchanged.
//
// # Pipeline errors
//
// A record no parser understands is still an event: Kind is
// KindPipelineError, Original holds the input text and "error.message" the
// reason. Losing input silently is worse than storing noise.
//
// An Event is not safe for concurrent mutation; concurrent reads are safe.
package event
