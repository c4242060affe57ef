package firewall

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// iptBackend is the iptables+ipset backend: a hash:ip set per family with
// per-element timeouts (the kernel lifts a block when its TTL ends), and a
// managed chain in the filter table of iptables and ip6tables that drops
// packets from the set's addresses, jumped to first from INPUT and FORWARD.
type iptBackend struct {
	ipset, iptables, ip6tables string // binaries
	name                       string // sets name+"4"/name+"6"
	chain                      string
	size                       int
	timeout                    time.Duration
}

func newIPT(cfg Config) *iptBackend {
	return &iptBackend{ipset: cfg.IPSet, iptables: cfg.IPTables, ip6tables: cfg.IP6Tables,
		name: cfg.Table, chain: strings.ToUpper(cfg.Table), size: cfg.MaxElements, timeout: cfg.Timeout}
}

func (b *iptBackend) kind() string { return BackendIPTables }
func (b *iptBackend) where() string {
	return fmt.Sprintf("ipset %s4/%s6, chain %s (filter table of iptables and ip6tables)", b.name, b.name, b.chain)
}
func (b *iptBackend) close() {}

func (b *iptBackend) setName(a netip.Addr) string {
	if a.Is4() {
		return b.name + "4"
	}
	return b.name + "6"
}

// families pairs each logical set with its ipset and its iptables binary.
func (b *iptBackend) families() []struct{ set, ipset, tool, match string } {
	return []struct{ set, ipset, tool, match string }{
		{set4, b.name + "4", b.iptables, "inet"},
		{set6, b.name + "6", b.ip6tables, "inet6"},
	}
}

// run executes one command; failures carry the tool's message.
func (b *iptBackend) run(ctx context.Context, argv []string) ([]byte, error) {
	p, err := exec.LookPath(argv[0])
	if err != nil {
		pkg := "iptables"
		if argv[0] == b.ipset {
			pkg = "ipset"
		}
		return nil, &UnavailableError{Backend: BackendIPTables, Reason: fmt.Sprintf("%q not found (install the Debian package %s)", argv[0], pkg), Err: err}
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p, argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if err := parent.Err(); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, &UnavailableError{Backend: BackendIPTables, Reason: fmt.Sprintf("%s did not answer within %s", argv[0], b.timeout), Err: ctx.Err()}
		}
		if strings.Contains(msg, "Operation not permitted") || strings.Contains(msg, "Permission denied") || strings.Contains(msg, "you must be root") {
			return nil, &UnavailableError{Backend: BackendIPTables, Reason: argv[0] + " needs CAP_NET_ADMIN (run the server as root or grant the capability): " + firstLine(msg), Err: err}
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, &cmdError{cmd: argv, msg: msg, err: err}
	}
	return out.Bytes(), nil
}

type cmdError struct {
	cmd []string
	msg string
	err error
}

func (e *cmdError) Error() string { return strings.Join(e.cmd, " ") + ": " + e.msg }
func (e *cmdError) Unwrap() error { return e.err }

func (b *iptBackend) version(ctx context.Context) (string, error) {
	v1, err := b.run(ctx, []string{b.ipset, "--version"})
	if err != nil {
		return "", err
	}
	v2, err := b.run(ctx, []string{b.iptables, "--version"})
	if err != nil {
		return "", err
	}
	if _, err := b.run(ctx, []string{b.ip6tables, "--version"}); err != nil {
		return "", err
	}
	return firstLine(strings.TrimSpace(string(v2))) + "; " + firstLine(strings.TrimSpace(string(v1))), nil
}

// Markers of the chain parts in state.Chains.
func (b *iptBackend) marks(tool string) (chain, rule string, jumps []string) {
	return tool + " -N " + b.chain, tool + " drop rule", []string{tool + " INPUT", tool + " FORWARD"}
}

// ipsetXML is the part of "ipset list -o xml" we read.
type ipsetXML struct {
	Sets []struct {
		Name   string `xml:"name,attr"`
		Header struct {
			MaxElem int `xml:"maxelem"`
		} `xml:"header"`
		Members []struct {
			Elem    string `xml:"elem"`
			Timeout int64  `xml:"timeout"`
			Comment string `xml:"comment"`
		} `xml:"members>member"`
	} `xml:"ipset"`
}

// parseIPSet reads one set from "ipset list -o xml" output.
func parseIPSet(b []byte) (setState, error) {
	var doc ipsetXML
	if err := xml.Unmarshal(b, &doc); err != nil {
		return setState{}, err
	}
	if len(doc.Sets) != 1 {
		return setState{}, fmt.Errorf("expected one set, got %d", len(doc.Sets))
	}
	s := doc.Sets[0]
	ss := setState{Size: s.Header.MaxElem}
	for _, m := range s.Members {
		a, err := netip.ParseAddr(m.Elem)
		if err != nil {
			return setState{}, fmt.Errorf("member %q is not an address", m.Elem)
		}
		e := element{Addr: a, Expires: time.Duration(m.Timeout) * time.Second}
		e.Timeout, e.Comment = parseComment(strings.Trim(m.Comment, `"`))
		if e.Timeout == 0 {
			e.Timeout = e.Expires
		}
		ss.Elems = append(ss.Elems, e)
	}
	return ss, nil
}

// The element comment keeps the TTL a block was created with, since ipset
// reports only the time left: "ttl=3600 reason".
func comment(ttl time.Duration, reason string) string {
	c := "ttl=" + strconv.FormatInt(int64(ttl/time.Second), 10)
	if reason != "" {
		c += " " + reason
	}
	return c
}

func parseComment(c string) (time.Duration, string) {
	rest, ok := strings.CutPrefix(c, "ttl=")
	if !ok {
		return 0, c
	}
	n, reason, _ := strings.Cut(rest, " ")
	v, err := strconv.ParseInt(n, 10, 64)
	if err != nil || v < 0 {
		return 0, c
	}
	return time.Duration(v) * time.Second, reason
}

func (b *iptBackend) list(ctx context.Context) (state, error) {
	st := state{Sets: map[string]setState{}}
	for _, f := range b.families() {
		out, err := b.run(ctx, []string{b.ipset, "list", f.ipset, "-output", "xml"})
		var ce *cmdError
		switch {
		case errors.As(err, &ce) && strings.Contains(ce.msg, "does not exist"):
		case err != nil:
			return state{}, fmt.Errorf("listing ipset %s: %w", f.ipset, err)
		default:
			ss, err := parseIPSet(out)
			if err != nil {
				return state{}, fmt.Errorf("reading ipset %s: %w", f.ipset, err)
			}
			st.Sets[f.set] = ss
			st.Present = true
		}
		rules, err := b.run(ctx, []string{f.tool, "-w", "-S"})
		if err != nil {
			return state{}, fmt.Errorf("listing %s rules: %w", f.tool, err)
		}
		chain, rule, jumps := b.marks(f.tool)
		for _, l := range strings.Split(string(rules), "\n") {
			switch strings.TrimSpace(l) {
			case "-N " + b.chain:
				st.Chains = append(st.Chains, chain)
			case fmt.Sprintf("-A %s -m set --match-set %s src -j DROP", b.chain, f.ipset):
				st.Chains = append(st.Chains, rule)
			case "-A INPUT -j " + b.chain:
				st.Chains = append(st.Chains, jumps[0])
			case "-A FORWARD -j " + b.chain:
				st.Chains = append(st.Chains, jumps[1])
			}
		}
	}
	return st, nil
}

func (b *iptBackend) complete(st state) bool {
	_, ok4 := st.Sets[set4]
	_, ok6 := st.Sets[set6]
	if !ok4 || !ok6 {
		return false
	}
	for _, f := range b.families() {
		chain, rule, jumps := b.marks(f.tool)
		for _, m := range append([]string{chain, rule}, jumps...) {
			if !slices.Contains(st.Chains, m) {
				return false
			}
		}
	}
	return true
}

// ensure returns the commands that create whatever managed part is
// missing in st; nothing when all is in place.
func (b *iptBackend) ensure(st state) [][]string {
	var cmds [][]string
	for _, f := range b.families() {
		if _, ok := st.Sets[f.set]; !ok {
			cmds = append(cmds, []string{b.ipset, "create", f.ipset, "hash:ip", "family", f.match, "timeout", "0",
				"maxelem", strconv.Itoa(b.size), "comment"})
		}
	}
	for _, f := range b.families() {
		chain, rule, jumps := b.marks(f.tool)
		if !slices.Contains(st.Chains, chain) {
			cmds = append(cmds, []string{f.tool, "-w", "-N", b.chain})
		}
		if !slices.Contains(st.Chains, rule) {
			cmds = append(cmds, []string{f.tool, "-w", "-A", b.chain, "-m", "set", "--match-set", f.ipset, "src", "-j", "DROP"})
		}
		for i, hook := range []string{"INPUT", "FORWARD"} {
			if !slices.Contains(st.Chains, jumps[i]) {
				cmds = append(cmds, []string{f.tool, "-w", "-I", hook, "1", "-j", b.chain})
			}
		}
	}
	return cmds
}

func (b *iptBackend) blockPlan(st state, a netip.Addr, ttl time.Duration, reason string) [][]string {
	cmds := b.ensure(st)
	set := b.setName(a)
	if _, had := st.find(a); had {
		cmds = append(cmds, []string{b.ipset, "del", set, a.String()})
	}
	return append(cmds, []string{b.ipset, "add", set, a.String(), "timeout", strconv.FormatInt(int64(ttl/time.Second), 10),
		"comment", comment(ttl, reason)})
}

func (b *iptBackend) unblockPlan(a netip.Addr) [][]string {
	return [][]string{{b.ipset, "del", b.setName(a), a.String()}}
}

// render shows argv as a shell would need it quoted.
func render(cmds [][]string) []string {
	out := make([]string, 0, len(cmds))
	for _, c := range cmds {
		ws := make([]string, len(c))
		for i, w := range c {
			if w == "" || strings.ContainsAny(w, " \t\"'\\$") {
				w = strconv.Quote(w)
			}
			ws[i] = w
		}
		out = append(out, strings.Join(ws, " "))
	}
	return out
}

func (b *iptBackend) exec(ctx context.Context, cmds [][]string) error {
	for _, c := range cmds {
		if _, err := b.run(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func (b *iptBackend) blockCommands(st state, a netip.Addr, ttl time.Duration, reason string) []string {
	return render(b.blockPlan(st, a, ttl, reason))
}

func (b *iptBackend) unblockCommands(_ state, a netip.Addr) []string { return render(b.unblockPlan(a)) }

func (b *iptBackend) block(ctx context.Context, st state, a netip.Addr, ttl time.Duration, reason string) error {
	return b.exec(ctx, b.blockPlan(st, a, ttl, reason))
}

func (b *iptBackend) unblock(ctx context.Context, _ state, a netip.Addr) error {
	return b.exec(ctx, b.unblockPlan(a))
}
