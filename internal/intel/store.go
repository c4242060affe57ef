package intel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/detect/ioc"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Store is the persistent indicator store. It is safe for concurrent use;
// several processes may open the same file (an 'mcpsoc intel import' while
// 'serve' runs): Refresh picks up what the others wrote.
type Store struct {
	db  *sql.DB
	set *ioc.Set
	now func() time.Time

	mu      sync.Mutex // serializes writers and guards rev
	lastRev int64      // highest rev loaded into set

	stmts sync.Map // query text → *sql.Stmt, for the lookup path
}

// prep returns a prepared statement for a query of the lookup path,
// preparing it once: SQLite's parser costs as much as a lookup's search.
func (s *Store) prep(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Options configure Open. Nil means defaults.
type Options struct {
	// Set is the matcher kept in step with the store; nil creates one.
	Set *ioc.Set
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// NoMatcher keeps no matcher: for processes that import or look up
	// but do not detect (the CLI, MCP servers), so opening a large store
	// does not load it into memory. Set then returns nil.
	NoMatcher bool
}

const schema = `
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(k, v) VALUES ('rev', 0), ('schema', 1);
CREATE TABLE IF NOT EXISTS indicators(
	id          INTEGER PRIMARY KEY,
	type        TEXT NOT NULL,
	value       TEXT NOT NULL,
	confidence  INTEGER NOT NULL DEFAULT 0,
	valid_from  INTEGER NOT NULL DEFAULT 0,
	valid_until INTEGER NOT NULL DEFAULT 0,
	first_seen  INTEGER NOT NULL,
	last_seen   INTEGER NOT NULL,
	modified    INTEGER NOT NULL,
	rev         INTEGER NOT NULL,
	sources     TEXT NOT NULL DEFAULT '',
	UNIQUE(type, value)
);
CREATE INDEX IF NOT EXISTS indicators_rev ON indicators(rev);
CREATE INDEX IF NOT EXISTS indicators_modified ON indicators(modified, id);
CREATE TABLE IF NOT EXISTS provenance(
	indicator_id INTEGER NOT NULL REFERENCES indicators(id) ON DELETE CASCADE,
	source       TEXT NOT NULL,
	ref          TEXT NOT NULL DEFAULT '',
	first_seen   INTEGER NOT NULL,
	last_seen    INTEGER NOT NULL,
	confidence   INTEGER NOT NULL DEFAULT 0,
	valid_from   INTEGER NOT NULL DEFAULT 0,
	valid_until  INTEGER NOT NULL DEFAULT 0,
	description  TEXT NOT NULL DEFAULT '',
	detail       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY(indicator_id, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS provenance_ref ON provenance(source, ref);
CREATE TABLE IF NOT EXISTS sources(name TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT OR IGNORE INTO sources(name) SELECT DISTINCT source FROM provenance;
CREATE TABLE IF NOT EXISTS feed_state(
	name       TEXT PRIMARY KEY,
	since      INTEGER NOT NULL DEFAULT 0,
	last_try   INTEGER NOT NULL DEFAULT 0,
	last_ok    INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT ''
);
`

// Open opens (creating if needed) the store in the SQLite file at path and
// loads every indicator into the matcher. Writes are synchronous (WAL,
// synchronous=FULL): an import that returned survives a crash.
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("opening intel store: path %q must not contain '?' or '#'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("opening intel store: %w", err)
	}
	v := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "foreign_keys(on)", "journal_mode(wal)", "synchronous(full)", "cache_size(-65536)", "temp_store(memory)"} {
		v.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", path+"?"+v.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("opening intel store: %w", err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating the intel schema in %s: %w", path, err)
	}
	s := &Store{db: db, now: time.Now}
	noMatcher := false
	if opts != nil {
		s.set = opts.Set
		if opts.Now != nil {
			s.now = opts.Now
		}
		noMatcher = opts.NoMatcher
	}
	if s.set == nil && !noMatcher {
		s.set = ioc.NewSet()
	}
	if _, err := s.Refresh(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.stmts.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
	return s.db.Close()
}

// Set returns the matcher the store keeps in step: give it to detection
// (detect.Options.Intel). It is nil with Options.NoMatcher.
func (s *Store) Set() *ioc.Set { return s.set }

// Len counts the indicators held.
func (s *Store) Len(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM indicators`).Scan(&n)
	return n, err
}

// Refresh loads into the matcher the indicators changed since the last
// load, including those other processes wrote, and returns how many.
func (s *Store) Refresh(ctx context.Context) (int, error) {
	if s.set == nil {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.db.QueryContext(ctx, `SELECT type, value, confidence, valid_until, sources, rev
		FROM indicators WHERE rev > ?`, s.lastRev)
	if err != nil {
		return 0, fmt.Errorf("loading indicators: %w", err)
	}
	defer rows.Close()
	n := 0
	maxRev := s.lastRev
	batch := make([]ioc.Indicator, 0, 4096)
	for rows.Next() {
		var in ioc.Indicator
		var until, rev int64
		if err := rows.Scan(&in.Type, &in.Value, &in.Confidence, &until, &in.Source, &rev); err != nil {
			return n, fmt.Errorf("loading indicators: %w", err)
		}
		in.Expires = fromNanos(until)
		batch = append(batch, in)
		maxRev = max(maxRev, rev)
		if len(batch) == cap(batch) {
			n += s.addToSet(batch)
			batch = batch[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("loading indicators: %w", err)
	}
	n += s.addToSet(batch)
	s.lastRev = maxRev
	return n, nil
}

// addToSet adds indicators the store already normalized. Set.Add rejects
// nothing Normalize accepted, so its error cannot happen for stored rows.
func (s *Store) addToSet(b []ioc.Indicator) int {
	if len(b) == 0 || s.set == nil {
		return 0
	}
	_ = s.set.Add(b...)
	return len(b)
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// detail is the JSON kept with a provenance row.
type detail struct {
	Labels       []string         `json:"labels,omitempty"`
	KillChain    []KillChainPhase `json:"kill_chain_phases,omitempty"`
	ExternalRefs []ExternalRef    `json:"external_references,omitempty"`
}

// ErrNoSource is returned by Import without a source name.
var ErrNoSource = errors.New("an import needs a source name")

// Import writes a batch from source in one transaction and then updates
// the matcher, so the indicators apply to the next event. An entry whose
// value does not normalize, or whose valid_until has passed, is skipped
// with the reason; entries repeated in the batch are merged (the last
// wins).
func (s *Store) Import(ctx context.Context, source string, b Batch) (Result, error) {
	res := Result{Source: source, Skipped: slices.Clone(b.Skipped)}
	source = strings.TrimSpace(source)
	if source == "" {
		return res, ErrNoSource
	}
	type key struct {
		t ioc.Type
		v string
	}
	seen := make(map[key]int, len(b.Entries))
	entries := make([]Entry, 0, len(b.Entries))
	now := s.now()
	for _, e := range b.Entries {
		ref := e.Ref
		if ref == "" {
			ref = e.Value
		}
		n, err := ioc.Normalize(ioc.Indicator{Type: e.Type, Value: e.Value, Confidence: e.Confidence})
		if err != nil {
			res.Skipped = append(res.Skipped, Skip{Ref: ref, Reason: err.Error()})
			continue
		}
		if !e.ValidUntil.IsZero() && !now.Before(e.ValidUntil) {
			res.Skipped = append(res.Skipped, Skip{Ref: ref, Reason: "expired: valid_until " + e.ValidUntil.UTC().Format(time.RFC3339) + " has passed"})
			continue
		}
		e.Type, e.Value = n.Type, n.Value
		k := key{e.Type, e.Value}
		if i, ok := seen[k]; ok {
			entries[i] = e
			continue
		}
		seen[k] = len(entries)
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return res, nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	set, err := s.write(ctx, source, entries, &res)
	if err != nil {
		return Result{Source: source, Skipped: res.Skipped}, fmt.Errorf("importing from %s: %w", source, err)
	}
	s.addToSet(set)
	return res, nil
}

// chunk is the rows per multi-row statement (SQLite allows 32766
// parameters; the widest row here has 11).
const chunk = 500

func placeholders(rows, cols int) string {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	return row + strings.Repeat(","+row, rows-1)
}

// write stores entries in one transaction, set-based: which indicators
// exist is read in chunks, new ones are inserted with their merged view
// (their only source's), known ones get the source's provenance and then a
// recomputed view. It returns the matcher's new view of every entry.
func (s *Store) write(ctx context.Context, source string, entries []Entry, res *Result) ([]ioc.Indicator, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	// Full chunks share one statement text: prepare each text once per
	// import (SQLite's parser is a large part of a multi-row insert).
	prepared := map[string]*sql.Stmt{}
	defer func() {
		for _, st := range prepared {
			st.Close()
		}
	}()
	stmt := func(q string) (*sql.Stmt, error) {
		if st, ok := prepared[q]; ok {
			return st, nil
		}
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		prepared[q] = st
		return st, nil
	}
	exec := func(q string, args ...any) error {
		st, err := stmt(q)
		if err != nil {
			return err
		}
		_, err = st.ExecContext(ctx, args...)
		return err
	}
	var rev, maxID int64
	if err := tx.QueryRowContext(ctx, `UPDATE meta SET v = v + 1 WHERE k = 'rev' RETURNING v`).Scan(&rev); err != nil {
		return nil, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM indicators`).Scan(&maxID); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sources(name) VALUES (?)`, source); err != nil {
		return nil, err
	}
	// Each import gets its own instant so 'modified' orders imports even
	// when two share a clock tick.
	nowN := s.now().UTC().UnixNano() + rev%1000

	type key struct {
		t ioc.Type
		v string
	}
	ids := make([]int64, len(entries))
	known := make([]bool, len(entries))
	for lo := 0; lo < len(entries); lo += chunk {
		hi := min(lo+chunk, len(entries))
		args := make([]any, 0, 2*(hi-lo))
		for _, e := range entries[lo:hi] {
			args = append(args, string(e.Type), e.Value)
		}
		sel, err := stmt(`SELECT id, type, value FROM indicators WHERE (type, value) IN (VALUES ` + placeholders(hi-lo, 2) + `)`)
		if err != nil {
			return nil, err
		}
		rows, err := sel.QueryContext(ctx, args...)
		if err != nil {
			return nil, err
		}
		found := map[key]int64{}
		for rows.Next() {
			var id int64
			var k key
			if err := rows.Scan(&id, &k.t, &k.v); err != nil {
				rows.Close()
				return nil, err
			}
			found[k] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for i := lo; i < hi; i++ {
			if id, ok := found[key{entries[i].Type, entries[i].Value}]; ok {
				ids[i], known[i] = id, true
			} else {
				maxID++
				ids[i] = maxID
			}
		}
	}

	var newArgs, oldIDs, provArgs []any
	flushNew := func() error {
		if len(newArgs) == 0 {
			return nil
		}
		err := exec(`INSERT INTO indicators(id, type, value, first_seen, last_seen, modified, rev,
			confidence, valid_from, valid_until, sources) VALUES `+placeholders(len(newArgs)/11, 11), newArgs...)
		newArgs = newArgs[:0]
		return err
	}
	flushOld := func() error {
		if len(oldIDs) == 0 {
			return nil
		}
		err := exec(`UPDATE indicators SET last_seen = ?, rev = ? WHERE id IN (?`+strings.Repeat(",?", len(oldIDs)-1)+`)`,
			append([]any{nowN, rev}, oldIDs...)...)
		oldIDs = oldIDs[:0]
		return err
	}
	execProv := func(args []any) error {
		return exec(`INSERT INTO provenance(indicator_id, source, ref, first_seen, last_seen,
				confidence, valid_from, valid_until, description, detail) VALUES `+placeholders(len(args)/10, 10)+`
			ON CONFLICT(indicator_id, source) DO UPDATE SET ref = excluded.ref, last_seen = excluded.last_seen,
				confidence = excluded.confidence, valid_from = excluded.valid_from, valid_until = excluded.valid_until,
				description = excluded.description, detail = excluded.detail`, args...)
	}
	out := make([]ioc.Indicator, len(entries))
	pos := make(map[int64]int) // id → index, for known indicators
	for i, e := range entries {
		d, _ := json.Marshal(detail{Labels: e.Labels, KillChain: e.KillChain, ExternalRefs: e.ExternalRefs})
		if string(d) == "{}" {
			d = nil
		}
		provArgs = append(provArgs, ids[i], source, e.Ref, nowN, nowN, e.Confidence, nanos(e.ValidFrom), nanos(e.ValidUntil), e.Description, string(d))
		out[i] = ioc.Indicator{Type: e.Type, Value: e.Value, Description: e.Description,
			Confidence: e.Confidence, Expires: e.ValidUntil, Source: source}
		if known[i] {
			res.Updated++
			oldIDs = append(oldIDs, ids[i])
			pos[ids[i]] = i
		} else {
			res.Added++
			newArgs = append(newArgs, ids[i], string(e.Type), e.Value, nowN, nowN, nowN, rev,
				e.Confidence, nanos(e.ValidFrom), nanos(e.ValidUntil), source)
		}
		if len(newArgs) >= chunk*11 {
			if err := flushNew(); err != nil {
				return nil, err
			}
		}
		if len(oldIDs) >= chunk {
			if err := flushOld(); err != nil {
				return nil, err
			}
		}
	}
	if err := flushNew(); err != nil {
		return nil, err
	}
	if err := flushOld(); err != nil {
		return nil, err
	}
	for lo := 0; lo < len(provArgs); lo += chunk * 10 {
		if err := execProv(provArgs[lo:min(lo+chunk*10, len(provArgs))]); err != nil {
			return nil, err
		}
	}

	// Known indicators: the merged view across their sources. modified
	// moves only when the view changed, so TAXII peers polling with
	// added_after are not sent the same indicator again.
	var known1 []int64
	for id := range pos {
		known1 = append(known1, id)
	}
	slices.Sort(known1)
	for lo := 0; lo < len(known1); lo += chunk {
		hi := min(lo+chunk, len(known1))
		args := []any{nowN}
		for _, id := range known1[lo:hi] {
			args = append(args, id)
		}
		agg, err := stmt(`UPDATE indicators SET
				confidence = a.c, valid_from = a.f, valid_until = a.u, sources = a.s,
				modified = CASE WHEN indicators.confidence IS a.c AND indicators.valid_from IS a.f
					AND indicators.valid_until IS a.u AND indicators.sources IS a.s THEN indicators.modified ELSE ?1 END
			FROM (SELECT indicator_id, max(confidence) AS c,
					coalesce(min(nullif(valid_from, 0)), 0) AS f,
					CASE WHEN min(valid_until) = 0 THEN 0 ELSE max(valid_until) END AS u,
					group_concat(source, ',' ORDER BY source) AS s
				FROM provenance WHERE indicator_id IN (?` + strings.Repeat(",?", hi-lo-1) + `) GROUP BY indicator_id) AS a
			WHERE indicators.id = a.indicator_id
			RETURNING id, confidence, valid_until, sources`)
		if err != nil {
			return nil, err
		}
		rows, err := agg.QueryContext(ctx, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, until int64
			var conf int
			var srcs string
			if err := rows.Scan(&id, &conf, &until, &srcs); err != nil {
				rows.Close()
				return nil, err
			}
			in := &out[pos[id]]
			in.Confidence, in.Expires, in.Source = conf, fromNanos(until), srcs
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if rev == s.lastRev+1 {
		s.lastRev = rev
	}
	return out, nil
}

// Prune deletes indicators every source has expired at now, from the
// store and the matcher, and returns how many.
func (s *Store) Prune(ctx context.Context) (int, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM indicators WHERE valid_until != 0 AND valid_until <= ?`, now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("pruning expired indicators: %w", err)
	}
	n, _ := res.RowsAffected()
	if s.set != nil {
		s.set.Prune(now)
	}
	return int(n), nil
}

// SourceCount is how many indicators one source holds.
type SourceCount struct {
	Source     string `json:"source"`
	Indicators int    `json:"indicators"`
}

// Sources lists the sources with their indicator counts, by name.
func (s *Store) Sources(ctx context.Context) ([]SourceCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, count(*) FROM provenance GROUP BY source ORDER BY source`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SourceCount
	for rows.Next() {
		var c SourceCount
		if err := rows.Scan(&c.Source, &c.Indicators); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SourceNames lists every source that ever imported, by name, without
// counting (cheap at any size).
func (s *Store) SourceNames(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM sources ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Lookup returns every stored indicator value would match in an event
// (the exact indicator, CIDR blocks holding an IP, parent domains, a URL's
// host, an email address's domain) with its full provenance and related
// indicators. The type is inferred from the value; a value of no known
// kind is an error. Expired indicators not yet pruned are included (see
// Indicator.Expired).
func (s *Store) Lookup(ctx context.Context, value string) ([]Indicator, error) {
	value = strings.TrimSpace(value)
	t := ioc.Infer(value)
	if t == "" {
		return nil, fmt.Errorf("%q is not an IP, CIDR, domain, URL, hash or email address", value)
	}
	n, err := ioc.Normalize(ioc.Indicator{Type: t, Value: value})
	if err != nil {
		return nil, err
	}
	cands := candidates(n)
	args := make([]any, 0, 2*len(cands))
	for _, c := range cands {
		args = append(args, string(c.Type), c.Value)
	}
	st, err := s.prep(ctx, `SELECT type, value FROM indicators WHERE (type, value) IN (VALUES `+placeholders(len(cands), 2)+`)`)
	if err != nil {
		return nil, fmt.Errorf("looking up %q: %w", value, err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("looking up %q: %w", value, err)
	}
	var found []ioc.Indicator
	for rows.Next() {
		var c ioc.Indicator
		if err := rows.Scan(&c.Type, &c.Value); err != nil {
			rows.Close()
			return nil, err
		}
		found = append(found, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// In candidates' order: exact first, then the narrowest container.
	rank := map[ioc.Indicator]int{}
	for i, c := range cands {
		rank[c] = i
	}
	slices.SortFunc(found, func(a, b ioc.Indicator) int { return rank[a] - rank[b] })
	var out []Indicator
	for _, c := range found {
		in, ok, err := s.get(ctx, c.Type, c.Value)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		in.MatchedBy = matchedBy(n, c)
		out = append(out, in)
	}
	return out, nil
}

// candidates lists the stored keys a normalized value would match, the
// way the matcher does: the value, the CIDR blocks holding an IP, parent
// domains (down to two labels), a URL's host, an email address's domain.
// Lookups are then one indexed query, with no need for the in-memory set.
func candidates(n ioc.Indicator) []ioc.Indicator {
	out := []ioc.Indicator{{Type: n.Type, Value: n.Value}}
	ip := func(a netip.Addr) {
		for b := a.BitLen(); b >= 0; b-- {
			if p, err := a.Prefix(b); err == nil {
				out = append(out, ioc.Indicator{Type: ioc.CIDR, Value: p.String()})
			}
		}
	}
	domain := func(d string) {
		for {
			i := strings.IndexByte(d, '.')
			if i < 0 || !strings.Contains(d[i+1:], ".") {
				return
			}
			d = d[i+1:]
			out = append(out, ioc.Indicator{Type: ioc.Domain, Value: d})
		}
	}
	host := func(h string) {
		if a, err := netip.ParseAddr(h); err == nil {
			a = a.Unmap()
			out = append(out, ioc.Indicator{Type: ioc.IP, Value: a.String()})
			ip(a)
			return
		}
		if d, err := ioc.Normalize(ioc.Indicator{Type: ioc.Domain, Value: h}); err == nil {
			out = append(out, ioc.Indicator{Type: ioc.Domain, Value: d.Value})
			domain(d.Value)
		}
	}
	switch n.Type {
	case ioc.IP:
		ip(netip.MustParseAddr(n.Value))
	case ioc.Domain:
		domain(n.Value)
	case ioc.URL:
		if u, err := url.Parse(n.Value); err == nil {
			host(u.Hostname())
		}
	case ioc.Email:
		_, d, _ := strings.Cut(n.Value, "@")
		host(d)
	}
	return out
}

func matchedBy(q, hit ioc.Indicator) string {
	switch {
	case q.Type == hit.Type && q.Value == hit.Value:
		return "exact"
	case hit.Type == ioc.CIDR:
		return "cidr"
	case q.Type == ioc.Email:
		return "email_domain"
	case q.Type == ioc.URL && hit.Type == ioc.Domain:
		return "url_host"
	case q.Type == ioc.URL && hit.Type == ioc.IP:
		return "url_host"
	default:
		return "parent_domain"
	}
}

// Get returns one indicator by type and value (normalized first).
func (s *Store) Get(ctx context.Context, t ioc.Type, value string) (Indicator, bool, error) {
	n, err := ioc.Normalize(ioc.Indicator{Type: t, Value: value})
	if err != nil {
		return Indicator{}, false, err
	}
	return s.get(ctx, n.Type, n.Value)
}

const indicatorCols = `id, type, value, confidence, valid_from, valid_until, first_seen, last_seen, modified`

func scanIndicator(sc interface{ Scan(...any) error }) (int64, Indicator, error) {
	var in Indicator
	var id, from, until, first, last, mod int64
	err := sc.Scan(&id, &in.Type, &in.Value, &in.Confidence, &from, &until, &first, &last, &mod)
	in.ValidFrom, in.ValidUntil = fromNanos(from), fromNanos(until)
	in.FirstSeen, in.LastSeen, in.Modified = fromNanos(first), fromNanos(last), fromNanos(mod)
	return id, in, err
}

func (s *Store) get(ctx context.Context, t ioc.Type, value string) (Indicator, bool, error) {
	st, err := s.prep(ctx, `SELECT `+indicatorCols+` FROM indicators WHERE type = ? AND value = ?`)
	if err != nil {
		return Indicator{}, false, fmt.Errorf("looking up %s %q: %w", t, value, err)
	}
	id, in, err := scanIndicator(st.QueryRowContext(ctx, t, value))
	if errors.Is(err, sql.ErrNoRows) {
		return Indicator{}, false, nil
	}
	if err != nil {
		return Indicator{}, false, fmt.Errorf("looking up %s %q: %w", t, value, err)
	}
	provs, err := s.provenance(ctx, []int64{id})
	if err != nil {
		return Indicator{}, false, err
	}
	in.Sources = provs[id]
	rel, err := s.prep(ctx, `SELECT i.type, i.value, p.source, p.ref
		FROM provenance q JOIN provenance p ON p.source = q.source AND p.ref = q.ref AND p.indicator_id != q.indicator_id
		JOIN indicators i ON i.id = p.indicator_id
		WHERE q.indicator_id = ? AND q.ref != '' ORDER BY p.source, i.type, i.value LIMIT 100`)
	if err != nil {
		return Indicator{}, false, fmt.Errorf("related indicators of %q: %w", value, err)
	}
	rows, err := rel.QueryContext(ctx, id)
	if err != nil {
		return Indicator{}, false, fmt.Errorf("related indicators of %q: %w", value, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Related
		if err := rows.Scan(&r.Type, &r.Value, &r.Source, &r.Ref); err != nil {
			return Indicator{}, false, err
		}
		in.Related = append(in.Related, r)
	}
	return in, true, rows.Err()
}

// provenance loads the sources of the given indicators.
func (s *Store) provenance(ctx context.Context, ids []int64) (map[int64][]Provenance, error) {
	out := make(map[int64][]Provenance, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	q := `SELECT indicator_id, source, ref, first_seen, last_seen, confidence,
			valid_from, valid_until, description, detail
		FROM provenance WHERE indicator_id IN (?` + strings.Repeat(",?", len(ids)-1) + `) ORDER BY indicator_id, source`
	var rows *sql.Rows
	var err error
	if len(ids) == 1 { // the lookup path: prepared once
		var st *sql.Stmt
		if st, err = s.prep(ctx, q); err == nil {
			rows, err = st.QueryContext(ctx, args...)
		}
	} else {
		rows, err = s.db.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return nil, fmt.Errorf("loading provenance: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Provenance
		var id, first, last, from, until int64
		var det string
		if err := rows.Scan(&id, &p.Source, &p.Ref, &first, &last, &p.Confidence, &from, &until, &p.Description, &det); err != nil {
			return nil, fmt.Errorf("loading provenance: %w", err)
		}
		p.FirstSeen, p.LastSeen = fromNanos(first), fromNanos(last)
		p.ValidFrom, p.ValidUntil = fromNanos(from), fromNanos(until)
		if det != "" {
			var d detail
			if err := json.Unmarshal([]byte(det), &d); err != nil {
				return nil, fmt.Errorf("provenance of indicator %d: %w", id, err)
			}
			p.Labels, p.KillChain, p.ExternalRefs = d.Labels, d.KillChain, d.ExternalRefs
		}
		out[id] = append(out[id], p)
	}
	return out, rows.Err()
}

// Cursor is a position in the store's change order (modified time, then
// id), for paging through indicators as TAXII does.
type Cursor struct {
	Modified int64 `json:"m"`
	ID       int64 `json:"i"`
}

// PageOptions select a page of indicators in change order.
type PageOptions struct {
	// AddedAfter keeps indicators modified strictly after it.
	AddedAfter time.Time
	// After continues from a previous page (takes precedence).
	After *Cursor
	// Source keeps indicators this source reported ("" for all).
	Source string
	// Limit is the page size (1–10000; default 1000).
	Limit int
	// Bare leaves out provenance (for manifests).
	Bare bool
}

// Page returns indicators in the order they last changed, and the cursor
// of the next page (nil at the end).
func (s *Store) Page(ctx context.Context, o PageOptions) ([]Indicator, *Cursor, error) {
	if o.Limit <= 0 || o.Limit > 10000 {
		o.Limit = 1000
	}
	var c Cursor
	if o.After != nil {
		c = *o.After
	} else if !o.AddedAfter.IsZero() {
		c = Cursor{Modified: o.AddedAfter.UnixNano(), ID: 1<<63 - 1}
	}
	q := `SELECT ` + indicatorCols + ` FROM indicators i WHERE (modified > ?1 OR (modified = ?1 AND id > ?2))`
	args := []any{c.Modified, c.ID}
	if o.Source != "" {
		q += ` AND EXISTS (SELECT 1 FROM provenance p WHERE p.indicator_id = i.id AND p.source = ?3)`
		args = append(args, o.Source)
	} else {
		q += ` AND ?3 IS NULL`
		args = append(args, nil)
	}
	q += ` ORDER BY modified, id LIMIT ?4`
	args = append(args, o.Limit+1)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("paging indicators: %w", err)
	}
	var out []Indicator
	var ids []int64
	for rows.Next() {
		id, in, err := scanIndicator(rows)
		if err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("paging indicators: %w", err)
		}
		out = append(out, in)
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("paging indicators: %w", err)
	}
	var next *Cursor
	if len(out) > o.Limit {
		out, ids = out[:o.Limit], ids[:o.Limit]
		last := out[len(out)-1]
		next = &Cursor{Modified: last.Modified.UnixNano(), ID: ids[len(ids)-1]}
	}
	if !o.Bare && len(ids) > 0 {
		provs, err := s.provenance(ctx, ids)
		if err != nil {
			return nil, nil, err
		}
		for i, id := range ids {
			out[i].Sources = provs[id]
		}
	}
	return out, next, nil
}

// FeedState is what the store remembers of a feed's syncs.
type FeedState struct {
	Name string `json:"name"`
	// Since is where the next incremental fetch starts (TAXII added_after,
	// MISP timestamp); zero means from the beginning.
	Since     time.Time `json:"since,omitzero"`
	LastTry   time.Time `json:"last_try,omitzero"`
	LastOK    time.Time `json:"last_ok,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// FeedState returns a feed's state (zero for one never synced).
func (s *Store) FeedState(ctx context.Context, name string) (FeedState, error) {
	st := FeedState{Name: name}
	var since, try, ok int64
	err := s.db.QueryRowContext(ctx, `SELECT since, last_try, last_ok, last_error FROM feed_state WHERE name = ?`, name).
		Scan(&since, &try, &ok, &st.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("feed state of %s: %w", name, err)
	}
	st.Since, st.LastTry, st.LastOK = fromNanos(since), fromNanos(try), fromNanos(ok)
	return st, nil
}

// SetFeedState records a feed's state.
func (s *Store) SetFeedState(ctx context.Context, st FeedState) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO feed_state(name, since, last_try, last_ok, last_error) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET since = excluded.since, last_try = excluded.last_try, last_ok = excluded.last_ok,
			last_error = excluded.last_error`,
		st.Name, nanos(st.Since), nanos(st.LastTry), nanos(st.LastOK), st.LastError)
	if err != nil {
		return fmt.Errorf("saving feed state of %s: %w", st.Name, err)
	}
	return nil
}

// Check runs SQLite's integrity check and verifies that every indicator
// has a source and every source an indicator.
func (s *Store) Check(ctx context.Context) error {
	var res string
	if err := s.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	var orphans, empty int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM provenance p WHERE NOT EXISTS (SELECT 1 FROM indicators i WHERE i.id = p.indicator_id)`).Scan(&orphans); err != nil {
		return err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM indicators i WHERE NOT EXISTS (SELECT 1 FROM provenance p WHERE p.indicator_id = i.id)`).Scan(&empty); err != nil {
		return err
	}
	if orphans+empty > 0 {
		return fmt.Errorf("integrity check: %d provenance rows without indicator, %d indicators without source", orphans, empty)
	}
	return nil
}
