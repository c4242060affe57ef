package firewall

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// kernLog is kernel LOG output as rsyslog writes it to kern.log: nftables
// "log prefix" drops and accepts, ufw blocks, IPv6, and lines of other
// programs that must be ignored.
const kernLog = `Nov 21 09:00:01 gw kernel: [1000.000001] mcpsoc-drop: IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.50 DST=192.0.2.20 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=40001 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0
Nov 21 09:00:02 gw kernel: [1001.000001] mcpsoc-drop: IN=eth0 OUT= SRC=203.0.113.50 DST=192.0.2.20 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=2 DF PROTO=TCP SPT=40002 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0
Nov 21 09:00:03 gw kernel: [1002.000001] [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.50 DST=192.0.2.20 LEN=40 TOS=0x00 PREC=0x00 TTL=241 ID=3 PROTO=TCP SPT=40003 DPT=3389 WINDOW=1024 RES=0x00 SYN URGP=0
Nov 21 09:00:04 gw kernel: [1003.000001] web-accept: IN=eth0 OUT= SRC=198.51.100.7 DST=192.0.2.20 LEN=60 TOS=0x00 PREC=0x00 TTL=57 ID=4 DF PROTO=TCP SPT=50000 DPT=443 WINDOW=64240 RES=0x00 SYN URGP=0
Nov 21 09:00:05 gw sshd[811]: Accepted publickey for admin from 198.51.100.9 port 51000 ssh2
Nov 21 09:00:06 gw kernel: [1005.000001] v6-drop: IN=eth0 OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0007 DST=2001:0db8:0000:0001:0000:0000:0000:0020 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=TCP SPT=40000 DPT=22 WINDOW=64800 RES=0x00 SYN URGP=0
Nov 21 09:00:07 gw kernel: [1006.000001] mcpsoc-drop: IN=eth0 OUT= SRC=192.0.2.99 DST=203.0.113.50 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=5 DF PROTO=TCP SPT=45000 DPT=25 WINDOW=64240 RES=0x00 SYN URGP=0
`

func TestLogQueries(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "kern.log")
	if err := os.WriteFile(log, []byte(kernLog), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{NFT: filepath.Join(dir, "no-nft"), Logs: []string{log}}, &Options{
		Now: func() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.Local) }})
	if err != nil {
		t.Fatal(err)
	}
	cs := connect(t, s)

	var evs Events
	if e := call(t, cs, "firewall_events", nil, &evs); e != "" || evs.Matched != 6 || len(evs.Events) != 6 {
		t.Fatalf("all events: %q %+v", e, evs)
	}
	if first := evs.Events[0]; first.Source != "192.0.2.99" || first.DstPort != 25 || !first.Denied || first.Rule != "mcpsoc-drop:" && first.Rule != "mcpsoc-drop" {
		t.Errorf("newest first: %+v", first)
	}
	if e := call(t, cs, "firewall_events", map[string]any{"ip": "2001:db8::7"}, &evs); e != "" || evs.Matched != 1 || evs.Events[0].DstPort != 22 {
		t.Errorf("v6 by canonical address: %q %+v", e, evs)
	}
	if e := call(t, cs, "firewall_events", map[string]any{"destination_port": 443}, &evs); e != "" || evs.Matched != 1 || evs.Events[0].Denied || evs.Events[0].Action != "allow" {
		t.Errorf("accepted: %q %+v", e, evs)
	}
	if e := call(t, cs, "firewall_events", map[string]any{"denied_only": true, "limit": 2}, &evs); e != "" || evs.Matched != 5 || len(evs.Events) != 2 {
		t.Errorf("denied with limit: %q %+v", e, evs)
	}
	since := time.Date(2026, 11, 21, 9, 0, 5, 500e6, time.Local).Format(time.RFC3339Nano)
	if e := call(t, cs, "firewall_events", map[string]any{"since": since}, &evs); e != "" || evs.Matched != 2 {
		t.Errorf("since: %q %+v", e, evs)
	}

	// Source or destination: 203.0.113.50 attacked three times and was
	// the target of one outbound drop.
	if e := call(t, cs, "blocked_connections", map[string]any{"ip": "203.0.113.50"}, &evs); e != "" || evs.Matched != 4 || evs.Blocked != nil {
		t.Errorf("blocked_connections: %q %+v", e, evs)
	}

	var tt Talkers
	if e := call(t, cs, "top_talkers", map[string]any{"denied_only": true}, &tt); e != "" || tt.Events != 5 || len(tt.Talkers) != 3 {
		t.Fatalf("top_talkers: %q %+v", e, tt)
	}
	top := tt.Talkers[0]
	if top.IP != "203.0.113.50" || top.Events != 3 || top.Denied != 3 || len(top.Ports) != 2 || top.Ports[0] != 22 || top.Ports[1] != 3389 ||
		!strings.Contains(tt.BlockState, "not available") {
		t.Errorf("top talker: %+v (%s)", top, tt.BlockState)
	}

	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"firewall_events", map[string]any{"ip": "nope"}, "not an IP address"},
		{"firewall_events", map[string]any{"since": "yesterday"}, "since"},
		{"firewall_events", map[string]any{"limit": 5000}, "out of range"},
		{"firewall_events", map[string]any{"destination_port": 70000}, "out of range"},
		{"blocked_connections", map[string]any{}, `missing properties: ["ip"]`},
		{"blocked_connections", map[string]any{"ip": ""}, "ip is required"},
		{"top_talkers", map[string]any{"limit": -1}, "out of range"},
	} {
		if got := call(t, cs, tc.tool, tc.args, nil); !strings.Contains(got, tc.want) {
			t.Errorf("%s %v: %q, want %q", tc.tool, tc.args, got, tc.want)
		}
	}

	// No log configured, and a log that is not there.
	s2, _ := New(Config{NFT: filepath.Join(dir, "no-nft")}, nil)
	if got := call(t, connect(t, s2), "top_talkers", nil, nil); !strings.Contains(got, "no firewall log is configured") {
		t.Errorf("no log: %q", got)
	}
	s3, _ := New(Config{NFT: filepath.Join(dir, "no-nft"), Logs: []string{filepath.Join(dir, "missing.log")}}, nil)
	if got := call(t, connect(t, s3), "firewall_events", nil, nil); !strings.Contains(got, "opening firewall log") {
		t.Errorf("missing log: %q", got)
	}
	if _, err := New(Config{LogFormat: "nosuchformat"}, nil); err == nil {
		t.Error("unknown log format accepted")
	}
}
