// Package waf is the built-in MCP server for a web application firewall:
// ModSecurity v3 (libmodsecurity, e.g. nginx with libnginx-mod-http-
// modsecurity) or Coraza, running the OWASP Core Rule Set.
//
// Its read tools work from the WAF's audit logs (libmodsecurity JSON, the
// native serial format, Coraza JSON; parsed by internal/parse/modsec) and
// from the installed rule files: waf_events, top_attacked_uris, rule_stats,
// explain_rule, list_exclusions, status.
//
// Its change tools manage false-positive exclusions: propose_exclusion
// builds a snippet (SecRuleRemoveById, or a SecRule on REQUEST_URI with
// ctl:ruleRemoveById / ctl:ruleRemoveTargetById), apply_exclusion writes it
// atomically into a configured directory, runs the configured validate
// command (nginx -t) and reload command (nginx -s reload), and puts the
// previous file back when either fails; remove_exclusion undoes one. The
// change tools are disabled until the configuration enables them, and every
// change is written to the audit log.
//
// The WAF configuration must include the exclusions directory's *.conf
// files before the CRS rules, where REQUEST-900-EXCLUSION-RULES-BEFORE-CRS
// is: the scoped exclusions are phase-1 ctl actions that must run before
// the rules they change.
package waf
