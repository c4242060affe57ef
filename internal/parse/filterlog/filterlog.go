// Package filterlog parses the pf "filterlog" CSV lines that pfSense and
// OPNsense write (locally and over syslog), IPv4 and IPv6, with TCP, UDP,
// ICMP, CARP and other protocol tails. It registers the format "filterlog".
//
// Vendor fields ECS has no name for go under "pfsense.*" for both products
// (OPNsense's filterlog is a fork of pfSense's and its extra fields are a
// superset); observer.product tells the two apart: a 32-hex rule label in
// the tracker column or an ICMP tail starting "datalength=" means OPNsense.
// Unknown trailing columns added by newer releases are kept in
// pfsense.extra rather than rejected.
package filterlog

import (
	"strings"

	"github.com/mcpsoc/mcpsoc/internal/event"
	"github.com/mcpsoc/mcpsoc/internal/parse"
)

// Name is the registered format name.
const Name = "filterlog"

func init() {
	parse.Register(Name, func(*parse.Config) (parse.Parser, error) { return Parser{}, nil })
}

// Shared read-only slices: event slices are appended to with copy-on-append
// semantics (event.AddCategory), so sharing them saves an allocation a line.
var (
	categoryNetwork = []string{"network"}
	typeAllowed     = []string{"connection", "allowed"}
	typeDenied      = []string{"connection", "denied"}
	typeConnection  = []string{"connection"}
)

// Parser parses filterlog lines. It is stateless and safe for concurrent use.
type Parser struct{}

var (
	_ parse.Parser   = Parser{}
	_ parse.Detector = Parser{}
)

// Name returns "filterlog".
func (Parser) Name() string { return Name }

// maxFields bounds the split; real lines have at most ~30 columns.
const maxFields = 64

// Detect claims lines tagged filterlog, or payloads whose first nine CSV
// columns have the filterlog shape (direction in/out, IP version 4/6).
func (Parser) Detect(rec *parse.Record) int {
	if rec.AppName() == "filterlog" {
		return 100
	}
	p := rec.Payload
	if len(p) < 20 || !(p[0] >= '0' && p[0] <= '9') {
		return 0
	}
	var f [10]string
	n := split(f[:], p)
	if n < 10 {
		return 0
	}
	if (f[7] == "in" || f[7] == "out") && (f[8] == "4" || f[8] == "6") {
		return 85
	}
	return 0
}

// split fills dst with the comma-separated fields of s and returns how many
// were stored; a last field holds the unsplit rest when dst is too short.
func split(dst []string, s string) int {
	n, start := 0, 0
	last := len(dst) - 1
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			dst[n] = s[start:i]
			n++
			start = i + 1
			if n == last {
				break
			}
		}
	}
	dst[n] = s[start:]
	return n + 1
}

// Parse normalizes one filterlog record.
func (Parser) Parse(ev *event.Event, rec *parse.Record) error {
	var buf [maxFields]string
	n := split(buf[:], rec.Payload)
	f := buf[:n]
	if n < 9 {
		return parse.NotMine(Name, "at least 9 comma-separated columns")
	}
	if _, ok := parse.Atoi(f[0]); !ok {
		return parse.Errorf("filterlog: rule number %q is not a number", f[0])
	}
	ev.Grow(24)
	ev.Kind = event.KindEvent
	ev.Category = categoryNetwork
	ev.Module = "pfsense"
	ev.Dataset = "pfsense.filterlog"
	ev.Observer.Type = "firewall"
	ev.Observer.Vendor = "Netgate"
	ev.Observer.Product = "pfSense"
	ev.Observer.Name, _ = ev.GetString("host.name")

	putInt(ev, "pfsense.rule_number", f[0])
	putS(ev, "pfsense.sub_rule_number", f[1])
	putS(ev, "pfsense.anchor", f[2])
	ev.Rule.ID = f[3]
	if isHex32(f[3]) {
		ev.Observer.Vendor, ev.Observer.Product = "Deciso", "OPNsense"
	}
	putS(ev, "observer.ingress.interface.name", f[4])
	putS(ev, "event.reason", f[5])
	ev.Action = f[6]
	switch f[6] {
	case "pass":
		ev.Type = typeAllowed
		ev.Outcome = "success"
	case "block", "reject":
		ev.Type = typeDenied
		ev.Outcome = "failure"
	default:
		ev.Type = typeConnection
	}
	switch f[7] {
	case "in":
		ev.Network.Direction = "ingress"
	case "out":
		ev.Network.Direction = "egress"
	default:
		putS(ev, "pfsense.direction", f[7])
	}

	var proto, src, dst string
	var tail []string
	switch f[8] {
	case "4":
		if n < 20 {
			return parse.Errorf("filterlog: IPv4 record has %d columns, want at least 20", n)
		}
		ev.Network.Type = "ipv4"
		putS(ev, "pfsense.tos", f[9])
		putS(ev, "pfsense.ecn", f[10])
		putInt(ev, "pfsense.ttl", f[11])
		putInt(ev, "pfsense.id", f[12])
		putInt(ev, "pfsense.offset", f[13])
		putS(ev, "pfsense.flags", f[14])
		ev.Network.IANANumber = f[15]
		proto = f[16]
		putInt(ev, "pfsense.length", f[17])
		src, dst = f[18], f[19]
		tail = f[20:]
	case "6":
		if n < 17 {
			return parse.Errorf("filterlog: IPv6 record has %d columns, want at least 17", n)
		}
		ev.Network.Type = "ipv6"
		putS(ev, "pfsense.class", f[9])
		putS(ev, "pfsense.flow_label", f[10])
		putInt(ev, "pfsense.hop_limit", f[11])
		proto = f[12]
		ev.Network.IANANumber = f[13]
		putInt(ev, "pfsense.length", f[14])
		src, dst = f[15], f[16]
		tail = f[17:]
	default:
		return parse.Errorf("filterlog: IP version %q is neither 4 nor 6", f[8])
	}
	ev.Network.Transport = parse.Transport(proto)
	if ev.Network.IANANumber == "" {
		if pn := parse.ProtocolNumber(proto); pn >= 0 {
			ev.Network.IANANumber = parse.ProtocolNumberText(pn)
		}
	}
	parse.SetEndpoints(ev, "pfsense", src, dst)

	switch ev.Network.Transport {
	case "tcp":
		tail = tcpTail(ev, tail)
	case "udp":
		tail = udpTail(ev, tail)
	case "icmp":
		tail = icmpTail(ev, tail)
	case "carp", "vrrp":
		tail = carpTail(ev, tail)
	}
	if len(tail) > 0 && !(len(tail) == 1 && tail[0] == "") {
		ev.Put("pfsense.extra", append([]string(nil), tail...))
	}
	return nil
}

func tcpTail(ev *event.Event, t []string) []string {
	if len(t) < 2 {
		return t
	}
	ev.Source.Port = parse.Port(t[0])
	ev.Destination.Port = parse.Port(t[1])
	t = t[2:]
	names := [...]string{"pfsense.tcp.length", "pfsense.tcp.flags", "pfsense.tcp.seq", "pfsense.tcp.ack", "pfsense.tcp.window", "pfsense.tcp.urg", "pfsense.tcp.options"}
	for i, name := range names {
		if i >= len(t) {
			return nil
		}
		switch i {
		case 0, 4:
			putInt(ev, name, t[i])
		case 6:
			if t[i] != "" {
				ev.Append(name, strings.Split(t[i], ";"))
			}
		default:
			putS(ev, name, t[i])
		}
	}
	return t[len(names):]
}

func udpTail(ev *event.Event, t []string) []string {
	if len(t) < 2 {
		return t
	}
	ev.Source.Port = parse.Port(t[0])
	ev.Destination.Port = parse.Port(t[1])
	if len(t) < 3 {
		return nil
	}
	putInt(ev, "pfsense.udp.length", t[2])
	return t[3:]
}

func icmpTail(ev *event.Event, t []string) []string {
	if len(t) == 0 {
		return t
	}
	if strings.HasPrefix(t[0], "datalength=") {
		// OPNsense: datalength=N,type,code,id,seq,mtu (empty where n/a).
		ev.Observer.Vendor, ev.Observer.Product = "Deciso", "OPNsense"
		putInt(ev, "pfsense.icmp.data_length", t[0][len("datalength="):])
		names := [...]string{"pfsense.icmp.type", "pfsense.icmp.code", "pfsense.icmp.id", "pfsense.icmp.seq", "pfsense.icmp.mtu"}
		t = t[1:]
		for i, name := range names {
			if i >= len(t) {
				return nil
			}
			if i == 0 {
				putS(ev, name, t[i])
			} else {
				putInt(ev, name, t[i])
			}
		}
		return t[len(names):]
	}
	typ := t[0]
	ev.Append("pfsense.icmp.type", typ)
	t = t[1:]
	var names []string
	switch typ {
	case "request", "reply":
		names = []string{"pfsense.icmp.id", "pfsense.icmp.seq"}
	case "unreachproto":
		names = []string{"pfsense.icmp.destination.ip", "pfsense.icmp.protocol"}
	case "unreachport":
		names = []string{"pfsense.icmp.destination.ip", "pfsense.icmp.protocol", "pfsense.icmp.port"}
	case "needfrag":
		names = []string{"pfsense.icmp.destination.ip", "pfsense.icmp.mtu"}
	case "tstamp":
		names = []string{"pfsense.icmp.id", "pfsense.icmp.seq"}
	case "tstampreply":
		names = []string{"pfsense.icmp.id", "pfsense.icmp.seq", "pfsense.icmp.otime", "pfsense.icmp.rtime", "pfsense.icmp.ttime"}
	default:
		if len(t) > 0 {
			ev.Append("pfsense.icmp.description", strings.Join(t, ","))
		}
		return nil
	}
	for i, name := range names {
		if i >= len(t) {
			return nil
		}
		switch {
		case strings.HasSuffix(name, ".ip"):
			if a := parse.Addr(t[i]); a.IsValid() {
				ev.Append(name, a.String())
			} else {
				putS(ev, name, t[i])
			}
		case strings.HasSuffix(name, ".protocol"):
			putS(ev, name, t[i])
		default:
			putInt(ev, name, t[i])
		}
	}
	return t[len(names):]
}

func carpTail(ev *event.Event, t []string) []string {
	names := [...]string{"pfsense.carp.type", "pfsense.carp.ttl", "pfsense.carp.vhid", "pfsense.carp.version", "pfsense.carp.advskew", "pfsense.carp.advbase"}
	for i, name := range names {
		if i >= len(t) {
			return nil
		}
		if i == 0 {
			putS(ev, name, t[i])
		} else {
			putInt(ev, name, t[i])
		}
	}
	return t[len(names):]
}

// putS appends a non-empty string field.
func putS(ev *event.Event, name, v string) {
	ev.AppendString(name, v)
}

// putInt appends a numeric field, keeping non-numeric text as a string so
// nothing is lost.
func putInt(ev *event.Event, name, v string) {
	if v == "" {
		return
	}
	if n, ok := parse.Atoi(v); ok {
		ev.AppendInt(name, int64(n))
		return
	}
	ev.AppendString(name, v)
}

func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
