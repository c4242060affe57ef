package sigma

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// compileOne compiles a rule whose detection section is det (YAML, indented
// by two spaces) and fails the test on any error.
func compileOne(t *testing.T, det string, opts *Options) (*Ruleset, *Engine) {
	t.Helper()
	src := "title: test rule\nid: 00000000-0000-4000-8000-000000000001\nlogsource:\n  product: test\nlevel: high\ndetection:\n" + det
	rs := NewRuleset(opts)
	rs.AddFile("test.yml", []byte(src))
	if len(rs.Errors) > 0 {
		t.Fatalf("compile: %v", rs.Errors[0])
	}
	return rs, NewEngine(rs)
}

func matches(e *Engine, ev map[string]any) bool {
	return len(e.MatchLogsource(MapEvent(ev), Logsource{Product: "test"}, nil)) > 0
}

type matchCase struct {
	name string
	det  string
	ev   map[string]any
	want bool
}

func runCases(t *testing.T, cases []matchCase, opts *Options) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, e := compileOne(t, tc.det, opts)
			if got := matches(e, tc.ev); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestModifiers(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	utf16le := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			b.WriteByte(byte(r))
			b.WriteByte(0)
		}
		return b.String()
	}
	cases := []matchCase{
		{"plain equal ignores case", "  sel:\n    Image: 'C:\\Windows\\cmd.exe'\n  condition: sel", map[string]any{"Image": `c:\windows\CMD.EXE`}, true},
		{"plain equal is not substring", "  sel:\n    Image: cmd.exe\n  condition: sel", map[string]any{"Image": `c:\windows\cmd.exe`}, false},
		{"contains", "  sel:\n    CommandLine|contains: ' -enc '\n  condition: sel", map[string]any{"CommandLine": "powershell.exe -ENC abc"}, true},
		{"contains miss", "  sel:\n    CommandLine|contains: ' -enc '\n  condition: sel", map[string]any{"CommandLine": "powershell.exe -nop"}, false},
		{"startswith", "  sel:\n    Image|startswith: 'C:\\Users\\'\n  condition: sel", map[string]any{"Image": `C:\users\bob\a.exe`}, true},
		{"startswith miss", "  sel:\n    Image|startswith: 'C:\\Users\\'\n  condition: sel", map[string]any{"Image": `D:\C:\Users\a.exe`}, false},
		{"endswith", "  sel:\n    Image|endswith: '\\rundll32.exe'\n  condition: sel", map[string]any{"Image": `C:\Windows\System32\RUNDLL32.exe`}, true},
		{"endswith miss", "  sel:\n    Image|endswith: '\\rundll32.exe'\n  condition: sel", map[string]any{"Image": `C:\rundll32.exe.bak`}, false},
		{"value list is OR", "  sel:\n    Image|endswith:\n      - '\\a.exe'\n      - '\\b.exe'\n  condition: sel", map[string]any{"Image": `C:\b.exe`}, true},
		{"contains all", "  sel:\n    CommandLine|contains|all:\n      - 'net '\n      - ' user'\n  condition: sel", map[string]any{"CommandLine": "net user bob /add"}, true},
		{"contains all miss", "  sel:\n    CommandLine|contains|all:\n      - 'net '\n      - ' group'\n  condition: sel", map[string]any{"CommandLine": "net user bob /add"}, false},
		{"re default case-sensitive", "  sel:\n    CommandLine|re: 'Invoke-[A-Z][a-z]+'\n  condition: sel", map[string]any{"CommandLine": "iex; Invoke-Mimikatz"}, true},
		{"re case-sensitive miss", "  sel:\n    CommandLine|re: 'Invoke-[A-Z][a-z]+'\n  condition: sel", map[string]any{"CommandLine": "invoke-mimikatz"}, false},
		{"re i", "  sel:\n    CommandLine|re|i: 'invoke-[a-z]+'\n  condition: sel", map[string]any{"CommandLine": "INVOKE-MIMIKATZ"}, true},
		{"re m", "  sel:\n    Payload|re|m: '^second$'\n  condition: sel", map[string]any{"Payload": "first\nsecond\nthird"}, true},
		{"re without m is whole text", "  sel:\n    Payload|re: '^second$'\n  condition: sel", map[string]any{"Payload": "first\nsecond\nthird"}, false},
		{"re s", "  sel:\n    Payload|re|s: 'first.second'\n  condition: sel", map[string]any{"Payload": "first\nsecond"}, true},
		{"re without s", "  sel:\n    Payload|re: 'first.second'\n  condition: sel", map[string]any{"Payload": "first\nsecond"}, false},
		{"cidr v4", "  sel:\n    src_ip|cidr: 10.0.0.0/8\n  condition: sel", map[string]any{"src_ip": "10.20.30.40"}, true},
		{"cidr v4 miss", "  sel:\n    src_ip|cidr: 10.0.0.0/8\n  condition: sel", map[string]any{"src_ip": "11.0.0.1"}, false},
		{"cidr v6", "  sel:\n    src_ip|cidr: 'fd00::/8'\n  condition: sel", map[string]any{"src_ip": "fd12:3456::1"}, true},
		{"cidr list", "  sel:\n    src_ip|cidr:\n      - 192.168.0.0/16\n      - 172.16.0.0/12\n  condition: sel", map[string]any{"src_ip": "172.20.1.1"}, true},
		{"cidr not an ip", "  sel:\n    src_ip|cidr: 10.0.0.0/8\n  condition: sel", map[string]any{"src_ip": "host.example"}, false},
		{"base64", "  sel:\n    Data|base64: 'secret'\n  condition: sel", map[string]any{"Data": b64("secret")}, true},
		{"base64 contains", "  sel:\n    Data|base64|contains: 'secret'\n  condition: sel", map[string]any{"Data": "xx" + b64("secret") + "yy"}, true},
		{"base64offset shift 0", "  sel:\n    CommandLine|base64offset|contains: 'IEX (New-Object'\n  condition: sel", map[string]any{"CommandLine": "powershell -e " + b64("IEX (New-Object Net.WebClient)")}, true},
		{"base64offset shift 1", "  sel:\n    CommandLine|base64offset|contains: 'IEX (New-Object'\n  condition: sel", map[string]any{"CommandLine": "powershell -e " + b64("xIEX (New-Object Net.WebClient)")}, true},
		{"base64offset shift 2", "  sel:\n    CommandLine|base64offset|contains: 'IEX (New-Object'\n  condition: sel", map[string]any{"CommandLine": "powershell -e " + b64("xyIEX (New-Object Net.WebClient)")}, true},
		{"base64offset miss", "  sel:\n    CommandLine|base64offset|contains: 'IEX (New-Object'\n  condition: sel", map[string]any{"CommandLine": "powershell -e " + b64("Get-Process")}, false},
		{"utf16le base64offset", "  sel:\n    CommandLine|utf16le|base64offset|contains: 'Invoke'\n  condition: sel", map[string]any{"CommandLine": "-enc " + b64(utf16le("aInvoke-Expression"))}, true},
		{"wide base64offset", "  sel:\n    CommandLine|wide|base64offset|contains: 'Invoke'\n  condition: sel", map[string]any{"CommandLine": "-enc " + b64(utf16le("Invoke-Expression"))}, true},
		{"utf16 adds BOM", "  sel:\n    Data|utf16|base64: 'A'\n  condition: sel", map[string]any{"Data": b64("\xff\xfeA\x00")}, true},
		{"utf16be", "  sel:\n    Data|utf16be|base64: 'A'\n  condition: sel", map[string]any{"Data": b64("\x00A")}, true},
		{"windash slash", "  sel:\n    CommandLine|windash|contains: ' -exec bypass'\n  condition: sel", map[string]any{"CommandLine": "powershell /exec bypass"}, true},
		{"windash en dash", "  sel:\n    CommandLine|windash|contains: ' -exec bypass'\n  condition: sel", map[string]any{"CommandLine": "powershell \u2013exec bypass"}, true},
		{"windash two flags", "  sel:\n    CommandLine|windash|contains: '-a -b'\n  condition: sel", map[string]any{"CommandLine": "x /a \u2014b"}, true},
		{"windash miss", "  sel:\n    CommandLine|windash|contains: ' -exec bypass'\n  condition: sel", map[string]any{"CommandLine": "powershell +exec bypass"}, false},
		{"exists true", "  sel:\n    Hashes|exists: true\n  condition: sel", map[string]any{"Hashes": ""}, true},
		{"exists true absent", "  sel:\n    Hashes|exists: true\n  condition: sel", map[string]any{"Image": "x"}, false},
		{"exists false", "  sel:\n    Hashes|exists: false\n  condition: sel", map[string]any{"Image": "x"}, true},
		{"exists false present", "  sel:\n    Hashes|exists: false\n  condition: sel", map[string]any{"Hashes": nil}, false},
		{"fieldref equal", "  sel:\n    TargetUser|fieldref: SubjectUser\n  condition: sel", map[string]any{"TargetUser": "Bob", "SubjectUser": "bob"}, true},
		{"fieldref differ", "  sel:\n    TargetUser|fieldref: SubjectUser\n  condition: sel", map[string]any{"TargetUser": "alice", "SubjectUser": "bob"}, false},
		{"fieldref missing", "  sel:\n    TargetUser|fieldref: SubjectUser\n  condition: sel", map[string]any{"TargetUser": "alice"}, false},
		{"fieldref endswith", "  sel:\n    Image|fieldref|endswith: OriginalName\n  condition: sel", map[string]any{"Image": `C:\x\evil.exe`, "OriginalName": "EVIL.EXE"}, true},
		{"cased", "  sel:\n    User|cased: Admin\n  condition: sel", map[string]any{"User": "Admin"}, true},
		{"cased miss", "  sel:\n    User|cased: Admin\n  condition: sel", map[string]any{"User": "admin"}, false},
		{"cased contains", "  sel:\n    Cmd|cased|contains: 'IEX'\n  condition: sel", map[string]any{"Cmd": "iex; IEX"}, true},
		{"cased contains miss", "  sel:\n    Cmd|cased|contains: 'IEX'\n  condition: sel", map[string]any{"Cmd": "iex; Iex"}, false},
		{"gt", "  sel:\n    bytes|gt: 1000\n  condition: sel", map[string]any{"bytes": int64(1001)}, true},
		{"gt equal is false", "  sel:\n    bytes|gt: 1000\n  condition: sel", map[string]any{"bytes": 1000.0}, false},
		{"gte", "  sel:\n    bytes|gte: 1000\n  condition: sel", map[string]any{"bytes": 1000.0}, true},
		{"lt numeric string", "  sel:\n    port|lt: 1024\n  condition: sel", map[string]any{"port": "22"}, true},
		{"lte", "  sel:\n    port|lte: 1024\n  condition: sel", map[string]any{"port": int64(1025)}, false},
		{"gt not a number", "  sel:\n    port|gt: 10\n  condition: sel", map[string]any{"port": "http"}, false},
		{"neq", "  sel:\n    action|neq: allow\n  condition: sel", map[string]any{"action": "deny"}, true},
		{"neq same", "  sel:\n    action|neq: allow\n  condition: sel", map[string]any{"action": "ALLOW"}, false},
		{"neq list", "  sel:\n    action|neq:\n      - allow\n      - pass\n  condition: sel", map[string]any{"action": "pass"}, false},
		{"neq missing field", "  sel:\n    action|neq: allow\n  condition: sel", map[string]any{"other": "x"}, false},
		{"neq number", "  sel:\n    status|neq: 200\n  condition: sel", map[string]any{"status": 403.0}, true},
		{"number equals number", "  sel:\n    EventID: 4688\n  condition: sel", map[string]any{"EventID": int64(4688)}, true},
		{"number equals float", "  sel:\n    EventID: 4688\n  condition: sel", map[string]any{"EventID": 4688.0}, true},
		{"number equals string", "  sel:\n    EventID: 4688\n  condition: sel", map[string]any{"EventID": "4688"}, true},
		{"number miss", "  sel:\n    EventID: 4688\n  condition: sel", map[string]any{"EventID": 4689.0}, false},
		{"quoted number is a string", "  sel:\n    Code: '007'\n  condition: sel", map[string]any{"Code": "007"}, true},
		{"bool", "  sel:\n    Enabled: true\n  condition: sel", map[string]any{"Enabled": true}, true},
		{"bool string", "  sel:\n    Enabled: true\n  condition: sel", map[string]any{"Enabled": "True"}, true},
		{"bool miss", "  sel:\n    Enabled: true\n  condition: sel", map[string]any{"Enabled": false}, false},
		{"expand", "  sel:\n    User|expand: '%Admins%'\n  condition: sel", map[string]any{"User": "root"}, true},
		{"expand wildcard value", "  sel:\n    User|expand: '%Admins%'\n  condition: sel", map[string]any{"User": "adm-bob"}, true},
		{"expand miss", "  sel:\n    User|expand: '%Admins%'\n  condition: sel", map[string]any{"User": "bob"}, false},
		{"list field any element", "  sel:\n    Tags|contains: evil\n  condition: sel", map[string]any{"Tags": []any{"good", "very-evil"}}, true},
		{"string list field", "  sel:\n    Tags: good\n  condition: sel", map[string]any{"Tags": []string{"bad", "good"}}, true},
		{"hour", "  sel:\n    ts|hour: 3\n  condition: sel", map[string]any{"ts": "2026-11-21T03:15:00Z"}, true},
		{"hour miss", "  sel:\n    ts|hour: 3\n  condition: sel", map[string]any{"ts": "2026-11-21T04:15:00Z"}, false},
		{"hour no zone conversion", "  sel:\n    ts|hour: 3\n  condition: sel", map[string]any{"ts": "2026-11-21T03:15:00+09:00"}, true},
		{"hour gte lt", "  sel:\n    ts|hour|lt: 6\n  condition: sel", map[string]any{"ts": "2026-11-21 02:00:00.123"}, true},
		{"minute", "  sel:\n    ts|minute|gte: 30\n  condition: sel", map[string]any{"ts": "2026-11-21T03:45:00.5Z"}, true},
		{"day", "  sel:\n    ts|day: 21\n  condition: sel", map[string]any{"ts": "2026-11-21T03:45:00Z"}, true},
		{"week", "  sel:\n    ts|week: 47\n  condition: sel", map[string]any{"ts": "2026-11-21T03:45:00Z"}, true},
		{"month", "  sel:\n    ts|month: 11\n  condition: sel", map[string]any{"ts": "2026-11-21T03:45:00Z"}, true},
		{"year neq", "  sel:\n    ts|year|neq: 2026\n  condition: sel", map[string]any{"ts": "2025-11-21T03:45:00Z"}, true},
		{"date part of a non-time", "  sel:\n    ts|hour: 3\n  condition: sel", map[string]any{"ts": "yesterday"}, false},
		{"nested field path", "  sel:\n    source.ip|cidr: 10.0.0.0/8\n  condition: sel", map[string]any{"source": map[string]any{"ip": "10.1.1.1"}}, true},
	}
	runCases(t, cases, &Options{Placeholders: map[string][]string{"Admins": {"root", "adm-*"}}})
}

func TestWildcardsAndNull(t *testing.T) {
	cases := []matchCase{
		{"star inside", "  sel:\n    Image: 'C:\\\\*\\cmd.exe'\n  condition: sel", map[string]any{"Image": `C:\Windows\System32\cmd.exe`}, true},
		{"star inside miss", "  sel:\n    Image: 'C:\\\\*\\cmd.exe'\n  condition: sel", map[string]any{"Image": `D:\Windows\cmd.exe`}, false},
		{"question mark", "  sel:\n    User: 'adm?n'\n  condition: sel", map[string]any{"User": "ADMIN"}, true},
		{"question mark one char only", "  sel:\n    User: 'adm?n'\n  condition: sel", map[string]any{"User": "admiin"}, false},
		{"question mark non-ascii", "  sel:\n    User: 'j?rg'\n  condition: sel", map[string]any{"User": "jörg"}, true},
		{"several stars", "  sel:\n    Cmd: '*a*b*c*'\n  condition: sel", map[string]any{"Cmd": "xxAyyByyC"}, true},
		{"several stars order", "  sel:\n    Cmd: '*a*b*c*'\n  condition: sel", map[string]any{"Cmd": "cba"}, false},
		{"star only", "  sel:\n    Cmd: '*'\n  condition: sel", map[string]any{"Cmd": ""}, true},
		{"star does not match absent", "  sel:\n    Cmd: '*'\n  condition: sel", map[string]any{"Other": "x"}, false},
		{"escaped star is literal", "  sel:\n    Cmd: 'a\\*b'\n  condition: sel", map[string]any{"Cmd": "a*b"}, true},
		{"escaped star not wildcard", "  sel:\n    Cmd: 'a\\*b'\n  condition: sel", map[string]any{"Cmd": "axxb"}, false},
		{"escaped question mark", "  sel:\n    Cmd: 'what\\?'\n  condition: sel", map[string]any{"Cmd": "what?"}, true},
		{"escaped question mark not wildcard", "  sel:\n    Cmd: 'what\\?'\n  condition: sel", map[string]any{"Cmd": "whatx"}, false},
		{"escaped backslash then star", "  sel:\n    Path: 'C:\\\\*'\n  condition: sel", map[string]any{"Path": `C:\anything`}, true},
		{"lone backslash literal", "  sel:\n    Path: 'C:\\Temp'\n  condition: sel", map[string]any{"Path": `c:\temp`}, true},
		{"contains with inner wildcard", "  sel:\n    Cmd|contains: 'copy * \\\\'\n  condition: sel", map[string]any{"Cmd": `cmd /c copy x.exe \\host\c$`}, true},
		{"null matches absent", "  sel:\n    ParentImage: null\n  condition: sel", map[string]any{"Image": "x"}, true},
		{"null matches json null", "  sel:\n    ParentImage: null\n  condition: sel", map[string]any{"ParentImage": nil}, true},
		{"null does not match value", "  sel:\n    ParentImage: null\n  condition: sel", map[string]any{"ParentImage": ""}, false},
		{"empty value matches empty", "  sel:\n    ParentImage: ''\n  condition: sel", map[string]any{"ParentImage": ""}, true},
		{"empty value not absent", "  sel:\n    ParentImage: ''\n  condition: sel", map[string]any{"Image": "x"}, false},
		{"field missing does not match", "  sel:\n    Image|endswith: '.exe'\n  condition: sel", map[string]any{"CommandLine": "a.exe"}, false},
		{"not on missing field is true", "  sel:\n    Image|endswith: '.exe'\n  condition: not sel", map[string]any{"CommandLine": "a.exe"}, true},
		{"json null is not a string", "  sel:\n    Image|contains: ''\n  condition: sel", map[string]any{"Image": nil}, false},
	}
	runCases(t, cases, nil)
}

func TestConditions(t *testing.T) {
	det := `  selection_img:
    Image|endswith: '\evil.exe'
  selection_cmd:
    CommandLine|contains: '--steal'
  filter_main:
    User: SYSTEM
  filter_other:
    Host: trusted
  _helper:
    Tag: x
`
	ev := func(img, cmd, user, host, tag string) map[string]any {
		return map[string]any{"Image": img, "CommandLine": cmd, "User": user, "Host": host, "Tag": tag}
	}
	hit := ev(`C:\evil.exe`, "evil --steal", "bob", "h1", "")
	cases := []matchCase{
		{"and", det + "  condition: selection_img and selection_cmd", hit, true},
		{"and one false", det + "  condition: selection_img and selection_cmd", ev(`C:\evil.exe`, "x", "bob", "h1", ""), false},
		{"or", det + "  condition: selection_img or selection_cmd", ev(`C:\good.exe`, "--steal", "bob", "h1", ""), true},
		{"or none", det + "  condition: selection_img or selection_cmd", ev(`C:\good.exe`, "x", "bob", "h1", ""), false},
		{"not", det + "  condition: selection_img and not filter_main", hit, true},
		{"not filtered", det + "  condition: selection_img and not filter_main", ev(`C:\evil.exe`, "", "system", "h1", ""), false},
		{"precedence and over or", det + "  condition: selection_img or selection_cmd and filter_main", ev(`C:\evil.exe`, "", "bob", "", ""), true},
		{"parentheses", det + "  condition: (selection_img or selection_cmd) and filter_main", ev(`C:\evil.exe`, "", "bob", "", ""), false},
		{"not binds tighter than and", det + "  condition: not filter_main and selection_img", hit, true},
		{"double not", det + "  condition: not not selection_img", hit, true},
		{"1 of pattern", det + "  condition: 1 of selection_*", ev(`C:\x.exe`, "--steal", "", "", ""), true},
		{"1 of pattern none", det + "  condition: 1 of selection_*", ev(`C:\x.exe`, "", "", "", ""), false},
		{"any of pattern", det + "  condition: any of selection_*", ev(`C:\x.exe`, "--steal", "", "", ""), true},
		{"all of pattern", det + "  condition: all of selection_*", hit, true},
		{"all of pattern partial", det + "  condition: all of selection_*", ev(`C:\x.exe`, "--steal", "", "", ""), false},
		{"not 1 of filters", det + "  condition: selection_img and not 1 of filter_*", ev(`C:\evil.exe`, "", "bob", "trusted", ""), false},
		{"not 1 of filters passes", det + "  condition: selection_img and not 1 of filter_*", hit, true},
		{"1 of them skips underscore", det + "  condition: 1 of them", ev("", "", "", "", "x"), false},
		{"1 of them", det + "  condition: 1 of them", ev("", "", "", "trusted", ""), true},
		{"all of them skips underscore", det + "  condition: all of them", ev(`C:\evil.exe`, "--steal", "system", "trusted", ""), true},
		{"underscore by name", det + "  condition: _helper", ev("", "", "", "", "X"), true},
		{"condition list is OR", det + "  condition:\n    - selection_img and filter_main\n    - selection_cmd", ev("", "--steal", "", "", ""), true},
		{"keywords", "  keywords:\n    - 'failed password'\n    - 'invalid user'\n  condition: keywords", map[string]any{"message": "sshd[1]: Invalid user admin from 1.2.3.4"}, true},
		{"keywords miss", "  keywords:\n    - 'failed password'\n  condition: keywords", map[string]any{"message": "accepted password"}, false},
		{"keywords other field ignored", "  keywords:\n    - 'failed password'\n  condition: keywords", map[string]any{"note": "failed password"}, false},
		{"keywords all", "  keywords:\n    '|all':\n      - 'sudo'\n      - 'root'\n  condition: keywords", map[string]any{"message": "sudo: bob : COMMAND=/bin/sh ; USER=root"}, true},
		{"keywords all miss", "  keywords:\n    '|all':\n      - 'sudo'\n      - 'root'\n  condition: keywords", map[string]any{"message": "sudo: bob : USER=alice"}, false},
		{"list of maps is OR", "  sel:\n    - Image|endswith: '\\a.exe'\n    - CommandLine|contains: 'b'\n  condition: sel", map[string]any{"Image": "x", "CommandLine": "abc"}, true},
		{"map is AND", "  sel:\n    Image|endswith: '\\a.exe'\n    CommandLine|contains: 'zz'\n  condition: sel", map[string]any{"Image": `\a.exe`, "CommandLine": "abc"}, false},
	}
	runCases(t, cases, nil)
}

func TestRejectedRules(t *testing.T) {
	cases := []struct {
		name, det, want string
		line            int
	}{
		{"unknown modifier", "  sel:\n    Image|endswit: x\n  condition: sel", `unknown modifier "endswit"`, 7},
		{"lookahead", "  sel:\n    Cmd|re: 'a(?=b)'\n  condition: sel", "look-around or back-references", 7},
		{"backreference", "  sel:\n    Cmd|re: '(a)\\1'\n  condition: sel", "look-around or back-references", 7},
		{"bad regex", "  sel:\n    Cmd|re: 'a(b'\n  condition: sel", "bad regex", 7},
		{"enormous value", "  sel:\n    Cmd: '" + strings.Repeat("a", maxValueLen+1) + "'\n  condition: sel", "limit", 7},
		{"catastrophic wildcards", "  sel:\n    Cmd: '" + strings.Repeat("a*", maxWildcards+1) + "'\n  condition: sel", "wildcards", 7},
		{"huge regex", "  sel:\n    Cmd|re: '((a{1,1000}){1,1000}){1,1000}'\n  condition: sel", "regex", 7},
		{"unknown identifier", "  sel:\n    Cmd: x\n  condition: sel and other", `unknown search identifier "other"`, 8},
		{"pattern matches nothing", "  sel:\n    Cmd: x\n  condition: 1 of filter_*", "matches no search identifier", 8},
		{"legacy aggregation", "  sel:\n    Cmd: x\n  condition: sel | count() > 5", "legacy aggregation", 8},
		{"unbalanced parentheses", "  sel:\n    Cmd: x\n  condition: (sel", "expected ')'", 8},
		{"no condition", "  sel:\n    Cmd: x", "no condition", 6},
		{"bad cidr", "  sel:\n    ip|cidr: 10.0.0.0/33\n  condition: sel", "cidr", 7},
		{"gt not a number", "  sel:\n    n|gt: many\n  condition: sel", "needs a number", 7},
		{"missing placeholder", "  sel:\n    User|expand: '%Nobody%'\n  condition: sel", "placeholder %Nobody%", 7},
		{"exists needs bool", "  sel:\n    User|exists: maybe\n  condition: sel", "exists needs", 7},
		{"conflicting modifiers", "  sel:\n    User|contains|startswith: a\n  condition: sel", "only one of", 7},
		{"re flags without re", "  sel:\n    User|i: a\n  condition: sel", "apply only to re", 7},
		{"base64 of wildcard", "  sel:\n    User|base64: 'a*'\n  condition: sel", "wildcards", 7},
		{"nested map value", "  sel:\n    User:\n      a: b\n  condition: sel", "scalar", 8},
		{"date part with contains", "  sel:\n    ts|hour|contains: 3\n  condition: sel", "combines only", 7},
		{"date part not a number", "  sel:\n    ts|hour: night\n  condition: sel", "needs a number", 7},
		{"two date parts", "  sel:\n    ts|hour|minute: 3\n  condition: sel", "conflict", 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := "title: bad\nlogsource:\n  product: test\nlevel: low\ndetection:\n" + tc.det
			rs := NewRuleset(nil)
			rs.AddFile("bad.yml", []byte(src))
			if len(rs.Errors) != 1 || len(rs.Rules) != 0 {
				t.Fatalf("got %d rules, errors %v; want one error", len(rs.Rules), rs.Errors)
			}
			err := rs.Errors[0]
			if !strings.Contains(err.Reason, tc.want) {
				t.Errorf("reason %q does not mention %q", err.Reason, tc.want)
			}
			if err.File != "bad.yml" || err.Line != tc.line {
				t.Errorf("location %s:%d, want bad.yml:%d", err.File, err.Line, tc.line)
			}
		})
	}
}

func TestMultiDocumentAndGlobal(t *testing.T) {
	src := `action: global
title: shared title
logsource:
  product: test
level: medium
detection:
  condition: sel
---
id: 11111111-1111-4111-8111-111111111111
detection:
  sel:
    Image|endswith: '\a.exe'
---
id: 22222222-2222-4222-8222-222222222222
title: own title
detection:
  sel:
    Image|endswith: '\b.exe'
---
title: broken
logsource:
  product: test
detection:
  sel:
    Image|nosuch: x
---
title: correlation document
correlation:
  type: event_count
  rules: [x]
`
	rs := NewRuleset(nil)
	rs.AddFile("multi.yml", []byte(src))
	var got []string
	for _, r := range rs.Rules {
		got = append(got, r.ID+" "+r.Title+" "+r.Level)
	}
	want := []string{
		"11111111-1111-4111-8111-111111111111 shared title medium",
		"22222222-2222-4222-8222-222222222222 own title medium",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rules (-want +got):\n%s", d)
	}
	if len(rs.Errors) != 1 || rs.Errors[0].Line != 25 {
		t.Errorf("errors = %v, want one at line 25", rs.Errors)
	}
	if len(rs.Skipped) != 1 {
		t.Errorf("skipped = %v, want the correlation document", rs.Skipped)
	}
	e := NewEngine(rs)
	m := e.MatchLogsource(MapEvent{"Image": `C:\b.exe`}, Logsource{Product: "test"}, nil)
	if len(m) != 1 || m[0].Rule.Title != "own title" {
		t.Errorf("matches = %+v", m)
	}
}

func TestMatchDetails(t *testing.T) {
	det := `  selection:
    Image|endswith: '\evil.exe'
    CommandLine|contains: steal
  filter:
    User: SYSTEM
  condition: selection and not filter
`
	_, e := compileOne(t, det, nil)
	ev := MapEvent{"Image": `C:\evil.exe`, "CommandLine": "evil steal", "User": "bob"}
	got := e.MatchLogsource(ev, Logsource{Product: "test"}, nil)
	if len(got) != 1 {
		t.Fatalf("got %d matches, want 1", len(got))
	}
	want := []MatchedField{
		{Selection: "selection", Field: "Image", Value: `C:\evil.exe`},
		{Selection: "selection", Field: "CommandLine", Value: "evil steal"},
	}
	if d := cmp.Diff(want, got[0].Fields); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
	if r := got[0].Rule; r.ID != "00000000-0000-4000-8000-000000000001" || r.Level != "high" || r.Title != "test rule" {
		t.Errorf("rule metadata = %+v", r)
	}
}

func TestScratchLowerMatchesStringsToLower(t *testing.T) {
	sc := &scratch{}
	for _, s := range []string{"", "abc", "ABC", "Microsoft® Windows®", "ÄÖÜ straße", "KELVIN \u212a", "bad \xff utf8", "İstanbul"} {
		if got, want := sc.lower(s), strings.ToLower(s); got != want {
			t.Errorf("lower(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestRegexMinLen(t *testing.T) {
	cases := []struct {
		expr string
		want int
	}{
		{`abc`, 3},
		{`a|bc`, 1},
		{`\s[a-f0-9]{64}\s`, 66},
		{`(?i)k`, 1},
		{`x*`, 0},
		{`(ab)+c?`, 2},
		{`é`, 2},
	}
	for _, tc := range cases {
		m, err := compileRegex(tc.expr, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := int(m.num); got != tc.want {
			t.Errorf("min length of %s = %d, want %d", tc.expr, got, tc.want)
		}
		// Soundness against the regex engine on a few strings.
		for _, s := range []string{"abc", "bc", "a", "\u212a", "k", "", "é", "abab", strings.Repeat("0", 70)} {
			if m.re.MatchString(s) && len(s) < int(m.num) {
				t.Errorf("%s matches %q, shorter than its minimum %d", tc.expr, s, int(m.num))
			}
		}
	}
}

// TestLongValueLists exercises the one-pass automaton used for long literal
// lists and the witness index's truncated patterns.
func TestLongValueLists(t *testing.T) {
	list := func(mod string, vals ...string) string {
		s := "  sel:\n    F" + mod + ":\n"
		for _, v := range vals {
			s += "      - '" + v + "'\n"
		}
		return s + "  condition: sel"
	}
	many := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"}
	cases := []matchCase{
		{"contains list hit", list("|contains", many...), map[string]any{"F": "xx HOTEL yy"}, true},
		{"contains list miss", list("|contains", many...), map[string]any{"F": "xx kilo yy"}, false},
		{"startswith list hit", list("|startswith", many...), map[string]any{"F": "Golf club"}, true},
		{"startswith list not at start", list("|startswith", many...), map[string]any{"F": "mini golf"}, false},
		{"endswith list hit", list("|endswith", many...), map[string]any{"F": "the delta"}, true},
		{"endswith list not at end", list("|endswith", many...), map[string]any{"F": "delta force"}, false},
		{"exact list hit", list("", append(many, "x*y")...), map[string]any{"F": "ECHO"}, true},
		{"exact list glob member", list("", append(many, "x*y")...), map[string]any{"F": "x--y"}, true},
		{"exact list partial", list("", append(many, "x*y")...), map[string]any{"F": "echoes"}, false},
		{"contains list non-ascii value", list("|contains", append(many, "straße")...), map[string]any{"F": "Die STRASSE und die Straße"}, true},
		{"contains list cased member stays exact", list("|cased|contains", many...), map[string]any{"F": "HOTEL"}, false},
		{"neq with long list", list("|neq", many...), map[string]any{"F": "kilo"}, true},
		{"neq with long list other value", list("|neq", many...), map[string]any{"F": "Kilo", "G": 1}, true},
		{"neq with long list member", list("|neq", many...), map[string]any{"F": "India"}, false},
		{"long endswith literal, same tail", "  sel:\n    Image|endswith: '\\\\Program Files\\\\Vendor\\\\agent.exe'\n  condition: sel", map[string]any{"Image": `C:\Other\Vendor\agent.exe`}, false},
		{"long endswith literal", "  sel:\n    Image|endswith: '\\Program Files\\Vendor\\agent.exe'\n  condition: sel", map[string]any{"Image": `C:\Program Files\Vendor\agent.exe`}, true},
		{"long startswith literal, same tail", "  sel:\n    Image|startswith: 'C:\\Program Files\\Vendor\\'\n  condition: sel", map[string]any{"Image": `D:\Program Files\Vendor\x.exe`}, false},
		{"long exact literal in longer value", "  sel:\n    Image: 'C:\\Program Files\\Vendor\\agent.exe'\n  condition: sel", map[string]any{"Image": `X:\C:\Program Files\Vendor\agent.exe`}, false},
	}
	runCases(t, cases, nil)
}

// TestRegexLiteralsSound checks the literal prefilter mined from regexes:
// every string a regex matches contains one of its literals (lower-cased).
func TestRegexLiteralsSound(t *testing.T) {
	positives := map[string][]string{
		`\\[a-zA-Z0-9]{1,3}\.[a-z]{1,2}\.[ "']{1}`: {`C:\x\Ab1.cd.'`, `\z.q." x`},
		`(?i)inv[o0]ke-(expression|webrequest)`:    {"INV0KE-WebRequest", "iex; invoke-expression"},
		`a[bc]d[ef]`:                               {"xxacdf", "abde"},
		`^x[0-9]y$`:                                {"x7y", "X0Y"[:0] + "x0y"},
		`(ab|cd)+e[fg]`:                            {"ababeg", "cdEf"[:0] + "cdef"},
		`[A-C]x?[d-f]`:                             {"Bxe", "Cf"},
		`q(?:r|s)t`:                                {"qst"},
		`\s[a-f0-9]{4}\s`:                          {" beef\t"},
		`(?i)[k]ey`:                                {"\u212aey", "KEY"},
	}
	var exprs []string
	for e := range positives {
		exprs = append(exprs, e)
	}
	alphabet := []byte(`abcdefgxyzqrstkK019 ."'\-ABCEIONVWX` + "\u212a"[:1])
	r := newEventGen(3).r
	for _, expr := range exprs {
		m, err := compileRegex(expr, "")
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		matched := 0
		for i := 0; i < 200000+len(positives[expr]); i++ {
			var s string
			if i < len(positives[expr]) {
				s = positives[expr][i]
				if !m.re.MatchString(s) {
					t.Fatalf("%s does not match its positive example %q", expr, s)
				}
			} else {
				n := 1 + r.IntN(14)
				b := make([]byte, n)
				for j := range b {
					b[j] = alphabet[r.IntN(len(alphabet))]
				}
				s = string(b)
			}
			if !m.re.MatchString(s) {
				continue
			}
			matched++
			if len(m.pre) == 0 {
				continue
			}
			low, ok := strings.ToLower(s), false
			for _, p := range m.pre {
				if strings.Contains(low, p) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("%s matches %q but contains none of %q", expr, s, m.pre)
			}
		}
		t.Logf("%s: literals %q, %d random matches checked", expr, m.pre, matched)
	}
}

// TestRegexRunSound checks the class-run prefilter: every string a regex
// matches has the required run, and the run is found where one is needed.
func TestRegexRunSound(t *testing.T) {
	cases := []struct {
		expr  string
		n     int      // expected run length; 0: no prefilter
		pos   []string // strings the regex matches
		noRun []string // strings without the run (the regex cannot match them)
	}{
		{`\s[a-fA-F0-9]{8}\s[a-f0-9]{4}`, 8, []string{"x DEADbeef beef"}, []string{"x deadbee beef", "deadbe-efbeef"}},
		{`(?i)[k]{4}`, 4, []string{"kKk\u212a", "KKKK"}, []string{"kkk-k"}},
		{`(?i)\w{5}x`, 5, []string{"ab_12x", "\u212a\u212a\u212a\u212a\u212ax"}, []string{"ab-12x"}},
		{`(ab|[0-9]{6})`, 0, nil, nil},
		{`([0-9]{4}x){2}`, 4, []string{"1234x5678x"}, []string{"123x456x"}},
		{`[0-9]{3}x`, 0, nil, nil}, // too short to be worth checking
		{`\\[0-9a-f]{8}-[0-9a-f]{4}\.txt$`, 8, []string{`c:\0123abcd-ffff.txt`}, []string{`c:\0123abc-dffff.txt`}},
		{`a{6}`, 0, nil, nil},
		{`[^\\]{1,256}$`, 0, nil, nil},
		{`x[a-c]{2,}y`, 0, nil, nil},
	}
	alphabet := []string{"a", "b", "c", "f", "k", "K", "x", "0", "1", "9", "-", "_", " ", "\t", "\\", "\u212a", "é", "ab", "12", "deadbeef"}
	r := newEventGen(5).r
	for _, tc := range cases {
		m, err := compileRegex(tc.expr, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		got := 0
		if m.run != nil {
			got = m.run.n
		}
		if got != tc.n {
			t.Errorf("%s: run of %d, want %d", tc.expr, got, tc.n)
		}
		for _, s := range tc.pos {
			if !m.re.MatchString(s) || (m.run != nil && !m.run.has(s)) {
				t.Errorf("%s: positive example %q fails the regex or its run", tc.expr, s)
			}
		}
		for _, s := range tc.noRun {
			if m.run == nil || m.run.has(s) {
				t.Errorf("%s: %q should have no run", tc.expr, s)
			}
		}
		if m.run == nil {
			continue
		}
		matched := 0
		for range 100000 {
			var b strings.Builder
			for range 1 + r.IntN(12) {
				b.WriteString(alphabet[r.IntN(len(alphabet))])
			}
			s := b.String()
			if m.re.MatchString(s) {
				matched++
				if !m.run.has(s) {
					t.Fatalf("%s matches %q, which lacks its run of %d", tc.expr, s, m.run.n)
				}
			}
		}
		t.Logf("%s: %d random matches checked", tc.expr, matched)
	}
}

// TestClassRunSkipMatchesLinear checks the skipping run search against a
// byte-by-byte count on random strings over a small alphabet, for run
// lengths around the string lengths.
func TestClassRunSkipMatchesLinear(t *testing.T) {
	r := newEventGen(9).r
	var c classRun
	for _, b := range []byte("0123456789abcdef") {
		c.set[b>>5] |= 1 << (b & 31)
	}
	c.set[0xe9>>5] |= 1 << (0xe9 & 31)
	alphabet := []byte("0af9 -x\xe9")
	found := 0
	for n := 1; n <= 12; n++ {
		c.n = n
		for range 20000 {
			b := make([]byte, r.IntN(30))
			for i := range b {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
			s := string(b)
			want := c.hasLinear(s)
			if got := c.has(s); got != want {
				t.Fatalf("run of %d in %q: has %v, byte by byte %v", n, s, got, want)
			}
			if want {
				found++
			}
		}
	}
	if found == 0 {
		t.Fatal("no string had a run; the check proves nothing")
	}
}
