package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// cgnat is the shared address space of RFC 6598, private in all but name.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// guard decides which addresses may be blocked.
type guard struct {
	allowPrivate bool
	allowList    []netip.Prefix
}

// parseAllowList parses CIDRs (or bare addresses) that must never be
// blocked.
func parseAllowList(entries []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(e)
		if err != nil {
			return nil, fmt.Errorf("allow-list entry %q is neither a CIDR nor an address", e)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// parseIP reads one address: no zone, no prefix, IPv4-mapped IPv6 folded
// to IPv4 (the kernel sees IPv4 packets for those).
func parseIP(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, errors.New("ip is required")
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		if strings.Contains(s, "/") {
			return netip.Addr{}, fmt.Errorf("%q is a network, not an address: block one address at a time", s)
		}
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q has a zone; give the address without %%zone", s)
	}
	return a.Unmap(), nil
}

// RefusedError is a block the guards refuse: the address is protected
// (loopback, private, allow-listed...), not merely malformed.
type RefusedError struct {
	Addr netip.Addr
	Why  string
}

func (e *RefusedError) Error() string { return fmt.Sprintf("refusing to block %s: %s", e.Addr, e.Why) }

// check refuses addresses whose blocking would cut off the host itself or
// its own networks.
func (g guard) check(a netip.Addr) error {
	switch {
	case a.IsUnspecified():
		return &RefusedError{Addr: a, Why: "it is the unspecified address"}
	case a.IsLoopback():
		return &RefusedError{Addr: a, Why: "it is a loopback address"}
	case a.IsLinkLocalUnicast():
		return &RefusedError{Addr: a, Why: "it is a link-local address"}
	case a.IsMulticast():
		return &RefusedError{Addr: a, Why: "it is a multicast address"}
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return &RefusedError{Addr: a, Why: "it is the broadcast address"}
	}
	for _, p := range g.allowList {
		if p.Contains(a) {
			return &RefusedError{Addr: a, Why: "it is in the allow-list entry " + p.String()}
		}
	}
	if !g.allowPrivate && (a.IsPrivate() || cgnat.Contains(a)) {
		return &RefusedError{Addr: a, Why: "it is a private address (start the server with --allow-private to permit private and ULA ranges)"}
	}
	return nil
}

// ttlBounds are the durations a block may last.
type ttlBounds struct{ def, min, max time.Duration }

// parse reads a TTL such as "90m" or "7d" (days are accepted as a
// convenience); empty means the default. TTLs are whole seconds because
// nft reports timeouts in seconds.
func (b ttlBounds) parse(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return b.def, nil
	}
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok && !strings.ContainsAny(n, "hms") {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || fmt.Sprint(days) != n {
			return 0, fmt.Errorf("ttl %q is not a duration such as 30m, 12h or 7d", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("ttl %q is not a duration such as 30m, 12h or 7d", s)
		}
	}
	if d%time.Second != 0 {
		return 0, fmt.Errorf("ttl %s is not a whole number of seconds", d)
	}
	if d < b.min || d > b.max {
		return 0, fmt.Errorf("ttl %s is outside the allowed range %s to %s", d, b.min, b.max)
	}
	return d, nil
}

// maxReason is the longest reason kept: nft comments are at most 128
// bytes (NFT_USERDATA_MAXLEN) including their framing.
const maxReason = 120

// checkReason accepts printable ASCII except the double quote and the
// backslash, which could end or escape the nft string the reason is
// written in.
func checkReason(r string) error {
	if len(r) > maxReason {
		return fmt.Errorf("reason is %d bytes; at most %d are kept", len(r), maxReason)
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return fmt.Errorf("reason contains %q at byte %d: use printable ASCII without quotes or backslashes", c, i)
		}
	}
	return nil
}

// checkTable accepts nft identifiers we are willing to interpolate.
func checkTable(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("table name %q must be 1-64 characters", name)
	}
	for i, c := range name {
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return fmt.Errorf("table name %q: only letters, digits and _ (not leading digits)", name)
		}
	}
	return nil
}
