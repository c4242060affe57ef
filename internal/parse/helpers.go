package parse

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/event"
)

// Addr parses an IP address as devices print it (zero-padded IPv6,
// ::ffff:-mapped IPv4, zone suffixes) into its canonical form; the zero
// Addr means s was not an address.
func Addr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// NetworkType returns "ipv4" or "ipv6" for a, "" for the zero Addr.
func NetworkType(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return ""
	case a.Is4():
		return "ipv4"
	}
	return "ipv6"
}

// ProtocolName returns the lowercase IANA keyword of an IP protocol number
// ("tcp" for 6) as ECS network.transport expects, "" when unknown.
func ProtocolName(n int) string {
	switch n {
	case 1:
		return "icmp"
	case 2:
		return "igmp"
	case 4:
		return "ipv4"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 41:
		return "ipv6"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 51:
		return "ah"
	case 58:
		return "ipv6-icmp"
	case 89:
		return "ospf"
	case 103:
		return "pim"
	case 112:
		return "vrrp"
	case 132:
		return "sctp"
	}
	return ""
}

// ProtocolNumber is the inverse of ProtocolName, -1 when unknown.
func ProtocolNumber(name string) int {
	switch strings.ToLower(name) {
	case "icmp":
		return 1
	case "igmp":
		return 2
	case "tcp":
		return 6
	case "udp":
		return 17
	case "gre":
		return 47
	case "esp":
		return 50
	case "ah":
		return 51
	case "ipv6-icmp", "icmpv6", "icmp6":
		return 58
	case "ospf":
		return 89
	case "pim":
		return 103
	case "vrrp", "carp":
		return 112
	case "sctp":
		return 132
	}
	return -1
}

// ProtocolNumberText returns n as decimal text, without allocating for the
// protocol numbers ProtocolNumber knows.
func ProtocolNumberText(n int) string {
	switch n {
	case 1:
		return "1"
	case 6:
		return "6"
	case 17:
		return "17"
	case 58:
		return "58"
	}
	return strconv.Itoa(n)
}

// Transport normalizes a protocol keyword to ECS network.transport text.
func Transport(name string) string {
	l := strings.ToLower(name)
	switch l {
	case "icmpv6", "icmp6", "ipv6-icmp":
		return "ipv6-icmp"
	}
	return l
}

// SetEndpoints fills source and destination from address text (either may
// be empty to keep what ev has), network.type and related.ip. Text that is
// not an address is kept under ns ("pfsense.source.address") so it is not
// lost.
func SetEndpoints(ev *event.Event, ns, src, dst string) {
	srcText, dstText := "", ""
	if src != "" {
		if a := Addr(src); a.IsValid() {
			ev.Source.IP = a
			srcText = canonicalText(a, src)
		} else {
			ev.PutString(ns+".source.address", src)
		}
	} else if ev.Source.IP.IsValid() {
		srcText = ev.Source.IP.String()
	}
	if dst != "" {
		if a := Addr(dst); a.IsValid() {
			ev.Destination.IP = a
			dstText = canonicalText(a, dst)
		} else {
			ev.PutString(ns+".destination.address", dst)
		}
	} else if ev.Destination.IP.IsValid() {
		dstText = ev.Destination.IP.String()
	}
	if ev.Network.Type == "" {
		if t := NetworkType(ev.Source.IP); t != "" {
			ev.Network.Type = t
		} else {
			ev.Network.Type = NetworkType(ev.Destination.IP)
		}
	}
	switch {
	case srcText == "" && dstText == "":
	case ev.Len() > 0 && hasRelatedIP(ev):
		ev.AddRelated("ip", srcText, dstText)
	case srcText == "" || srcText == dstText:
		ev.Append("related.ip", []string{dstText})
	case dstText == "":
		ev.Append("related.ip", []string{srcText})
	default:
		ev.Append("related.ip", []string{srcText, dstText})
	}
}

func hasRelatedIP(ev *event.Event) bool {
	_, ok := ev.Get("related.ip")
	return ok
}

// canonicalText returns the canonical text of a, reusing the input text
// when it already is canonical (any IPv4 text netip accepts is) to save an
// allocation on the hot path.
func canonicalText(a netip.Addr, text string) string {
	if a.Is4() && strings.IndexByte(text, ':') < 0 {
		return text
	}
	return a.String()
}

// RelateIPs appends source.ip and destination.ip to related.ip.
func RelateIPs(ev *event.Event) {
	SetEndpoints(ev, "", "", "")
}

// Port parses a transport port; 0 when s is not one.
func Port(s string) int {
	n, ok := Atoi(s)
	if !ok || n > 65535 {
		return 0
	}
	return n
}

// SplitCSV splits one CSV record honoring double quotes ("a,""b""" → a,"b")
// and appends the fields to dst. It never fails: an unterminated quote runs
// to the end of the record.
func SplitCSV(dst []string, s string) []string {
	for {
		if len(s) > 0 && s[0] == '"' {
			var b strings.Builder
			i := 1
			for i < len(s) {
				c := s[i]
				if c == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(c)
				i++
			}
			dst = append(dst, b.String())
			j := strings.IndexByte(s[i:], ',')
			if j < 0 {
				return dst
			}
			s = s[i+j+1:]
			continue
		}
		j := strings.IndexByte(s, ',')
		if j < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:j])
		s = s[j+1:]
	}
}
