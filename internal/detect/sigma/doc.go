// Package sigma parses, compiles and evaluates Sigma detection rules against
// single events.
//
// It owns the rule format (detection maps and lists, keywords, conditions,
// value modifiers), logsource routing, field-name mapping, directory loading
// with per-rule error reports, and the Engine that matches one event against
// every loaded rule. It does not own correlation rules (see
// internal/detect/correlate), the event type (any value with a Get method will
// do), nor alert persistence.
//
// The engine is built to avoid evaluating rules that cannot match: rules are
// bucketed by the logsource an event belongs to ("lanes"), and inside a lane
// each rule is indexed by a required literal (its witness) and, when its
// condition ANDs another literal-bearing part, by a second one: the rule is
// a candidate only when both occur. Per indexed field, contains-literals are
// found by one pass over the value and anchored literals (startswith,
// endswith, exact) by a pass over the value's first and last bytes only;
// each pass is an Aho-Corasick automaton while its table stays small, a
// 4-gram bitmap index (gramIndex) once it would not fit in cache or when
// all its literals are long enough to be probed at a stride. Literals
// with non-ASCII bytes are indexed apart and looked for only in values
// that are not pure ASCII. Only
// candidates, plus the few rules without a witness, are evaluated in full.
// Field values are fetched and lower-cased once per event and the per-event
// scratch space is pooled, so a non-matching event allocates nothing.
package sigma
