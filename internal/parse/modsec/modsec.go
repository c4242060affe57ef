// Package modsec parses web application firewall audit records: the
// ModSecurity v2/v3 native serial audit log (multi-line, sections A–K and
// Z), libmodsecurity v3 JSON, Coraza "json", ModSecurity v2 JSON / Coraza
// "jsonlegacy", and the one-line "ModSecurity: ..." messages Apache and
// nginx write to their error logs. It registers the format "modsecurity".
//
// One sniffer picks the dialect: a record starting with a section boundary
// is native; JSON with transaction.client_ip is v3 or Coraza json (Coraza
// has unix_timestamp); JSON with audit_data is v2/jsonlegacy. Header
// objects are read with the JSON tree, which keeps duplicate keys, so two
// Set-Cookie headers become a list rather than the last one winning.
//
// Every matched rule is kept in modsec.messages; the most severe one also
// fills rule.id / rule.name / event.severity, so a single-valued consumer
// sees the rule that mattered. The anomaly-scoring verdict rules (949110,
// 959100, 980130…) only win when nothing else matched.
package modsec

import (
	"strconv"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// Name is the registered format name.
const Name = "modsecurity"

func init() {
	parse.Register(Name, func(*parse.Config) (parse.Parser, error) { return Parser{}, nil })
}

// Parser parses ModSecurity and Coraza audit records. It is stateless and
// safe for concurrent use.
type Parser struct{}

var (
	_ parse.Parser     = Parser{}
	_ parse.Detector   = Parser{}
	_ parse.MultiLiner = Parser{}
)

// Name returns "modsecurity".
func (Parser) Name() string { return Name }

// boundary parses a serial-format section boundary ("--5f2a1b3c-A--" or
// libmodsecurity's "---5f2a1b3c---A--") and returns the section letter.
func boundary(line string) (byte, bool) {
	if len(line) < 7 || !strings.HasPrefix(line, "--") || !strings.HasSuffix(line, "--") {
		return 0, false
	}
	inner := strings.TrimLeft(line[:len(line)-2], "-")
	if len(inner) < 3 {
		return 0, false
	}
	letter := inner[len(inner)-1]
	if letter < 'A' || letter > 'Z' || inner[len(inner)-2] != '-' {
		return 0, false
	}
	id := strings.TrimRight(inner[:len(inner)-1], "-")
	if id == "" || len(id) > 64 {
		return 0, false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return 0, false
		}
	}
	return letter, true
}

// Begins reports whether line opens a serial audit record (section A).
func (Parser) Begins(line []byte) bool {
	if len(line) < 7 || line[0] != '-' {
		return false
	}
	l, ok := boundary(string(line))
	return ok && l == 'A'
}

// Ends reports whether line closes a serial audit record (section Z).
func (Parser) Ends(line []byte) bool {
	if len(line) < 7 || line[0] != '-' {
		return false
	}
	l, ok := boundary(string(line))
	return ok && l == 'Z'
}

// Detect sniffs the dialects described in the package comment.
func (Parser) Detect(rec *parse.Record) int {
	p := rec.Payload
	if len(p) == 0 {
		return 0
	}
	if p[0] == '-' {
		first, _, _ := strings.Cut(p, "\n")
		if l, ok := boundary(first); ok && l == 'A' {
			return 100
		}
		return 0
	}
	if p[0] == '{' {
		if strings.Contains(p, `"transaction"`) && (strings.Contains(p, `"client_ip"`) || strings.Contains(p, `"audit_data"`) || strings.Contains(p, `"remote_address"`)) {
			return 95
		}
		return 0
	}
	if strings.Contains(p, "ModSecurity: ") && strings.Contains(p, `[id "`) {
		return 90
	}
	return 0
}

// Parse normalizes one audit record.
func (Parser) Parse(ev *event.Event, rec *parse.Record) error {
	p := rec.Payload
	ev.Grow(48)
	ev.Kind = event.KindEvent
	ev.Module = "modsecurity"
	ev.Dataset = "modsecurity.audit"
	ev.Category = []string{"web"}
	ev.Observer.Vendor = "OWASP"
	ev.Observer.Product = "ModSecurity"
	ev.Observer.Type = "waf"
	var t tx
	var err error
	switch {
	case strings.HasPrefix(p, "-"):
		err = t.serial(p)
	case strings.HasPrefix(p, "{"):
		err = t.json(ev, p, rec.Config)
	case strings.Contains(p, "ModSecurity: "):
		err = t.errorLog(p, rec.Config)
		ev.Dataset = "modsecurity.error"
	default:
		return parse.NotMine(Name, "a ModSecurity/Coraza audit record")
	}
	if err != nil {
		return err
	}
	t.fill(ev)
	return nil
}

// tx is one transaction in dialect-neutral form.
type tx struct {
	time                 time.Time
	id                   string
	clientIP, serverIP   string
	clientPort           int
	serverPort           int
	method, uri, version string
	status               int
	reqHeaders           headers
	respHeaders          headers
	reqBody, respBody    string
	messages             []message
	intercepted          bool
	engineMode           string
	producer             []string
	server               string
	stopwatch            string
	product              string // "ModSecurity" or "Coraza"
	extra                map[string]string
	errors               []string
}

type header struct{ name, value string }

type headers []header

type message struct {
	text string
	meta map[string][]string
}

func (m message) get(k string) string {
	if v := m.meta[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// --- native serial format ---

func (t *tx) serial(p string) error {
	lines := strings.Split(p, "\n")
	first, ok := boundary(strings.TrimRight(lines[0], "\r"))
	if !ok || first != 'A' {
		return parse.Errorf("modsecurity: serial record does not start with a section A boundary")
	}
	sections := map[byte][]string{}
	cur := byte(0)
	for _, l := range lines {
		l = strings.TrimRight(l, "\r")
		if letter, ok := boundary(l); ok {
			cur = letter
			continue
		}
		if cur != 0 {
			sections[cur] = append(sections[cur], l)
		}
	}
	a := strings.TrimSpace(strings.Join(sections['A'], " "))
	if a == "" {
		return parse.Errorf("modsecurity: section A is empty")
	}
	// [14/Mar/2026:10:00:00.123456 +0000] UNIQUE_ID 203.0.113.7 51514 192.0.2.10 80
	if strings.HasPrefix(a, "[") {
		if end := strings.IndexByte(a, ']'); end > 0 {
			for _, layout := range [...]string{"02/Jan/2006:15:04:05.999999 -0700", "02/Jan/2006:15:04:05 -0700"} {
				if tm, err := time.Parse(layout, a[1:end]); err == nil {
					t.time = tm
					break
				}
			}
			a = strings.TrimSpace(a[end+1:])
		}
	}
	f := strings.Fields(a)
	if len(f) >= 5 {
		t.id, t.clientIP, t.serverIP = f[0], f[1], f[3]
		t.clientPort, t.serverPort = parse.Port(f[2]), parse.Port(f[4])
	} else if len(f) > 0 {
		t.id = f[0]
	}
	if b := trimBlank(sections['B']); len(b) > 0 {
		t.requestLine(b[0])
		t.reqHeaders = headerLines(b[1:])
	}
	body := sections['C']
	if len(body) == 0 {
		body = sections['I']
	}
	t.reqBody = strings.TrimRight(strings.Join(body, "\n"), "\n")
	if fl := trimBlank(sections['F']); len(fl) > 0 {
		// HTTP/1.1 403 Forbidden
		parts := strings.SplitN(fl[0], " ", 3)
		if len(parts) >= 2 {
			t.status, _ = parse.Atoi(parts[1])
			if t.version == "" {
				t.version = strings.TrimPrefix(parts[0], "HTTP/")
			}
		}
		t.respHeaders = headerLines(fl[1:])
	}
	t.respBody = strings.TrimRight(strings.Join(sections['E'], "\n"), "\n")
	for _, l := range sections['H'] {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		switch k {
		case "Message", "ModSecurity":
			t.messages = append(t.messages, parseMessage(v))
		case "Apache-Error":
			t.errors = append(t.errors, v)
		case "Action":
			if strings.HasPrefix(v, "Intercepted") {
				t.intercepted = true
			}
			t.setExtra("action", v)
		case "Stopwatch", "Stopwatch2":
			t.stopwatch = v
		case "Producer":
			t.producer = append(t.producer, strings.Split(strings.TrimSuffix(v, "."), "; ")...)
		case "Server":
			t.server = v
		case "Engine-Mode":
			t.engineMode = strings.Trim(v, `"`)
		default:
			t.setExtra(strings.ToLower(strings.ReplaceAll(k, "-", "_")), v)
		}
	}
	if k := trimBlank(sections['K']); len(k) > 0 {
		t.setExtra("matched_rules", strings.Join(k, "\n"))
	}
	if j := trimBlank(sections['J']); len(j) > 0 {
		t.setExtra("uploaded_files", strings.Join(j, "\n"))
	}
	return nil
}

func (t *tx) setExtra(k, v string) {
	if t.extra == nil {
		t.extra = map[string]string{}
	}
	t.extra[k] = v
}

func trimBlank(l []string) []string {
	for len(l) > 0 && strings.TrimSpace(l[len(l)-1]) == "" {
		l = l[:len(l)-1]
	}
	for len(l) > 0 && strings.TrimSpace(l[0]) == "" {
		l = l[1:]
	}
	return l
}

func (t *tx) requestLine(l string) {
	parts := strings.Split(l, " ")
	if len(parts) >= 2 {
		t.method = parts[0]
		t.uri = strings.Join(parts[1:len(parts)-1], " ")
		if len(parts) == 2 {
			t.uri = parts[1]
		}
		if last := parts[len(parts)-1]; strings.HasPrefix(last, "HTTP/") {
			t.version = strings.TrimPrefix(last, "HTTP/")
		} else if len(parts) > 2 {
			t.uri = strings.Join(parts[1:], " ")
		}
	}
}

func headerLines(lines []string) headers {
	var h headers
	for _, l := range lines {
		if k, v, ok := strings.Cut(l, ":"); ok && k != "" && !strings.ContainsAny(k, " \t") {
			h = append(h, header{k, strings.TrimSpace(v)})
		}
	}
	return h
}

// parseMessage splits "Warning. text [file "…"] [id "…"] …".
func parseMessage(s string) message {
	m := message{meta: map[string][]string{}}
	i := strings.Index(s, ` [`)
	if i < 0 {
		m.text = strings.TrimSpace(s)
		return m
	}
	m.text = strings.TrimSpace(s[:i])
	rest := s[i+1:]
	for {
		open := strings.IndexByte(rest, '[')
		if open < 0 {
			break
		}
		rest = rest[open+1:]
		key, after, ok := strings.Cut(rest, ` "`)
		if !ok || strings.ContainsAny(key, " []") {
			continue
		}
		end := strings.Index(after, `"]`)
		if end < 0 {
			m.meta[key] = append(m.meta[key], after)
			break
		}
		m.meta[key] = append(m.meta[key], after[:end])
		rest = after[end+2:]
	}
	return m
}

// errorLog parses an Apache/nginx error log line carrying "ModSecurity: ".
func (t *tx) errorLog(p string, cfg *parse.Config) error {
	// nginx: "2026/03/14 10:04:00 [error] …"; Apache: "[Sat Mar 14 10:04:00.123456 2026] […]".
	if len(p) >= 19 {
		if tm, err := time.ParseInLocation("2006/01/02 15:04:05", p[:19], cfg.Loc()); err == nil {
			t.time = tm
		}
	}
	if strings.HasPrefix(p, "[") {
		if end := strings.IndexByte(p, ']'); end > 0 {
			if tm, ok := parse.Ctime(p[1:end], cfg); ok {
				t.time = tm
			}
		}
	}
	i := strings.Index(p, "ModSecurity: ")
	msg := parseMessage(p[i+len("ModSecurity: "):])
	t.messages = append(t.messages, msg)
	if strings.HasPrefix(msg.text, "Access denied") {
		t.intercepted = true
		if j := strings.Index(msg.text, "with code "); j >= 0 {
			code := msg.text[j+len("with code "):]
			if k := strings.IndexAny(code, " ("); k >= 0 {
				code = code[:k]
			}
			t.status, _ = parse.Atoi(code)
		}
	}
	t.id = msg.get("unique_id")
	t.uri = msg.get("uri")
	if h := msg.get("hostname"); h != "" {
		t.reqHeaders = append(t.reqHeaders, header{"Host", h})
	}
	// Apache: "[client 203.0.113.7:51514]"; nginx: "client: 203.0.113.7,".
	if j := strings.Index(p, "[client "); j >= 0 {
		c := p[j+len("[client "):]
		if k := strings.IndexByte(c, ']'); k >= 0 {
			c = c[:k]
		}
		if ap, err := netipAddrPort(c); err == nil {
			t.clientIP, t.clientPort = ap.addr, ap.port
		} else {
			t.clientIP = c
		}
	} else if j := strings.Index(p, "client: "); j >= 0 {
		c := p[j+len("client: "):]
		if k := strings.IndexByte(c, ','); k >= 0 {
			c = c[:k]
		}
		t.clientIP = c
	}
	if j := strings.Index(p, `request: "`); j >= 0 {
		r := p[j+len(`request: "`):]
		if k := strings.IndexByte(r, '"'); k >= 0 {
			t.requestLine(r[:k])
		}
	}
	return nil
}

type addrPort struct {
	addr string
	port int
}

func netipAddrPort(s string) (addrPort, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return addrPort{}, strconv.ErrSyntax
	}
	port := parse.Port(s[i+1:])
	host := strings.Trim(s[:i], "[]")
	if !parse.Addr(host).IsValid() || port == 0 {
		return addrPort{}, strconv.ErrSyntax
	}
	return addrPort{host, port}, nil
}

// --- JSON dialects ---

func (t *tx) json(ev *event.Event, p string, cfg *parse.Config) error {
	d, err := parse.ParseJSON(p)
	if err != nil {
		return parse.Errorf("modsecurity: %v", err)
	}
	defer d.Free()
	root := d.Root()
	tr := d.Lookup(root, "transaction")
	if tr < 0 {
		return parse.NotMine(Name, `a JSON audit record with "transaction"`)
	}
	str := func(n int, k string) string { s, _ := d.String(d.Lookup(n, k)); return s }
	if ad := d.Lookup(root, "audit_data"); ad >= 0 || d.Lookup(tr, "remote_address") >= 0 {
		// ModSecurity v2 JSON / Coraza jsonlegacy.
		t.id = str(tr, "transaction_id")
		t.clientIP, t.serverIP = str(tr, "remote_address"), str(tr, "local_address")
		t.clientPort, t.serverPort = intOf(d, d.Lookup(tr, "remote_port")), intOf(d, d.Lookup(tr, "local_port"))
		if ts := str(tr, "time"); ts != "" {
			for _, layout := range [...]string{"02/Jan/2006:15:04:05.999999 -0700", "02/Jan/2006:15:04:05 -0700", time.RFC3339Nano} {
				if tm, err := time.Parse(layout, ts); err == nil {
					t.time = tm
					break
				}
			}
		}
		req := d.Lookup(root, "request")
		t.requestLine(str(req, "request_line"))
		t.reqHeaders = jsonHeaders(d, d.Lookup(req, "headers"))
		if b := d.Lookup(req, "body"); b >= 0 {
			t.reqBody = joinBody(d, b)
		}
		resp := d.Lookup(root, "response")
		t.status = intOf(d, d.Lookup(resp, "status"))
		if pr := str(resp, "protocol"); pr != "" && t.version == "" {
			t.version = strings.TrimPrefix(pr, "HTTP/")
		}
		t.respHeaders = jsonHeaders(d, d.Lookup(resp, "headers"))
		if msgs := d.Lookup(ad, "messages"); msgs >= 0 {
			for c := d.First(msgs); c >= 0; c = d.Next(c) {
				if s, ok := d.String(c); ok {
					t.messages = append(t.messages, parseMessage(strings.TrimPrefix(s, "Message: ")))
				}
			}
		}
		if errs := d.Lookup(ad, "error_messages"); errs >= 0 {
			for c := d.First(errs); c >= 0; c = d.Next(c) {
				if s, ok := d.String(c); ok {
					t.errors = append(t.errors, s)
				}
			}
		}
		if act := d.Lookup(ad, "action"); act >= 0 {
			if v, _ := d.String(d.Lookup(act, "intercepted")); v == "true" {
				t.intercepted = true
			}
		}
		t.engineMode = str(ad, "engine_mode")
		t.server = str(ad, "server")
		t.stopwatch = str(ad, "stopwatch")
		if pr := d.Value(d.Lookup(ad, "producer")); pr != nil {
			switch x := pr.(type) {
			case string:
				t.producer = []string{x}
			case []string:
				t.producer = x
			}
		}
		if strings.Contains(strings.Join(t.producer, " "), "Coraza") {
			t.product = "Coraza"
		}
		return nil
	}
	// libmodsecurity v3 JSON or Coraza json.
	t.id = str(tr, "unique_id")
	if t.id == "" {
		t.id = str(tr, "id")
	}
	t.clientIP, t.serverIP = str(tr, "client_ip"), str(tr, "host_ip")
	t.clientPort, t.serverPort = intOf(d, d.Lookup(tr, "client_port")), intOf(d, d.Lookup(tr, "host_port"))
	if ts := str(tr, "time_stamp"); ts != "" {
		if tm, ok := parse.Ctime(ts, cfg); ok {
			t.time = tm
		}
	}
	if us := d.Lookup(tr, "unix_timestamp"); us >= 0 {
		t.product = "Coraza"
		if n, ok := d.Int(us); ok {
			t.time = unixAuto(n)
		}
	} else if ts := str(tr, "timestamp"); ts != "" && t.time.IsZero() {
		for _, layout := range [...]string{"2006/01/02 15:04:05", time.RFC3339Nano} {
			if tm, err := time.ParseInLocation(layout, ts, cfg.Loc()); err == nil {
				t.time = tm
				break
			}
		}
	}
	req := d.Lookup(tr, "request")
	t.method, t.uri = str(req, "method"), str(req, "uri")
	if v, ok := d.String(d.Lookup(req, "http_version")); ok {
		t.version = strings.TrimPrefix(v, "HTTP/")
	}
	t.reqHeaders = jsonHeaders(d, d.Lookup(req, "headers"))
	if b := d.Lookup(req, "body"); b >= 0 {
		t.reqBody = joinBody(d, b)
	}
	if files := d.Lookup(req, "files"); files >= 0 {
		if v := d.Value(files); v != nil {
			ev.Put("modsec.request.files", v)
		}
	}
	resp := d.Lookup(tr, "response")
	t.status = intOf(d, d.Lookup(resp, "http_code"))
	if t.status == 0 {
		t.status = intOf(d, d.Lookup(resp, "status"))
	}
	t.respHeaders = jsonHeaders(d, d.Lookup(resp, "headers"))
	if b := d.Lookup(resp, "body"); b >= 0 {
		t.respBody = joinBody(d, b)
	}
	prod := d.Lookup(tr, "producer")
	for c := d.First(prod); c >= 0; c = d.Next(c) {
		switch k := d.Key(c); k {
		case "secrules_engine", "rule_engine":
			t.engineMode, _ = d.String(c)
		case "components":
			if v, ok := d.Value(c).([]string); ok {
				t.producer = append(t.producer, v...)
			}
		case "stopwatch":
			if v, ok := d.String(c); ok {
				t.stopwatch = v
			}
		default:
			if v, ok := d.String(c); ok {
				t.producer = append(t.producer, v)
				t.setExtra("producer."+k, v)
			}
		}
	}
	if v, ok := d.String(d.Lookup(tr, "server_id")); ok {
		t.setExtra("server_id", v)
	}
	msgs := d.Lookup(tr, "messages")
	if msgs < 0 {
		msgs = d.Lookup(root, "messages") // Coraza: top level
	}
	for c := d.First(msgs); c >= 0; c = d.Next(c) {
		m := message{meta: map[string][]string{}}
		m.text, _ = d.String(d.Lookup(c, "message"))
		det := d.Lookup(c, "details")
		if det < 0 {
			det = d.Lookup(c, "data") // Coraza
		}
		for f := d.First(det); f >= 0; f = d.Next(f) {
			k := d.Key(f)
			switch k {
			case "ruleId":
				k = "id"
			case "lineNumber":
				k = "line"
			case "tags":
				k = "tag"
			}
			if d.Kind(f) == parse.JSONArray {
				for e := d.First(f); e >= 0; e = d.Next(e) {
					if s, ok := d.String(e); ok {
						m.meta[k] = append(m.meta[k], s)
					}
				}
				continue
			}
			if s, ok := d.String(f); ok {
				m.meta[k] = append(m.meta[k], s)
			}
		}
		if m.text == "" {
			m.text = m.get("msg")
		}
		t.messages = append(t.messages, m)
	}
	if v, ok := d.String(d.Path(tr, "response", "intervention")); ok && v == "true" {
		t.intercepted = true
	}
	if v, ok := d.String(d.Lookup(tr, "is_interrupted")); ok && v == "true" {
		t.intercepted = true // Coraza
	}
	return nil
}

// unixAuto converts an epoch in s, ms, µs or ns (decided by magnitude).
func unixAuto(n int64) time.Time {
	switch {
	case n > 1e17:
		return time.Unix(0, n).UTC()
	case n > 1e14:
		return time.UnixMicro(n).UTC()
	case n > 1e11:
		return time.UnixMilli(n).UTC()
	}
	return time.Unix(n, 0).UTC()
}

func intOf(d *parse.JSONDoc, n int) int {
	if v, ok := d.Int(n); ok && v >= 0 && v < 1<<31 {
		return int(v)
	}
	if s, ok := d.String(n); ok {
		if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 1<<31 {
			return int(f)
		}
	}
	return 0
}

func joinBody(d *parse.JSONDoc, n int) string {
	if s, ok := d.String(n); ok {
		return s
	}
	var parts []string
	for c := d.First(n); c >= 0; c = d.Next(c) {
		if s, ok := d.String(c); ok {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n")
}

// jsonHeaders reads a header object, keeping duplicate keys and list values
// (Coraza writes {"name":["v1","v2"]}).
func jsonHeaders(d *parse.JSONDoc, n int) headers {
	var h headers
	for c := d.First(n); c >= 0; c = d.Next(c) {
		k := d.Key(c)
		if d.Kind(c) == parse.JSONArray {
			for e := d.First(c); e >= 0; e = d.Next(e) {
				if s, ok := d.String(e); ok {
					h = append(h, header{k, s})
				}
			}
			continue
		}
		if s, ok := d.String(c); ok {
			h = append(h, header{k, s})
		}
	}
	return h
}

func (h headers) get(name string) string {
	for _, x := range h {
		if strings.EqualFold(x.name, name) {
			return x.value
		}
	}
	return ""
}

func (h headers) put(ev *event.Event, prefix string) {
	byName := map[string][]string{}
	var order []string
	for _, x := range h {
		if _, seen := byName[x.name]; !seen {
			order = append(order, x.name)
		}
		byName[x.name] = append(byName[x.name], x.value)
	}
	for _, name := range order {
		v := byName[name]
		if len(v) == 1 {
			ev.PutString(prefix+name, v[0])
		} else {
			ev.Put(prefix+name, v)
		}
	}
}

// verdictRules are CRS rules that report the anomaly-score decision rather
// than an attack.
var verdictRules = map[string]bool{"949110": true, "959100": true, "980130": true, "980140": true, "980170": true, "949111": true, "959101": true}

func severityRank(s string) int {
	switch strings.ToUpper(s) {
	case "0", "EMERGENCY":
		return 0
	case "1", "ALERT":
		return 1
	case "2", "CRITICAL":
		return 2
	case "3", "ERROR":
		return 3
	case "4", "WARNING":
		return 4
	case "5", "NOTICE":
		return 5
	case "6", "INFO":
		return 6
	case "7", "DEBUG":
		return 7
	}
	return 8
}

func (t *tx) fill(ev *event.Event) {
	if t.product != "" {
		ev.Observer.Product = t.product
	}
	if !t.time.IsZero() {
		ev.Timestamp = t.time
	}
	ev.PutString("transaction.id", t.id)
	ev.PutString("modsec.unique_id", t.id)
	if t.clientPort > 0 {
		ev.Source.Port = t.clientPort
	}
	if t.serverPort > 0 {
		ev.Destination.Port = t.serverPort
	}
	parse.SetEndpoints(ev, "modsec", t.clientIP, t.serverIP)
	if ev.Source.IP.IsValid() {
		ev.Network.Transport = "tcp"
		ev.Network.IANANumber = "6"
	}
	ev.Network.Protocol = "http"
	ev.PutString("http.request.method", t.method)
	ev.PutString("http.version", t.version)
	if t.uri != "" {
		ev.PutString("url.original", t.uri)
		path, query, _ := strings.Cut(t.uri, "?")
		ev.PutString("url.path", path)
		ev.PutString("url.query", query)
	}
	if host := t.reqHeaders.get("Host"); host != "" {
		ev.PutString("url.domain", host)
		ev.AddRelated("hosts", host)
	}
	ev.PutString("user_agent.original", t.reqHeaders.get("User-Agent"))
	ev.PutString("http.request.referrer", t.reqHeaders.get("Referer"))
	if t.status > 0 {
		ev.PutInt("http.response.status_code", int64(t.status))
	}
	t.reqHeaders.put(ev, "modsec.request.headers.")
	t.respHeaders.put(ev, "modsec.response.headers.")
	ev.PutString("http.request.body.content", t.reqBody)
	ev.PutString("http.response.body.content", t.respBody)
	ev.PutString("modsec.engine_mode", t.engineMode)
	ev.PutString("modsec.server", t.server)
	ev.PutString("modsec.stopwatch", t.stopwatch)
	if len(t.producer) > 0 {
		ev.Put("modsec.producer", t.producer)
	}
	for k, v := range t.extra {
		ev.PutString("modsec."+k, v)
	}
	if len(t.errors) > 0 {
		ev.Put("modsec.error_messages", t.errors)
	}

	blocked := t.intercepted || (len(t.messages) > 0 && t.status == 403 && !strings.EqualFold(t.engineMode, "DetectionOnly"))
	if len(t.messages) == 0 {
		ev.Type = []string{"access"}
		ev.Action = "logged"
		if t.status >= 400 {
			ev.Outcome = "failure"
		} else if t.status > 0 {
			ev.Outcome = "success"
		}
		return
	}
	ev.Kind = event.KindAlert
	ev.Category = []string{"web", "intrusion_detection"}
	if blocked {
		ev.Type = []string{"denied"}
		ev.Action = "blocked"
	} else {
		ev.Type = []string{"info"}
		ev.Action = "detected"
	}
	ev.Outcome = "success"
	best, bestRank := -1, 99
	var list []any
	var ids, tags []string
	for i, m := range t.messages {
		rank := severityRank(m.get("severity"))
		if verdictRules[m.get("id")] {
			rank += 10 // only when nothing else matched
		}
		if rank < bestRank {
			best, bestRank = i, rank
		}
		entry := map[string]any{}
		if m.text != "" {
			entry["message"] = m.text
		}
		for k, v := range m.meta {
			if len(v) == 1 {
				entry[k] = v[0]
			} else {
				entry[k] = append([]string(nil), v...)
			}
		}
		list = append(list, entry)
		if id := m.get("id"); id != "" {
			ids = appendUnique(ids, id)
		}
		for _, tag := range m.meta["tag"] {
			tags = appendUnique(tags, tag)
		}
	}
	ev.Put("modsec.messages", list)
	if len(ids) > 0 {
		ev.Put("modsec.rule_ids", ids)
	}
	if len(tags) > 0 {
		ev.Put("tags", tags)
	}
	if best >= 0 {
		m := t.messages[best]
		ev.Rule.ID = m.get("id")
		ev.Rule.Name = m.get("msg")
		if ev.Rule.Name == "" {
			ev.Rule.Name = m.text
		}
		ev.Rule.Category = attackTag(m.meta["tag"])
		if ev.Rule.Category == "" {
			ev.Rule.Category = attackTag(tags)
		}
		ev.PutString("rule.ruleset", m.get("ver"))
		ev.Message = ev.Rule.Name
		if r := severityRank(m.get("severity")); r <= 7 {
			ev.Severity = int64(r)
			ev.PutInt(event.FieldSeverityID, int64(event.SeverityFromModSecurity(int64(r))))
		}
	}
}

func attackTag(tags []string) string {
	for _, t := range tags {
		if strings.HasPrefix(t, "attack-") {
			return t
		}
	}
	return ""
}

func appendUnique(dst []string, v string) []string {
	for _, d := range dst {
		if d == v {
			return dst
		}
	}
	return append(dst, v)
}
