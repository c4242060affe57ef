package event

import (
	"net/netip"
	"testing"
)

// communityIDVectors are the default-seed baseline of the Community ID
// specification (community-id-spec, baseline/baseline_deflt.json): for
// ICMP the ports are the message type and the code (for paired types, any
// code: the counterpart type replaces it). Proto 46 (RSVP) has no ports.
var communityIDVectors = []struct {
	proto        uint8
	saddr, daddr string
	sport, dport uint16
	want         string
}{
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 136, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 135, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY="},
	{58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck="},
	{58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:zavyT/cezQr1fmImYCwYnMXbgck="},
	{58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ="},
	{58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0="},
	{58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="},
	{58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg="},
	{58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0="},
	{58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00="},
	{1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
	{1, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
	{1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM="},
	{6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
	{6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
	{132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
	{132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
	{6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
	{6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
	{17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
	{17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
	{46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="},
	{46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw="},
}

func TestCommunityIDSpecVectors(t *testing.T) {
	for _, v := range communityIDVectors {
		got, ok := CommunityID(0, netip.MustParseAddr(v.saddr), netip.MustParseAddr(v.daddr), v.sport, v.dport, v.proto)
		if !ok || got != v.want {
			t.Errorf("%d %s:%d > %s:%d = %q, %v; want %q", v.proto, v.saddr, v.sport, v.daddr, v.dport, got, ok, v.want)
		}
	}
	if _, ok := CommunityID(0, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("::1"), 1, 2, 6); ok {
		t.Error("mixed address families gave an id")
	}
	if _, ok := CommunityID(0, netip.Addr{}, netip.MustParseAddr("10.0.0.1"), 1, 2, 6); ok {
		t.Error("a missing address gave an id")
	}
}

func TestSetCommunityID(t *testing.T) {
	flow := func(transport, iana string, sp, dp int) *Event {
		e := &Event{}
		e.Source = Endpoint{IP: netip.MustParseAddr("128.232.110.120"), Port: sp}
		e.Destination = Endpoint{IP: netip.MustParseAddr("66.35.250.204"), Port: dp}
		e.Network.Transport, e.Network.IANANumber = transport, iana
		return e
	}
	e := flow("tcp", "", 34855, 80)
	if !e.SetCommunityID() {
		t.Fatal("a TCP flow got no community id")
	}
	if got, _ := e.GetString("network.community_id"); got != "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" {
		t.Fatalf("network.community_id = %q", got)
	}
	// The protocol number wins over the name; an IPv4-mapped address is
	// the IPv4 address.
	e = flow("", "6", 34855, 80)
	e.Source.IP = netip.MustParseAddr("::ffff:128.232.110.120")
	if e.SetCommunityID(); mustString(t, e) != "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" {
		t.Fatalf("by iana_number: %q", mustString(t, e))
	}
	// ICMP from the iptables fields: echo request.
	e = flow("icmp", "1", 0, 0)
	e.Source.IP, e.Destination.IP = netip.MustParseAddr("192.168.0.89"), netip.MustParseAddr("192.168.0.1")
	e.Put("iptables.icmp.type", int64(8))
	e.Put("iptables.icmp.code", int64(0))
	if e.SetCommunityID(); mustString(t, e) != "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=" {
		t.Fatalf("icmp: %q", mustString(t, e))
	}
	// An id the source gave is kept.
	e = flow("tcp", "", 1, 2)
	e.PutString("network.community_id", "1:given")
	if !e.SetCommunityID() || mustString(t, e) != "1:given" {
		t.Fatalf("the source's id was replaced: %q", mustString(t, e))
	}
	// Not enough to identify a flow: nothing set.
	for name, e := range map[string]*Event{
		"tcp without ports":       flow("tcp", "", 0, 80),
		"icmp without type":       flow("icmp", "", 0, 0),
		"unknown protocol":        flow("", "", 1, 2),
		"protocol number too big": flow("", "300", 1, 2),
		"no destination":          {Source: Endpoint{IP: netip.MustParseAddr("10.0.0.1"), Port: 1}, Network: Network{Transport: "tcp"}},
	} {
		if e.SetCommunityID() {
			t.Errorf("%s: got %q", name, mustString(t, e))
		}
		if _, ok := e.Get("network.community_id"); ok {
			t.Errorf("%s: network.community_id set", name)
		}
	}
	// Other protocols hash without ports.
	e = flow("", "46", 0, 0)
	e.Source.IP, e.Destination.IP = netip.MustParseAddr("10.1.12.2"), netip.MustParseAddr("10.1.12.1")
	if e.SetCommunityID(); mustString(t, e) != "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=" {
		t.Fatalf("rsvp: %q", mustString(t, e))
	}
}

func mustString(t *testing.T, e *Event) string {
	t.Helper()
	s, _ := e.GetString("network.community_id")
	return s
}
