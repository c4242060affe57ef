// Package demo generates the sample scenario 'mcpsoc serve --demo' seeds:
// raw log lines in the formats real devices write (pfSense filterlog over
// syslog, sshd, ModSecurity v3 JSON, Suricata EVE, clamd), timed so the
// story ends now. The lines go through the same parsers and pipeline as
// real input. It contains no detection logic and no canned results.
//
// The story, on 192.0.2.0/24 (a web server .10, a bastion .22, a
// workstation .31) with documentation addresses for the internet:
//   - an hour of benign traffic: outbound web, DNS and TLS, inbound noise;
//   - 50 minutes ago, 203.0.113.50 scans TCP ports 1-1024 of .10 (blocked);
//   - 40 minutes ago, 198.51.100.77 brute-forces SSH on .22;
//   - 30 minutes ago, 198.51.100.23 attacks the web server (SQL injection,
//     XSS, path traversal, sqlmap), caught by ModSecurity with the CRS;
//   - 15 minutes ago, .31 downloads invoice.exe from 203.0.113.44 and ClamAV
//     flags it;
//   - since 10 minutes ago, .31 calls back to 203.0.113.66:443 every 60 s.
package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Source is one device's log lines, in the format its parser reads.
type Source struct {
	Name   string // source name, e.g. "fw"
	Format string // parser name
	Lines  []string
}

// Addresses the story uses, for tests and documentation.
const (
	WebServer   = "192.0.2.10"
	Bastion     = "192.0.2.22"
	Workstation = "192.0.2.31"
	Scanner     = "203.0.113.50"
	BruteForcer = "198.51.100.77"
	WebAttacker = "198.51.100.23"
	MalwareHost = "203.0.113.44"
	C2          = "203.0.113.66"
	EICARMD5    = "44d88612fea8a8f36de82e1278abb02f"
	EICARSHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
)

type gen struct {
	now  time.Time
	rng  *rand.Rand
	fw   []string
	auth []string
	waf  []string
	ids  []string
	av   []string
	flow uint64
}

// Generate builds the scenario ending at now. The same seed gives the same
// lines for the same now.
func Generate(now time.Time, seed uint64) []Source {
	g := &gen{now: now.UTC().Truncate(time.Second), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), flow: 1 << 40}
	g.background()
	g.portScan()
	g.bruteForce()
	g.webAttacks()
	g.malwareDownload()
	g.beacons()
	return []Source{
		{Name: "fw", Format: "auto", Lines: g.fw},
		{Name: "bastion", Format: "syslog", Lines: g.auth},
		{Name: "waf", Format: "modsecurity", Lines: g.waf},
		{Name: "ids", Format: "suricata", Lines: g.ids},
		{Name: "av", Format: "clamav", Lines: g.av},
	}
}

func (g *gen) at(ago time.Duration) time.Time { return g.now.Add(-ago) }

// filterlog writes a pfSense filterlog line for an IPv4 TCP or UDP packet.
func (g *gen) filterlog(t time.Time, action, dir, proto, src, dst string, sport, dport int) {
	num := "6"
	tail := fmt.Sprintf("%d,%d,0,S,%d,,64240,,mss;sackOK;TS;nop;wscale", sport, dport, g.rng.Uint32())
	if proto == "udp" {
		num = "17"
		tail = fmt.Sprintf("%d,%d,%d", sport, dport, 40+g.rng.IntN(400))
	}
	rule := "1000000103"
	if action == "pass" {
		rule = "1000000201"
	}
	g.fw = append(g.fw, fmt.Sprintf("<134>%s fw filterlog[4242]: 5,,,%s,igb0,match,%s,%s,4,0x0,,64,%d,0,DF,%s,%s,60,%s,%s,%s",
		t.Format(time.Stamp), rule, action, dir, g.rng.IntN(65535), num, proto, src, dst, tail))
}

func (g *gen) eve(t time.Time, typ, src string, sport int, dst string, dport int, proto, extra string) {
	g.flow++
	g.ids = append(g.ids, fmt.Sprintf(`{"timestamp":"%s","flow_id":%d,"in_iface":"eth0","event_type":"%s","src_ip":"%s","src_port":%d,"dest_ip":"%s","dest_port":%d,"proto":"%s"%s}`,
		t.Format("2006-01-02T15:04:05.000000-0700"), g.flow, typ, src, sport, dst, dport, proto, extra))
}

func (g *gen) background() {
	sites := []struct{ ip, name string }{
		{"198.51.100.10", "updates.example.org"}, {"198.51.100.11", "cdn.example.com"},
		{"203.0.113.20", "mail.example.net"}, {"198.51.100.12", "api.example.com"},
	}
	hosts := []string{"192.0.2.31", "192.0.2.32", "192.0.2.33", "192.0.2.40"}
	for i := 0; i < 600; i++ {
		t := g.at(time.Duration(g.rng.Int64N(int64(time.Hour))))
		h := hosts[g.rng.IntN(len(hosts))]
		s := sites[g.rng.IntN(len(sites))]
		switch i % 3 {
		case 0:
			g.filterlog(t, "pass", "out", "udp", h, "192.0.2.53", 30000+g.rng.IntN(30000), 53)
			g.eve(t, "dns", h, 30000+g.rng.IntN(30000), "192.0.2.53", 53, "UDP",
				fmt.Sprintf(`,"dns":{"version":2,"type":"query","id":%d,"rrname":"%s","rrtype":"A"}`, g.rng.IntN(65535), s.name))
		default:
			sport := 40000 + g.rng.IntN(20000)
			g.filterlog(t, "pass", "out", "tcp", h, s.ip, sport, 443)
			g.eve(t, "tls", h, sport, s.ip, 443, "TCP",
				fmt.Sprintf(`,"tls":{"sni":"%s","version":"TLS 1.3","subject":"CN=%s","issuerdn":"CN=Example Issuing CA"}`, s.name, s.name))
		}
	}
	// Inbound noise from the internet, dropped at the edge.
	for i := 0; i < 80; i++ {
		t := g.at(time.Duration(g.rng.Int64N(int64(time.Hour))))
		src := fmt.Sprintf("198.51.100.%d", 100+g.rng.IntN(100))
		g.filterlog(t, "block", "in", "tcp", src, WebServer, 1024+g.rng.IntN(60000), []int{23, 445, 3389, 8080}[g.rng.IntN(4)])
	}
	// Legitimate web traffic to the web server.
	for i := 0; i < 120; i++ {
		t := g.at(time.Duration(g.rng.Int64N(int64(time.Hour))))
		g.filterlog(t, "pass", "in", "tcp", fmt.Sprintf("203.0.113.%d", 100+g.rng.IntN(100)), WebServer, 40000+g.rng.IntN(20000), 443)
	}
}

func (g *gen) portScan() {
	start := g.at(50 * time.Minute)
	for p := 1; p <= 1024; p++ {
		t := start.Add(time.Duration(p) * 100 * time.Millisecond)
		g.filterlog(t, "block", "in", "tcp", Scanner, WebServer, 61000+p%500, p)
	}
}

func (g *gen) bruteForce() {
	start := g.at(40 * time.Minute)
	users := []string{"root", "admin", "ubuntu", "oracle", "test", "postgres"}
	for i := 0; i < 60; i++ {
		t := start.Add(time.Duration(i) * 2 * time.Second)
		port := 40000 + g.rng.IntN(20000)
		g.filterlog(t, "pass", "in", "tcp", BruteForcer, Bastion, port, 22)
		g.auth = append(g.auth, fmt.Sprintf("<38>1 %s bastion sshd %d - - Failed password for %s from %s port %d ssh2",
			t.Format(time.RFC3339), 2000+i, users[i%len(users)], BruteForcer, port))
	}
	t := start.Add(3 * time.Minute)
	g.auth = append(g.auth, fmt.Sprintf("<38>1 %s bastion sshd 2100 - - Accepted publickey for deploy from 192.0.2.40 port 51022 ssh2: ED25519 SHA256:q9mB3kOx", t.Format(time.RFC3339)))
}

// attacks are requests ModSecurity with the OWASP CRS blocks, with the
// rules that fire on them.
var attacks = []struct {
	uri, ua, msg, rule, file, data, tag string
}{
	{"/products?id=1%27%20OR%201=1--", "Mozilla/5.0", "SQL Injection Attack Detected via libinjection", "942100", "REQUEST-942-APPLICATION-ATTACK-SQLI.conf", "Matched Data: s&1c found within ARGS:id: 1' OR 1=1--", "attack-sqli"},
	{"/search?q=%3Cscript%3Ealert(1)%3C/script%3E", "Mozilla/5.0", "XSS Attack Detected via libinjection", "941100", "REQUEST-941-APPLICATION-ATTACK-XSS.conf", "Matched Data: XSS data found within ARGS:q: <script>alert(1)</script>", "attack-xss"},
	{"/download?file=../../../../etc/passwd", "Mozilla/5.0", "Path Traversal Attack (/../)", "930100", "REQUEST-930-APPLICATION-ATTACK-LFI.conf", "Matched Data: /../ found within ARGS:file: ../../../../etc/passwd", "attack-lfi"},
	{"/products?id=1", "sqlmap/1.7.2#stable (https://sqlmap.org)", "Found User-Agent associated with security scanner", "913100", "REQUEST-913-SCANNER-DETECTION.conf", "Matched Data: sqlmap found within REQUEST_HEADERS:User-Agent", "attack-reputation-scanner"},
	{"/cgi-bin/status?cmd=%3Bcat%20/etc/passwd", "curl/8.5.0", "Remote Command Execution: Unix Command Injection", "932100", "REQUEST-932-APPLICATION-ATTACK-RCE.conf", "Matched Data: ;cat found within ARGS:cmd: ;cat /etc/passwd", "attack-rce"},
}

func (g *gen) webAttacks() {
	start := g.at(30 * time.Minute)
	for i := 0; i < 40; i++ {
		a := attacks[i%len(attacks)]
		t := start.Add(time.Duration(i) * 7 * time.Second)
		port := 40000 + g.rng.IntN(20000)
		g.filterlog(t, "pass", "in", "tcp", WebAttacker, WebServer, port, 80)
		msg := func(text, rule, file, data, tag, sev string) string {
			return fmt.Sprintf(`{"message":%q,"details":{"match":"Matched","reference":"","ruleId":%q,"file":"/usr/share/modsecurity-crs/rules/%s","lineNumber":"45","data":%q,"severity":%q,"ver":"OWASP_CRS/3.3.4","rev":"","tags":["application-multi","%s"],"maturity":"0","accuracy":"0"}}`,
				text, rule, file, data, sev, tag)
		}
		g.waf = append(g.waf, fmt.Sprintf(`{"transaction":{"client_ip":"%s","time_stamp":"%s","server_id":"a1b2c3","client_port":%d,"host_ip":"%s","host_port":80,"unique_id":"%d.%06d","request":{"method":"GET","http_version":1.1,"uri":%q,"headers":{"Host":"shop.example.com","User-Agent":%q,"Accept":"*/*"}},"response":{"http_code":403,"headers":{"Server":"nginx"}},"producer":{"modsecurity":"ModSecurity v3.0.9 (Linux)","connector":"ModSecurity-nginx v1.0.3","secrules_engine":"Enabled","components":["OWASP_CRS/3.3.4"]},"messages":[%s,%s]}}`,
			WebAttacker, t.Format("Mon Jan _2 15:04:05 2006"), port, WebServer, t.Unix(), i, a.uri, a.ua,
			msg(a.msg, a.rule, a.file, a.data, a.tag, "2"),
			msg("Inbound Anomaly Score Exceeded (Total Score: 10)", "949110", "REQUEST-949-BLOCKING-EVALUATION.conf", "", "anomaly-evaluation", "2")))
	}
}

func (g *gen) malwareDownload() {
	t := g.at(15 * time.Minute)
	g.filterlog(t, "pass", "out", "tcp", Workstation, MalwareHost, 50010, 80)
	g.eve(t, "http", Workstation, 50010, MalwareHost, 80, "TCP",
		`,"http":{"hostname":"dl.example.net","url":"/payload/invoice.exe","http_user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64)","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":68}`)
	g.eve(t.Add(time.Second), "fileinfo", MalwareHost, 80, Workstation, 50010, "TCP",
		fmt.Sprintf(`,"app_proto":"http","http":{"hostname":"dl.example.net","url":"/payload/invoice.exe","http_method":"GET","status":200},"fileinfo":{"filename":"/payload/invoice.exe","magic":"PE32 executable (GUI) Intel 80386, for MS Windows","gaps":false,"state":"CLOSED","md5":"%s","sha256":"%s","stored":true,"size":68,"tx_id":0}`, EICARMD5, EICARSHA256))
	g.av = append(g.av, fmt.Sprintf("%s -> /srv/quarantine/incoming/invoice.exe: Win.Test.EICAR_HDB-1 FOUND", t.Add(3*time.Second).Format("Mon Jan _2 15:04:05 2006")))
	g.av = append(g.av, fmt.Sprintf("%s -> SelfCheck: Database status OK.", t.Add(-time.Minute).Format("Mon Jan _2 15:04:05 2006")))
}

func (g *gen) beacons() {
	for i := 0; i < 10; i++ {
		t := g.at(time.Duration(10-i)*time.Minute + time.Duration(g.rng.IntN(3))*time.Second)
		sport := 51000 + i
		g.filterlog(t, "pass", "out", "tcp", Workstation, C2, sport, 443)
		g.eve(t, "tls", Workstation, sport, C2, 443, "TCP",
			`,"tls":{"sni":"c2.example.net","version":"TLS 1.2","subject":"CN=c2.example.net","issuerdn":"CN=c2.example.net","ja3":{"hash":"e7d705a3286e19ea42f587b344ee6865"}}`)
		if i%3 == 0 {
			g.eve(t, "alert", Workstation, sport, C2, 443, "TCP",
				`,"app_proto":"tls","alert":{"action":"allowed","gid":1,"signature_id":9000101,"rev":1,"signature":"LOCAL Possible C2 beacon: self-signed TLS to c2.example.net","category":"A Network Trojan was detected","severity":1}`)
		}
	}
}

// Count returns the number of lines in srcs.
func Count(srcs []Source) int {
	n := 0
	for _, s := range srcs {
		n += len(s.Lines)
	}
	return n
}

// String renders a source's lines as a file body.
func (s Source) String() string { return strings.Join(s.Lines, "\n") + "\n" }
