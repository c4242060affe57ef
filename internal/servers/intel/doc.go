// Package intel is MCPSoc's threat-intelligence MCP server ("mcpsoc mcp
// intel"): lookup_indicator answers from the local intel store (records with
// their provenance: sources, first and last seen, confidence, labels,
// kill-chain phases, related values), enrich_ip reads GeoIP and ASN data from
// MaxMind-format .mmdb files, and virustotal_lookup, otx_lookup and
// abuseipdb_check ask those services live when their API keys are
// configured.
//
// The package does not own the intel store: it reads it through the small
// Indicators interface, which package intel's store (STIX, TAXII, MISP and
// CSV imports) satisfies through an adapter. The soc server offers the same
// lookup_indicator tool over the same interface (AddLookupTool).
//
// Every tool is read-only. The three connectors send the indicator to a
// third party, which their descriptions say, and refuse private and
// loopback addresses so that internal addresses never leave the network.
// API keys are config.Secret values: they travel only in the request header
// each service documents and are never logged, cached or returned, and
// redirects are not followed so a key cannot be forwarded to another host.
package intel
