// Package netfilter parses Linux kernel netfilter LOG lines: iptables and
// ip6tables "-j LOG", ufw ("[UFW BLOCK] ...") and nftables "log prefix".
// It registers the format "netfilter". nftables "log group" output goes to
// NFLOG/ulogd and is a different format, not handled here.
//
// Vendor fields go under "iptables.*" (the namespace Elastic uses for all of
// these). The two LEN keys of UDP packets are kept apart (iptables.length
// for the IP datagram, iptables.udp.length for UDP), and the bracketed copy
// of the offending header inside ICMP errors becomes iptables.icmp.embedded.*
// instead of overwriting the outer addresses.
package netfilter

import (
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// Name is the registered format name.
const Name = "netfilter"

func init() {
	parse.Register(Name, func(cfg *parse.Config) (parse.Parser, error) {
		return &Parser{actions: cfg.NetfilterActions}, nil
	})
}

// Shared read-only slices (events copy on append), one allocation less each.
var (
	categoryNetwork = []string{"network"}
	typeAllowed     = []string{"connection", "allowed"}
	typeDenied      = []string{"connection", "denied"}
	typeConnection  = []string{"connection"}
)

// Parser parses netfilter LOG lines. It is safe for concurrent use.
type Parser struct {
	actions map[string]string
}

var (
	_ parse.Parser   = (*Parser)(nil)
	_ parse.Detector = (*Parser)(nil)
)

// Name returns "netfilter".
func (*Parser) Name() string { return Name }

// Detect claims payloads with the IN= ... OUT= pair every LOG line has.
func (*Parser) Detect(rec *parse.Record) int {
	i := inIndex(rec.Payload)
	if i < 0 || !strings.Contains(rec.Payload[i:], " OUT=") {
		return 0
	}
	if rec.AppName() == "kernel" {
		return 100
	}
	return 90
}

// inIndex finds "IN=" at the start of a word.
func inIndex(s string) int {
	off := 0
	for {
		i := strings.Index(s[off:], "IN=")
		if i < 0 {
			return -1
		}
		i += off
		if i == 0 || s[i-1] == ' ' || s[i-1] == ']' {
			return i
		}
		off = i + 3
	}
}

// Parse normalizes one LOG line.
func (p *Parser) Parse(ev *event.Event, rec *parse.Record) error {
	s := rec.Payload
	i := inIndex(s)
	if i < 0 {
		return parse.NotMine(Name, `a kernel LOG line with "IN=" and "OUT="`)
	}
	head := strings.TrimSpace(s[:i])
	body := s[i:]
	// Optional kernel uptime "[81234.567890]".
	if len(head) > 2 && head[0] == '[' {
		if j := strings.IndexByte(head, ']'); j > 0 && isUptime(head[1:j]) {
			ev.Append("iptables.kernel_uptime", strings.TrimSpace(head[1:j]))
			head = strings.TrimSpace(head[j+1:])
		}
	}
	ev.Grow(24)
	ev.Kind = event.KindEvent
	ev.Category = categoryNetwork
	ev.Module = "iptables"
	ev.Dataset = "iptables.log"
	ev.Observer.Vendor = "Linux"
	ev.Observer.Product = "netfilter"
	ev.Observer.Type = "firewall"
	ev.Observer.Name, _ = ev.GetString("host.name")
	if head != "" {
		ev.Rule.Name = head
		ev.Append("iptables.prefix", head)
		if strings.HasPrefix(head, "[UFW ") {
			ev.Observer.Product = "ufw"
		}
	}
	p.classify(ev, head)

	var flagBuf, tcpFlagBuf [8]string
	flags, tcpFlags := flagBuf[:0], tcpFlagBuf[:0]
	var embedded, embeddedProto bool
	proto, src, dst := "", "", ""
	ipv6 := false
	for body != "" {
		var tok string
		tok, body = cut(body)
		if tok == "" {
			continue
		}
		if tok[0] == '[' && !embedded {
			embedded = true
			tok = tok[1:]
		}
		if embedded {
			end := strings.HasSuffix(tok, "]")
			tok = strings.TrimSuffix(tok, "]")
			if k, v, ok := strings.Cut(tok, "="); ok && k != "" {
				k = strings.ToLower(k)
				if k == "proto" {
					embeddedProto = true
				} else if k == "len" && embeddedProto {
					k = "transport_len"
				}
				ev.Put("iptables.icmp.embedded."+k, v)
			} else if tok != "" {
				ev.Put("iptables.icmp.embedded.flag."+strings.ToLower(tok), true)
			}
			if end {
				embedded = false
			}
			continue
		}
		if tok == "OPT" && strings.HasPrefix(body, "(") {
			var opt string
			opt, body = cut(body)
			name := "iptables.ip_options"
			if proto == "TCP" {
				name = "iptables.tcp.options"
			}
			ev.Put(name, strings.Trim(opt, "()"))
			continue
		}
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			switch tok {
			case "CE", "DF", "MF":
				if proto == "" {
					flags = append(flags, tok)
					continue
				}
			case "CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN":
				if proto == "TCP" {
					tcpFlags = append(tcpFlags, tok)
					continue
				}
			}
			ev.Put("iptables.flag."+strings.ToLower(tok), true)
			continue
		}
		switch k {
		case "IN":
			putS(ev, "observer.ingress.interface.name", v)
		case "OUT":
			putS(ev, "observer.egress.interface.name", v)
		case "MAC":
			putMAC(ev, v)
		case "SRC":
			src = v
		case "DST":
			dst = v
		case "LEN":
			if proto == "UDP" || proto == "UDPLITE" {
				putInt(ev, "iptables.udp.length", v)
			} else {
				putInt(ev, "iptables.length", v)
			}
		case "TOS":
			putS(ev, "iptables.tos", v)
		case "PREC":
			putS(ev, "iptables.precedence_bits", v)
		case "TTL":
			putInt(ev, "iptables.ttl", v)
		case "ID":
			if proto == "" {
				putInt(ev, "iptables.id", v)
			} else {
				putInt(ev, "iptables.icmp.id", v)
			}
		case "FRAG":
			putInt(ev, "iptables.fragment_offset", v)
		case "TC":
			ipv6 = true
			putInt(ev, "iptables.traffic_class", v)
		case "HOPLIMIT":
			ipv6 = true
			putInt(ev, "iptables.hop_limit", v)
		case "FLOWLBL":
			ipv6 = true
			putInt(ev, "iptables.flow_label", v)
		case "PROTO":
			proto = strings.ToUpper(v)
			ev.Network.Transport = parse.Transport(v)
			if n := parse.ProtocolNumber(v); n >= 0 {
				ev.Network.IANANumber = parse.ProtocolNumberText(n)
			} else if _, isNum := parse.Atoi(v); isNum {
				ev.Network.IANANumber = v
				ev.Network.Transport = parse.ProtocolName(atoi(v))
			}
		case "SPT":
			ev.Source.Port = parse.Port(v)
		case "DPT":
			ev.Destination.Port = parse.Port(v)
		case "SEQ":
			if proto == "TCP" {
				putInt(ev, "iptables.tcp.seq", v)
			} else {
				putInt(ev, "iptables.icmp.seq", v)
			}
		case "ACK":
			putInt(ev, "iptables.tcp.ack", v)
		case "WINDOW":
			putInt(ev, "iptables.tcp.window", v)
		case "RES":
			putS(ev, "iptables.tcp.reserved_bits", v)
		case "URGP":
			putInt(ev, "iptables.tcp.urgent_pointer", v)
		case "TYPE":
			putInt(ev, "iptables.icmp.type", v)
		case "CODE":
			putInt(ev, "iptables.icmp.code", v)
		case "PARAMETER":
			putInt(ev, "iptables.icmp.parameter", v)
		case "GATEWAY":
			putS(ev, "iptables.icmp.redirect", v)
		case "MTU":
			putInt(ev, "iptables.icmp.mtu", v)
		case "UID":
			putS(ev, "user.id", v)
		case "GID":
			putS(ev, "group.id", v)
		case "MARK":
			putS(ev, "iptables.mark", v)
		case "PHYSIN":
			putS(ev, "iptables.physical_in", v)
		case "PHYSOUT":
			putS(ev, "iptables.physical_out", v)
		default:
			ev.Put("iptables."+strings.ToLower(k), v)
		}
	}
	if src == "" && dst == "" && proto == "" {
		return parse.Errorf("netfilter: no SRC, DST or PROTO in LOG line")
	}
	if len(flags) > 0 {
		ev.Put("iptables.fragment_flags", append([]string(nil), flags...))
	}
	if len(tcpFlags) > 0 {
		ev.Put("iptables.tcp.flags", append([]string(nil), tcpFlags...))
	}
	if ipv6 {
		ev.Network.Type = "ipv6"
	}
	parse.SetEndpoints(ev, "iptables", src, dst)
	return nil
}

// classify derives event.action, event.type and event.outcome from the
// prefix: configured substrings first, then ufw's verdict words, then
// common keywords.
func (p *Parser) classify(ev *event.Event, prefix string) {
	action := ""
	for sub, a := range p.actions {
		if sub != "" && strings.Contains(prefix, sub) && (action == "" || a < action) {
			action = a
		}
	}
	if action == "" {
		switch {
		case containsFold(prefix, "UFW LIMIT BLOCK"):
			action = "limit-block"
		case containsFold(prefix, "BLOCK"), containsFold(prefix, "DROP"), containsFold(prefix, "DENY"):
			action = "block"
		case containsFold(prefix, "REJECT"):
			action = "reject"
		case containsFold(prefix, "ALLOW"), containsFold(prefix, "ACCEPT"), containsFold(prefix, "PASS"):
			action = "allow"
		case containsFold(prefix, "AUDIT"):
			action = "audit"
		}
	}
	ev.Action = action
	switch action {
	case "block", "limit-block", "reject", "drop", "deny", "denied", "blocked":
		ev.Type = typeDenied
		ev.Outcome = "failure"
	case "allow", "accept", "pass", "allowed":
		ev.Type = typeAllowed
		ev.Outcome = "success"
	default:
		ev.Type = typeConnection
	}
}

// containsFold reports whether s contains the upper-case ASCII word sub,
// ignoring case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

// putMAC splits MAC= (destination 6 bytes, source 6 bytes, ethertype 2
// bytes) into ECS destination.mac / source.mac and iptables.ether_type.
func putMAC(ev *event.Event, v string) {
	if len(v) != 14*3-1 {
		putS(ev, "iptables.mac", v)
		return
	}
	// One allocation for all three values.
	var b [35 + 6]byte
	for i := 0; i < 35; i++ {
		c := v[i]
		switch {
		case c == ':':
			c = '-'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 'A'
		}
		b[i] = c
	}
	b[35], b[36], b[37], b[38], b[39], b[40] = '0', 'x', v[36], v[37], v[39], v[40]
	all := string(b[:])
	ev.PutString("destination.mac", all[:17])
	ev.PutString("source.mac", all[18:35])
	ev.PutString("iptables.ether_type", all[35:])
}

func isUptime(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			return false
		}
	}
	return true
}

func cut(s string) (tok, rest string) {
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

func putS(ev *event.Event, name, v string) {
	if v != "" {
		ev.PutString(name, v)
	}
}

func putInt(ev *event.Event, name, v string) {
	if v == "" {
		return
	}
	if n, ok := parse.Atoi(v); ok {
		ev.PutInt(name, int64(n))
		return
	}
	ev.PutString(name, v) // keep non-decimal text (hex, garbage) as it is
}

func atoi(s string) int {
	n, _ := parse.Atoi(s)
	return n
}
