// Package ioc matches events against threat-intelligence indicators: IP
// addresses, CIDR blocks, domains (with their subdomains), URLs, file hashes
// (MD5, SHA-1, SHA-256, SHA-512) and email addresses, each with a confidence
// and an optional expiry.
//
// It owns the in-memory indicator set and which ECS fields each indicator
// type is compared with. It does not own feeds, their formats (STIX, MISP,
// CSV), TAXII or persistence: package intel and its sub-packages do, and
// keep a Set in step with the intel store.
// Values are compared exactly after normalization (lower case, trimmed
// trailing dot, canonical IP text); an indicator is never a substring match.
package ioc

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Type is an indicator type.
type Type string

// Indicator types.
const (
	IP     Type = "ip"
	CIDR   Type = "cidr"
	Domain Type = "domain"
	URL    Type = "url"
	MD5    Type = "md5"
	SHA1   Type = "sha1"
	SHA256 Type = "sha256"
	SHA512 Type = "sha512"
	Email  Type = "email"
)

// Indicator is one observable known to be malicious.
type Indicator struct {
	Type  Type   `json:"type"`
	Value string `json:"value"`
	// Confidence is 0–100; 0 means unknown.
	Confidence int `json:"confidence,omitempty"`
	// Expires is when the indicator stops matching; zero means never.
	Expires time.Time `json:"expires,omitzero"`
	// Source names the feed or analyst it came from.
	Source string `json:"source,omitempty"`
	// Description is free text shown with alerts.
	Description string `json:"description,omitempty"`
}

// Hit is one indicator found in an event field.
type Hit struct {
	Indicator Indicator `json:"indicator"`
	Field     string    `json:"field"`
	Value     string    `json:"value"`
}

// Fields lists, per indicator type, the ECS fields it is compared with.
// Domains are also compared with the host part of URL fields.
var Fields = map[Type][]string{
	IP:     {"source.ip", "destination.ip", "client.ip", "server.ip", "dns.resolved_ip", "related.ip", "source.nat.ip", "destination.nat.ip"},
	Domain: {"dns.question.name", "url.domain", "tls.client.server_name", "destination.domain", "source.domain", "server.domain", "client.domain", "http.request.referrer", "related.hosts", "email.from.address", "email.to.address", "email.sender.address"},
	URL:    {"url.full", "url.original", "http.request.referrer"},
	MD5:    {"file.hash.md5", "process.hash.md5", "related.hash"},
	SHA1:   {"file.hash.sha1", "process.hash.sha1", "related.hash"},
	SHA256: {"file.hash.sha256", "process.hash.sha256", "related.hash"},
	SHA512: {"file.hash.sha512", "process.hash.sha512", "related.hash"},
	Email:  {"email.from.address", "email.to.address", "email.cc.address", "email.sender.address", "email.reply_to.address", "user.email", "source.user.email", "destination.user.email"},
}

// Event is what Match reads: a value by ECS field name (sigma.Event and
// *event.Event satisfy it).
type Event interface {
	Get(field string) (any, bool)
}

// Set is a concurrent indicator set. Add and Remove may run while other
// goroutines call Match: an indicator added returns from Add before the next
// Match sees it.
type Set struct {
	mu      sync.RWMutex
	ips     map[netip.Addr]*Indicator
	nets    map[int]map[netip.Prefix]*Indicator // by prefix bits (v4 and v6 kept apart by the Addr)
	bits    []int                               // prefix lengths present, longest first
	domains map[string]*Indicator
	urls    map[string]*Indicator
	hashes  map[string]*Indicator // hex lower, type by length
	emails  map[string]*Indicator
	n       int
}

// NewSet returns an empty set.
func NewSet() *Set {
	return &Set{
		ips:     map[netip.Addr]*Indicator{},
		nets:    map[int]map[netip.Prefix]*Indicator{},
		domains: map[string]*Indicator{},
		urls:    map[string]*Indicator{},
		hashes:  map[string]*Indicator{},
		emails:  map[string]*Indicator{},
	}
}

// Len returns the number of indicators held (expired ones included until
// Prune drops them).
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.n
}

// Normalize checks an indicator and returns it with its value in canonical
// form. The type may be empty: it is then inferred from the value.
func Normalize(in Indicator) (Indicator, error) {
	v := strings.TrimSpace(in.Value)
	if v == "" {
		return in, fmt.Errorf("empty indicator value")
	}
	if len(v) > 4096 {
		return in, fmt.Errorf("indicator value longer than 4096 bytes")
	}
	if in.Type == "" {
		in.Type = Infer(v)
		if in.Type == "" {
			return in, fmt.Errorf("cannot infer the type of %q", v)
		}
	}
	if in.Confidence < 0 || in.Confidence > 100 {
		return in, fmt.Errorf("confidence %d out of 0-100", in.Confidence)
	}
	switch in.Type {
	case IP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return in, fmt.Errorf("bad IP %q", v)
		}
		v = a.Unmap().WithZone("").String()
	case CIDR:
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return in, fmt.Errorf("bad CIDR %q", v)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			if p.Bits() < 0 {
				return in, fmt.Errorf("bad CIDR %q", v)
			}
		}
		v = p.Masked().String()
	case Domain:
		d, ok := normDomain(v)
		if !ok {
			return in, fmt.Errorf("bad domain %q", v)
		}
		v = d
	case URL:
		u, ok := normURL(v)
		if !ok {
			return in, fmt.Errorf("bad URL %q", v)
		}
		v = u
	case MD5, SHA1, SHA256, SHA512:
		v = strings.ToLower(v)
		if len(v) != hashLen[in.Type] || !isHex(v) {
			return in, fmt.Errorf("bad %s %q", in.Type, v)
		}
	case Email:
		v = strings.ToLower(v)
		local, dom, ok := strings.Cut(v, "@")
		if !ok || local == "" || strings.ContainsAny(v, " \t<>") {
			return in, fmt.Errorf("bad email %q", v)
		}
		if _, ok := normDomain(dom); !ok {
			return in, fmt.Errorf("bad email %q", v)
		}
	default:
		return in, fmt.Errorf("unknown indicator type %q", in.Type)
	}
	in.Value = v
	return in, nil
}

var hashLen = map[Type]int{MD5: 32, SHA1: 40, SHA256: 64, SHA512: 128}

// Infer guesses an indicator type from its value, "" when nothing fits.
func Infer(v string) Type {
	if _, err := netip.ParseAddr(v); err == nil {
		return IP
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		return CIDR
	}
	if isHex(v) {
		for t, n := range hashLen {
			if len(v) == n {
				return t
			}
		}
	}
	if strings.Contains(v, "://") {
		return URL
	}
	if strings.Contains(v, "@") {
		return Email
	}
	if _, ok := normDomain(v); ok {
		return Domain
	}
	return ""
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func normDomain(v string) (string, bool) {
	v = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), ".")
	if v == "" || len(v) > 253 || !strings.Contains(v, ".") {
		return "", false
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c >= 0x80) {
				return "", false
			}
		}
	}
	return v, true
}

// normURL lower-cases scheme and host, drops a default port and the
// fragment, and keeps path and query as written.
func normURL(v string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", false
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	u.Host = host
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" && u.RawQuery == "" {
		u.Path = "/"
	}
	return u.String(), true
}

// Add inserts or replaces indicators. Invalid ones are reported, the rest
// are added.
func (s *Set) Add(inds ...Indicator) error {
	var errs []string
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range inds {
		n, err := Normalize(in)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		s.put(&n)
	}
	if len(errs) > 0 {
		if len(errs) > 5 {
			errs = append(errs[:5], fmt.Sprintf("and %d more", len(errs)-5))
		}
		return fmt.Errorf("adding indicators: %s", strings.Join(errs, "; "))
	}
	return nil
}

func (s *Set) put(in *Indicator) {
	var had bool
	switch in.Type {
	case IP:
		a := netip.MustParseAddr(in.Value)
		_, had = s.ips[a]
		s.ips[a] = in
	case CIDR:
		p := netip.MustParsePrefix(in.Value)
		m := s.nets[p.Bits()]
		if m == nil {
			m = map[netip.Prefix]*Indicator{}
			s.nets[p.Bits()] = m
			s.bits = append(s.bits, p.Bits())
			sortDesc(s.bits)
		}
		_, had = m[p]
		m[p] = in
	case Domain:
		_, had = s.domains[in.Value]
		s.domains[in.Value] = in
	case URL:
		_, had = s.urls[in.Value]
		s.urls[in.Value] = in
	case MD5, SHA1, SHA256, SHA512:
		_, had = s.hashes[in.Value]
		s.hashes[in.Value] = in
	case Email:
		_, had = s.emails[in.Value]
		s.emails[in.Value] = in
	}
	if !had {
		s.n++
	}
}

func sortDesc(b []int) {
	for i := 1; i < len(b); i++ {
		for j := i; j > 0 && b[j] > b[j-1]; j-- {
			b[j], b[j-1] = b[j-1], b[j]
		}
	}
}

// Remove deletes an indicator by type and value; it reports whether it was
// present.
func (s *Set) Remove(t Type, value string) bool {
	n, err := Normalize(Indicator{Type: t, Value: value})
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var had bool
	switch n.Type {
	case IP:
		a := netip.MustParseAddr(n.Value)
		_, had = s.ips[a]
		delete(s.ips, a)
	case CIDR:
		p := netip.MustParsePrefix(n.Value)
		_, had = s.nets[p.Bits()][p]
		delete(s.nets[p.Bits()], p)
	case Domain:
		_, had = s.domains[n.Value]
		delete(s.domains, n.Value)
	case URL:
		_, had = s.urls[n.Value]
		delete(s.urls, n.Value)
	case MD5, SHA1, SHA256, SHA512:
		_, had = s.hashes[n.Value]
		delete(s.hashes, n.Value)
	case Email:
		_, had = s.emails[n.Value]
		delete(s.emails, n.Value)
	}
	if had {
		s.n--
	}
	return had
}

// Prune drops indicators expired at now and returns how many.
func (s *Set) Prune(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	dropped := 0
	exp := func(in *Indicator) bool { return !in.Expires.IsZero() && !now.Before(in.Expires) }
	for k, in := range s.ips {
		if exp(in) {
			delete(s.ips, k)
			dropped++
		}
	}
	for _, m := range s.nets {
		for k, in := range m {
			if exp(in) {
				delete(m, k)
				dropped++
			}
		}
	}
	for _, m := range []map[string]*Indicator{s.domains, s.urls, s.hashes, s.emails} {
		for k, in := range m {
			if exp(in) {
				delete(m, k)
				dropped++
			}
		}
	}
	s.n -= dropped
	return dropped
}

// Options filter what Match reports.
type Options struct {
	// MinConfidence skips indicators below this confidence (0: all).
	MinConfidence int
}

// Match appends to dst the indicators found in ev's fields. Expired
// indicators (at now) and those below opts.MinConfidence are skipped. One
// indicator is reported once per event, on the first field it is found in.
// A miss allocates nothing.
func (s *Set) Match(ev Event, now time.Time, opts *Options, dst []Hit) []Hit {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.n == 0 {
		return dst
	}
	m := matcher{s: s, now: now, dst: dst, start: len(dst)}
	if opts != nil {
		m.minConf = opts.MinConfidence
	}
	if len(s.ips) > 0 || len(s.bits) > 0 {
		for _, f := range Fields[IP] {
			m.each(ev, f, kindIP)
		}
	}
	if len(s.domains) > 0 {
		for _, f := range Fields[Domain] {
			m.each(ev, f, kindDomain)
		}
		for _, f := range Fields[URL] {
			m.each(ev, f, kindURLHost)
		}
	}
	if len(s.urls) > 0 {
		for _, f := range Fields[URL] {
			m.each(ev, f, kindURL)
		}
	}
	if len(s.hashes) > 0 {
		for _, f := range hashFields {
			m.each(ev, f, kindHash)
		}
	}
	if len(s.emails) > 0 {
		for _, f := range Fields[Email] {
			m.each(ev, f, kindEmail)
		}
	}
	return m.dst
}

// hashFields is the union of the hash types' fields, each once.
var hashFields = func() []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range []Type{MD5, SHA1, SHA256, SHA512} {
		for _, f := range Fields[t] {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}()

type lookupKind uint8

const (
	kindIP lookupKind = iota
	kindDomain
	kindURLHost
	kindURL
	kindHash
	kindEmail
)

// matcher is the state of one Match call.
type matcher struct {
	s       *Set
	ev      Event
	now     time.Time
	minConf int
	dst     []Hit
	start   int
}

func (m *matcher) add(in *Indicator, field, val string) {
	if in == nil || (!in.Expires.IsZero() && !m.now.Before(in.Expires)) || in.Confidence < m.minConf {
		return
	}
	for _, h := range m.dst[m.start:] {
		if h.Indicator.Type == in.Type && h.Indicator.Value == in.Value {
			return
		}
	}
	m.dst = append(m.dst, Hit{Indicator: *in, Field: field, Value: val})
}

// each looks up a string field, or every string of a list field.
func (m *matcher) each(ev Event, f string, k lookupKind) {
	v, ok := ev.Get(f)
	if !ok {
		return
	}
	m.ev = ev
	switch x := v.(type) {
	case string:
		if x != "" {
			m.lookup(f, x, k)
		}
	case []string:
		for _, s := range x {
			if s != "" {
				m.lookup(f, s, k)
			}
		}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok && s != "" {
				m.lookup(f, s, k)
			}
		}
	}
}

func (m *matcher) lookup(f, v string, k lookupKind) {
	s := m.s
	switch k {
	case kindIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return
		}
		a = a.Unmap().WithZone("")
		if in, ok := s.ips[a]; ok {
			m.add(in, f, v)
		}
		for _, b := range s.bits {
			if b > a.BitLen() {
				continue
			}
			p, err := a.Prefix(b)
			if err != nil {
				continue
			}
			if in, ok := s.nets[b][p]; ok {
				m.add(in, f, v)
			}
		}
	case kindDomain:
		host := v
		if strings.HasPrefix(f, "email.") {
			_, host, _ = strings.Cut(v, "@")
		} else if strings.Contains(v, "://") {
			u, err := url.Parse(v)
			if err != nil {
				return
			}
			host = u.Hostname()
		}
		m.domain(f, v, host)
	case kindURLHost:
		if !strings.Contains(v, "://") {
			return
		}
		if u, err := url.Parse(v); err == nil && u.Host != "" {
			m.domain(f, v, u.Hostname())
		}
	case kindURL:
		full := v
		if !strings.Contains(v, "://") {
			// A path-only url.original: rebuild it from url.domain.
			d, ok := getString(m.ev, "url.domain")
			if !ok || !strings.HasPrefix(v, "/") {
				return
			}
			scheme, _ := getString(m.ev, "url.scheme")
			if scheme == "" {
				scheme = "http"
			}
			full = scheme + "://" + d + v
		}
		if u, ok := normURL(full); ok {
			m.add(s.urls[u], f, v)
		}
	case kindHash:
		if !isHex(v) {
			return
		}
		if in, ok := s.hashes[v]; ok {
			m.add(in, f, v)
		} else if in, ok := s.hashes[strings.ToLower(v)]; ok {
			m.add(in, f, v)
		}
	case kindEmail:
		if in, ok := s.emails[v]; ok {
			m.add(in, f, v)
		} else if in, ok := s.emails[strings.ToLower(strings.TrimSpace(v))]; ok {
			m.add(in, f, v)
		}
	}
}

// domain checks host, then each parent down to two labels; orig is the
// field value reported in the hit.
func (m *matcher) domain(f, orig, host string) {
	d, ok := normDomain(host)
	if !ok {
		return
	}
	for {
		if in, ok := m.s.domains[d]; ok {
			m.add(in, f, orig)
		}
		i := strings.IndexByte(d, '.')
		if i < 0 || !strings.Contains(d[i+1:], ".") {
			return
		}
		d = d[i+1:]
	}
}

func getString(ev Event, f string) (string, bool) {
	v, ok := ev.Get(f)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}
