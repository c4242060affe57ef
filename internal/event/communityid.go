package event

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
	"strconv"
)

// IANA protocol numbers the Community ID treats specially.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
	protoSCTP   = 132
)

// icmpCounterpart maps ICMP message types that come in request/reply pairs
// to their counterpart, so both directions of the exchange hash alike.
// Types not listed are one-way: their code takes the place of the
// destination port and the endpoints are not reordered.
var (
	icmpCounterpart = map[uint16]uint16{
		8: 0, 0: 8, // echo
		13: 14, 14: 13, // timestamp
		15: 16, 16: 15, // information
		10: 9,          // router solicitation → advertisement (the reverse is one-way)
		17: 18, 18: 17, // address mask
	}
	icmp6Counterpart = map[uint16]uint16{
		128: 129, 129: 128, // echo
		133: 134, 134: 133, // router solicitation/advertisement
		135: 136, 136: 135, // neighbor solicitation/advertisement
		130: 131, 131: 130, // multicast listener query/report
		139: 140, 140: 139, // node information query/reply
		144: 145, 145: 144, // home agent address discovery
	}
)

// CommunityID returns the Community ID v1 flow hash (the corelight
// community-id-spec) of a flow: "1:" and the base64 SHA-1 of the seed, the
// ordered endpoint addresses, the protocol number, a zero pad byte and,
// for TCP, UDP, SCTP, ICMP and ICMPv6, the ordered ports. For ICMP and
// ICMPv6, srcPort is the message type and dstPort its code. Both
// directions of a flow give the same id. ok is false when the addresses
// are invalid or of different families.
func CommunityID(seed uint16, src, dst netip.Addr, srcPort, dstPort uint16, proto uint8) (id string, ok bool) {
	src, dst = src.Unmap(), dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return "", false
	}
	withPorts, oneWay := false, false
	switch proto {
	case protoTCP, protoUDP, protoSCTP:
		withPorts = true
	case protoICMP, protoICMPv6:
		withPorts = true
		pairs := icmpCounterpart
		if proto == protoICMPv6 {
			pairs = icmp6Counterpart
		}
		if c, paired := pairs[srcPort]; paired {
			dstPort = c
		} else {
			oneWay = true
		}
	}
	// The endpoint that sorts first (address, then port) goes first.
	if !oneWay {
		if c := src.Compare(dst); c > 0 || (c == 0 && withPorts && srcPort > dstPort) {
			src, dst = dst, src
			srcPort, dstPort = dstPort, srcPort
		}
	}
	buf := make([]byte, 0, 40)
	buf = binary.BigEndian.AppendUint16(buf, seed)
	buf = append(buf, src.AsSlice()...)
	buf = append(buf, dst.AsSlice()...)
	buf = append(buf, proto, 0)
	if withPorts {
		buf = binary.BigEndian.AppendUint16(buf, srcPort)
		buf = binary.BigEndian.AppendUint16(buf, dstPort)
	}
	sum := sha1.Sum(buf)
	return "1:" + base64.StdEncoding.EncodeToString(sum[:]), true
}

// transportNumbers are the network.transport names events use, by IANA
// protocol number.
var transportNumbers = map[string]uint8{
	"tcp": protoTCP, "udp": protoUDP, "sctp": protoSCTP,
	"icmp": protoICMP, "ipv6-icmp": protoICMPv6, "icmpv6": protoICMPv6,
}

// SetCommunityID sets network.community_id (seed 0) on a flow-bearing
// event: one with source and destination addresses and a protocol
// (network.iana_number or a known network.transport), with both ports for
// TCP, UDP and SCTP, and the message type and code for ICMP (read from the
// iptables.icmp fields, the one source that reports them). It keeps an id
// the source already gave (Suricata's) and reports whether the event has
// one afterwards.
func (e *Event) SetCommunityID() bool {
	if _, ok := e.Get("network.community_id"); ok {
		return true
	}
	if !e.Source.IP.IsValid() || !e.Destination.IP.IsValid() {
		return false
	}
	proto, known := transportNumbers[e.Network.Transport]
	if n, err := strconv.ParseUint(e.Network.IANANumber, 10, 8); err == nil {
		proto, known = uint8(n), true
	}
	if !known {
		return false
	}
	var sp, dp uint16
	switch proto {
	case protoTCP, protoUDP, protoSCTP:
		if !validPort(e.Source.Port) || !validPort(e.Destination.Port) {
			return false
		}
		sp, dp = uint16(e.Source.Port), uint16(e.Destination.Port)
	case protoICMP, protoICMPv6:
		t, ok1 := e.Get("iptables.icmp.type")
		c, ok2 := e.Get("iptables.icmp.code")
		typ, ok3 := t.(int64)
		code, ok4 := c.(int64)
		if !ok1 || !ok2 || !ok3 || !ok4 || typ < 0 || typ > 255 || code < 0 || code > 255 {
			return false
		}
		sp, dp = uint16(typ), uint16(code)
	}
	id, ok := CommunityID(0, e.Source.IP, e.Destination.IP, sp, dp, proto)
	if ok {
		e.PutString("network.community_id", id)
	}
	return ok
}

func validPort(p int) bool { return p > 0 && p <= 65535 }
