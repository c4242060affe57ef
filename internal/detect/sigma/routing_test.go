package sigma

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

func loadTestdata(t *testing.T, opts *Options) *Engine {
	t.Helper()
	rs := NewRuleset(opts)
	if err := rs.LoadDir("testdata/rules"); err != nil {
		t.Fatal(err)
	}
	if len(rs.Errors) > 0 {
		t.Fatalf("testdata rules: %v", rs.Errors)
	}
	return NewEngine(rs)
}

func titles(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Rule.Title)
	}
	sort.Strings(out)
	return out
}

// TestRoutingAndMapping drives the testdata rules through Engine.Match with
// events as MCPSoc's parsers and Windows-JSON would produce them.
func TestRoutingAndMapping(t *testing.T) {
	e := loadTestdata(t, nil)
	sysmon := func(id int64, kv ...any) map[string]any {
		m := map[string]any{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": id}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name string
		ev   map[string]any
		want []string
	}{
		{"sysmon 1 routes to process_creation", sysmon(1,
			"Image", `C:\Windows\System32\certutil.exe`, "CommandLine", "certutil -urlcache -f http://x/y z"),
			[]string{"Certutil downloads a file"}},
		{"process rule ignores sysmon 3", sysmon(3,
			"Image", `C:\Windows\System32\certutil.exe`, "CommandLine", "certutil -urlcache -f http://x/y z"),
			nil},
		{"security 4688 is process_creation too", map[string]any{"Channel": "Security", "EventID": 4688.0,
			"Image": `C:\Windows\System32\vssadmin.exe`, "CommandLine": "vssadmin.exe Delete Shadows /all"},
			[]string{"Shadow copies deleted"}},
		{"encoded powershell from word with slash dash", sysmon(1,
			"ParentImage", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`,
			"Image", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
			"CommandLine", "powershell.exe /enc SQBFAFgA"),
			[]string{"Encoded PowerShell launched by an Office application"}},
		{"filter removes provisioning account", sysmon(1,
			"Image", `C:\Windows\System32\net.exe`, "CommandLine", "net user x /add", "User", `CORP\svc_provision`),
			nil},
		{"net user add", sysmon(1,
			"Image", `C:\Windows\System32\net.exe`, "CommandLine", "net user x /add", "User", `CORP\bob`),
			[]string{"Local account created with net user"}},
		{"glob image path", sysmon(1, "Image", `C:\Users\bob\AppData\Local\Temp\a.exe`),
			[]string{"Process started from a user temp directory"}},
		{"svchost outside system32", sysmon(1, "Image", `C:\Users\Public\svchost.exe`),
			[]string{"Any svchost outside the system directory"}},
		{"svchost in system32", sysmon(1, "Image", `C:\Windows\System32\svchost.exe`), nil},
		{"rdp outbound external", sysmon(3, "DestinationPort", int64(3389), "DestinationIp", "203.0.113.9"),
			[]string{"RDP to an external address"}},
		{"rdp outbound internal", sysmon(3, "DestinationPort", int64(3389), "DestinationIp", "10.1.2.3"), nil},
		{"security service rule", map[string]any{"Channel": "Security", "EventID": int64(4624), "LogonType": int64(3), "AuthenticationPackageName": "NTLM"},
			[]string{"Network logon with NTLM"}},
		{"registry set", sysmon(13, "TargetObject", `HKLM\Software\Microsoft\Windows\CurrentVersion\Run\x`),
			[]string{"Run key written"}},
		{"firewall ECS fields", map[string]any{"event.dataset": "pfsense.filterlog", "event.action": "block",
			"destination.port": int64(22), "source.ip": "198.51.100.7"},
			[]string{"Blocked inbound management traffic from the internet"}},
		{"firewall nested ECS", map[string]any{"event": map[string]any{"dataset": "netfilter.log", "action": "block"},
			"destination": map[string]any{"port": 3389.0}, "source": map[string]any{"ip": "198.51.100.7"}},
			[]string{"Blocked inbound management traffic from the internet"}},
		{"firewall generic names still match", map[string]any{"event.dataset": "ufw.log", "action": "block",
			"dst_port": "23", "src_ip": "198.51.100.7"},
			[]string{"Blocked inbound management traffic from the internet"}},
		{"firewall internal source filtered", map[string]any{"event.dataset": "pfsense.filterlog", "event.action": "block",
			"destination.port": int64(22), "source.ip": "10.0.0.5"}, nil},
		{"waf sqli", map[string]any{"event.dataset": "modsec.audit", "url.original": "/a.php?id=1%20UNION%20SELECT%20x",
			"user_agent.original": "sqlmap/1.8", "http.request.method": "GET"},
			[]string{"SQL injection in the request URI", "Scanner user agent"}},
		{"web post 403", map[string]any{"event.dataset": "nginx.access", "http.request.method": "post",
			"http.response.status_code": int64(403), "url.original": "/login"},
			[]string{"Forbidden responses to POST requests"}},
		{"av eicar", map[string]any{"event.dataset": "clamav.log", "rule.name": "Win.Test.EICAR_HDB-1"},
			[]string{"Antivirus detection of a test signature"}},
		{"av downloader", map[string]any{"event.module": "clamav", "event.category": "malware", "rule.name": "Doc.Downloader.Emotet-1"},
			[]string{"Antivirus detection of a downloader"}},
		{"suricata product", map[string]any{"event.module": "suricata", "rule.name": "ET SCAN Nmap"},
			[]string{"Suricata scan alert"}},
		{"webserver rule does not see firewall events", map[string]any{"event.dataset": "pfsense.filterlog", "url.original": "/../../etc/passwd"}, nil},
		{"unrouted event meets every rule", map[string]any{"c-uri": "/../../etc/passwd"},
			[]string{"Path traversal in the request URI"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := titles(e.Match(MapEvent(tc.ev), nil))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("matches (-want +got):\n%s", d)
			}
		})
	}
}

func TestUnroutedNone(t *testing.T) {
	ls := DefaultLogsourceConfig()
	ls.Unrouted = UnroutedNone
	e := loadTestdata(t, &Options{Logsources: ls})
	if got := e.Match(MapEvent{"c-uri": "/../../etc/passwd"}, nil); len(got) != 0 {
		t.Errorf("unrouted event matched %v", titles(got))
	}
}

func TestCustomRoutingAndMapping(t *testing.T) {
	opts := &Options{
		Logsources: &LogsourceConfig{Rules: []LogsourceRule{
			{When: map[string][]string{"kind": {"fw-*"}}, Category: "firewall"},
		}, Unrouted: UnroutedNone},
		FieldMappings: []FieldMapping{{Logsource: Logsource{Category: "firewall"}, Fields: map[string][]string{
			"action": {"verdict"}, "dst_port": {"dport"}, "src_ip": {"saddr"},
		}}},
	}
	e := loadTestdata(t, opts)
	got := titles(e.Match(MapEvent{"kind": "FW-edge", "verdict": "block", "dport": int64(23), "saddr": "192.0.2.1"}, nil))
	if d := cmp.Diff([]string{"Blocked inbound management traffic from the internet"}, got); d != "" {
		t.Errorf("matches (-want +got):\n%s", d)
	}
	if got := e.Match(MapEvent{"kind": "FW-edge", "action": "block", "dst_port": int64(23), "src_ip": "192.0.2.1"}, nil); len(got) != 0 {
		t.Errorf("Sigma names matched although the mapping replaced them: %v", titles(got))
	}
}

func TestMapEventPaths(t *testing.T) {
	ev := MapEvent{
		"flat.key": "a",
		"nested":   map[string]any{"inner": map[string]any{"x": "b"}, "dotted.y": "c"},
		"list":     []any{"d"},
	}
	cases := []struct {
		field string
		want  any
		ok    bool
	}{
		{"flat.key", "a", true},
		{"nested.inner.x", "b", true},
		{"nested.dotted.y", "c", true},
		{"nested.inner.missing", nil, false},
		{"list", []any{"d"}, true},
		{"list.0", nil, false},
		{"missing", nil, false},
	}
	for _, tc := range cases {
		got, ok := ev.Get(tc.field)
		if ok != tc.ok || !cmp.Equal(got, tc.want) {
			t.Errorf("Get(%q) = %v, %v; want %v, %v", tc.field, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMatchAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	e := loadTestdata(t, nil)
	ev := MapEvent(newEventGen(5).processCreation())
	ev["Image"] = `C:\Windows\System32\notepad.exe`
	ev["CommandLine"] = "notepad.exe"
	e.Match(ev, nil)
	if n := testing.AllocsPerRun(200, func() { e.Match(ev, nil) }); n != 0 {
		t.Errorf("Match allocates %.1f times per non-matching event, want 0", n)
	}
}

func TestMatchLogsource(t *testing.T) {
	e := loadTestdata(t, nil)
	ev := MapEvent{"Image": `C:\Users\Public\svchost.exe`, "TargetObject": `HKLM\x\CurrentVersion\Run\y`, "DestinationPort": int64(3389), "DestinationIp": "8.8.8.8"}
	cases := []struct {
		ls   Logsource
		want []string
	}{
		{Logsource{Product: "windows", Category: "process_creation"}, []string{"Any svchost outside the system directory"}},
		{Logsource{Product: "windows", Category: "registry_set"}, []string{"Run key written"}},
		{Logsource{Product: "Windows", Category: "network_connection"}, []string{"RDP to an external address"}},
		{Logsource{Product: "linux", Category: "process_creation"}, nil},
		{Logsource{Category: "process_creation"}, nil},
	}
	for _, tc := range cases {
		if d := cmp.Diff(tc.want, titles(e.MatchLogsource(ev, tc.ls, nil))); d != "" {
			t.Errorf("%v (-want +got):\n%s", tc.ls, d)
		}
	}
}

// TestOptionsFromYAML decodes routing, mappings, placeholders and keyword
// fields the way a config file would carry them.
func TestOptionsFromYAML(t *testing.T) {
	src := `
logsources:
  unrouted: none
  rules:
    - when: {kind: [proxy-*]}
      category: proxy
field_mappings:
  - logsource: {category: proxy}
    fields: {c-uri: [request.url]}
placeholders:
  Admins: [root]
keyword_fields: [raw]
`
	var opts Options
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&opts); err != nil {
		t.Fatal(err)
	}
	rs := NewRuleset(&opts)
	rs.AddFile("p.yml", []byte(`title: Proxy path traversal
logsource: {category: proxy}
detection:
  sel: {c-uri|contains: '../'}
  kw: ['evil']
  condition: sel or kw
`))
	if len(rs.Errors) > 0 {
		t.Fatal(rs.Errors)
	}
	e := NewEngine(rs)
	for _, tc := range []struct {
		ev   MapEvent
		want int
	}{
		{MapEvent{"kind": "proxy-squid", "request.url": "/a/../b"}, 1},
		{MapEvent{"kind": "proxy-squid", "raw": "EVIL request"}, 1},
		{MapEvent{"kind": "proxy-squid", "message": "evil"}, 0},
		{MapEvent{"request.url": "/a/../b"}, 0},
	} {
		if got := len(e.Match(tc.ev, nil)); got != tc.want {
			t.Errorf("%v: %d matches, want %d", tc.ev, got, tc.want)
		}
	}
}
