package firewall

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"time"
)

// Set names inside the managed table.
const (
	set4 = "block4"
	set6 = "block6"
)

// UnavailableError reports that a backend cannot be reached: a binary not
// installed, lacking CAP_NET_ADMIN, an appliance not answering.
type UnavailableError struct {
	// Backend names it; "" means nftables.
	Backend string
	Reason  string
	Err     error
}

func (e *UnavailableError) Error() string {
	b := e.Backend
	if b == "" {
		b = BackendNFT
	}
	return "the " + b + " backend is not available: " + e.Reason
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// nft drives the nft binary for one managed table.
type nft struct {
	bin     string // configured name or path
	table   string // inet table name
	size    int    // max elements per set
	timeout time.Duration
}

// path resolves the binary or reports it missing.
func (n *nft) path() (string, error) {
	p, err := exec.LookPath(n.bin)
	if err != nil {
		return "", &UnavailableError{Reason: fmt.Sprintf("%q not found (install the Debian package nftables, or set --nft)", n.bin), Err: err}
	}
	return p, nil
}

// exec runs nft with args and stdin and returns stdout. A failure carries
// nft's own message.
func (n *nft) exec(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	p, err := n.path()
	if err != nil {
		return nil, err
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if err := parent.Err(); err != nil {
			return nil, fmt.Errorf("nft %s: %w", strings.Join(args, " "), err)
		}
		if ctx.Err() != nil {
			return nil, &UnavailableError{Reason: fmt.Sprintf("nft did not answer within %s", n.timeout), Err: ctx.Err()}
		}
		if strings.Contains(msg, "Operation not permitted") {
			return nil, &UnavailableError{Reason: "nft needs CAP_NET_ADMIN (run the server as root or grant the capability): " + firstLine(msg), Err: err}
		}
		if msg == "" {
			msg = err.Error()
		}
		return nil, &nftError{msg: msg, err: err}
	}
	return out.Bytes(), nil
}

type nftError struct {
	msg string
	err error
}

func (e *nftError) Error() string { return "nft: " + e.msg }
func (e *nftError) Unwrap() error { return e.err }

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// version returns nft's version line; it proves the binary runs.
func (n *nft) version(ctx context.Context) (string, error) {
	out, err := n.exec(ctx, "", "--version")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// state is what the managed table holds.
type state struct {
	Present bool
	Chains  []string
	Sets    map[string]setState
	// ref is a backend's handle on its managed object (the pfSense
	// alias id).
	ref string
}

type setState struct {
	Size  int
	Elems []element
}

// element is one blocked address as nft reports it.
type element struct {
	Addr    netip.Addr
	Timeout time.Duration // 0: no timeout
	Expires time.Duration // remaining
	Comment string
}

// list reads the managed table. A missing table is not an error.
func (n *nft) list(ctx context.Context) (state, error) {
	out, err := n.exec(ctx, "", "-j", "list", "table", "inet", n.table)
	if err != nil {
		var ne *nftError
		if errors.As(err, &ne) && strings.Contains(ne.msg, "No such file or directory") {
			return state{Sets: map[string]setState{}}, nil
		}
		return state{}, fmt.Errorf("listing table inet %s: %w", n.table, err)
	}
	st, err := parseState(out)
	if err != nil {
		return state{}, fmt.Errorf("reading nft -j output for table inet %s: %w", n.table, err)
	}
	return st, nil
}

// nftJSON is the part of libnftables' JSON schema we read.
type nftJSON struct {
	Nftables []struct {
		Table *struct {
			Name string `json:"name"`
		} `json:"table"`
		Chain *struct {
			Name string `json:"name"`
		} `json:"chain"`
		Set *struct {
			Name string            `json:"name"`
			Size int               `json:"size"`
			Elem []json.RawMessage `json:"elem"`
		} `json:"set"`
	} `json:"nftables"`
}

// parseState reads "nft -j list table" output.
func parseState(b []byte) (state, error) {
	var doc nftJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return state{}, err
	}
	st := state{Sets: map[string]setState{}}
	for _, o := range doc.Nftables {
		switch {
		case o.Table != nil:
			st.Present = true
		case o.Chain != nil:
			st.Chains = append(st.Chains, o.Chain.Name)
		case o.Set != nil:
			ss := setState{Size: o.Set.Size}
			for _, raw := range o.Set.Elem {
				e, err := parseElem(raw)
				if err != nil {
					return state{}, fmt.Errorf("set %s: %w", o.Set.Name, err)
				}
				ss.Elems = append(ss.Elems, e)
			}
			st.Sets[o.Set.Name] = ss
		}
	}
	return st, nil
}

// parseElem reads a set element: a bare address string, or an object
// {"elem": {"val": ..., "timeout": s, "expires": s, "comment": ...}}.
func parseElem(raw json.RawMessage) (element, error) {
	var val string
	if err := json.Unmarshal(raw, &val); err == nil {
		a, err := netip.ParseAddr(val)
		if err != nil {
			return element{}, fmt.Errorf("element %q is not an address", val)
		}
		return element{Addr: a}, nil
	}
	var obj struct {
		Elem struct {
			Val     json.RawMessage `json:"val"`
			Timeout int64           `json:"timeout"`
			Expires int64           `json:"expires"`
			Comment string          `json:"comment"`
		} `json:"elem"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return element{}, fmt.Errorf("element %s: %w", raw, err)
	}
	if err := json.Unmarshal(obj.Elem.Val, &val); err != nil {
		return element{}, fmt.Errorf("element value %s is not a single address (intervals and prefixes are not managed here)", obj.Elem.Val)
	}
	a, err := netip.ParseAddr(val)
	if err != nil {
		return element{}, fmt.Errorf("element %q is not an address", val)
	}
	return element{Addr: a, Timeout: time.Duration(obj.Elem.Timeout) * time.Second,
		Expires: time.Duration(obj.Elem.Expires) * time.Second, Comment: obj.Elem.Comment}, nil
}

// run sends a script to nft as one transaction.
func (n *nft) run(ctx context.Context, script string) error {
	if _, err := n.exec(ctx, script, "-f", "-"); err != nil {
		return err
	}
	return nil
}

// setFor names the set an address belongs in.
func setFor(a netip.Addr) string {
	if a.Is4() {
		return set4
	}
	return set6
}

// ensureScript creates the managed table, its sets and chains if missing
// and rewrites the two chains' rules. "add" of an existing table, set or
// chain is a no-op in nft, and the flush and re-add happen in the same
// transaction as the rest, so the sets keep their elements and packets
// never see a chain without its rules.
func (n *nft) ensureScript() []string {
	t := "inet " + n.table
	cmds := []string{"add table " + t}
	for _, s := range []struct{ name, typ string }{{set4, "ipv4_addr"}, {set6, "ipv6_addr"}} {
		cmds = append(cmds, fmt.Sprintf("add set %s %s { type %s; flags timeout; size %d; comment \"mcpsoc block list\"; }", t, s.name, s.typ, n.size))
	}
	for _, c := range []string{"input", "forward"} {
		// Priority filter - 10 runs before the usual filter chains, so an
		// accept there cannot let a blocked source through.
		cmds = append(cmds,
			fmt.Sprintf("add chain %s %s { type filter hook %s priority filter - 10; policy accept; }", t, c, c),
			fmt.Sprintf("flush chain %s %s", t, c),
			fmt.Sprintf("add rule %s %s ip saddr @%s drop", t, c, set4),
			fmt.Sprintf("add rule %s %s ip6 saddr @%s drop", t, c, set6))
	}
	return cmds
}

// blockScript blocks a for ttl, replacing an existing element so the new
// TTL and reason apply: add (no-op if present), delete, add.
func (n *nft) blockScript(a netip.Addr, ttl time.Duration, reason string) []string {
	set := "inet " + n.table + " " + setFor(a)
	elem := fmt.Sprintf("%s timeout %ds", a, int64(ttl/time.Second))
	if reason != "" {
		elem += fmt.Sprintf(" comment %q", reason) // checkReason allows no quote or backslash
	}
	return append(n.ensureScript(),
		fmt.Sprintf("add element %s { %s }", set, a),
		fmt.Sprintf("delete element %s { %s }", set, a),
		fmt.Sprintf("add element %s { %s }", set, elem))
}

// unblockScript removes a; nft fails if it is not in the set.
func (n *nft) unblockScript(a netip.Addr) []string {
	return []string{fmt.Sprintf("delete element inet %s %s { %s }", n.table, setFor(a), a)}
}

func script(cmds []string) string { return strings.Join(cmds, "\n") + "\n" }

// blocks flattens both sets, sorted by address.
func (st state) blocks() []element {
	var out []element
	for _, s := range []string{set4, set6} {
		out = append(out, st.Sets[s].Elems...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

// find returns a's element if blocked.
func (st state) find(a netip.Addr) (element, bool) {
	for _, e := range st.Sets[setFor(a)].Elems {
		if e.Addr == a {
			return e, true
		}
	}
	return element{}, false
}

// complete reports whether the table has both sets and both chains.
func (st state) complete() bool {
	_, ok4 := st.Sets[set4]
	_, ok6 := st.Sets[set6]
	return st.Present && ok4 && ok6 && slices.Contains(st.Chains, "input") && slices.Contains(st.Chains, "forward")
}
