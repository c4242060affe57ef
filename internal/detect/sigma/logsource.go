package sigma

import "strings"

// LogsourceRule assigns a logsource to events whose fields match. Every field
// in When must hold (AND); a field's values are alternatives (OR), compared
// case-insensitively, where a value ending in '*' is a prefix and "*" alone
// means "present". An event may match several rules: it then belongs to each
// of their logsources (a Sysmon event 1 is product windows, service sysmon
// and category process_creation).
type LogsourceRule struct {
	When     map[string][]string `yaml:"when" json:"when"`
	Product  string              `yaml:"product,omitempty" json:"product,omitempty"`
	Category string              `yaml:"category,omitempty" json:"category,omitempty"`
	Service  string              `yaml:"service,omitempty" json:"service,omitempty"`
}

// Unrouted policies for events that match no LogsourceRule.
const (
	// UnroutedAll evaluates every rule against an event of unknown
	// logsource: nothing is missed, at the cost of speed and false hits.
	UnroutedAll = "all"
	// UnroutedNone evaluates no rule against such events.
	UnroutedNone = "none"
)

// LogsourceConfig says how events are routed to rules.
type LogsourceConfig struct {
	Rules []LogsourceRule `yaml:"rules" json:"rules"`
	// Unrouted is UnroutedAll (the default when empty) or UnroutedNone.
	Unrouted string `yaml:"unrouted,omitempty" json:"unrouted,omitempty"`
}

// windowsChannels maps Sigma's Windows services to event log channels.
var windowsChannels = map[string][]string{
	"security":                             {"Security"},
	"system":                               {"System"},
	"application":                          {"Application"},
	"sysmon":                               {"Microsoft-Windows-Sysmon/Operational"},
	"powershell":                           {"Microsoft-Windows-PowerShell/Operational"},
	"powershell-classic":                   {"Windows PowerShell"},
	"taskscheduler":                        {"Microsoft-Windows-TaskScheduler/Operational"},
	"wmi":                                  {"Microsoft-Windows-WMI-Activity/Operational"},
	"windefend":                            {"Microsoft-Windows-Windows Defender/Operational"},
	"dns-server":                           {"DNS Server"},
	"dns-client":                           {"Microsoft-Windows-DNS Client Events/Operational"},
	"driver-framework":                     {"Microsoft-Windows-DriverFrameworks-UserMode/Operational"},
	"ntlm":                                 {"Microsoft-Windows-NTLM/Operational"},
	"firewall-as":                          {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall"},
	"bits-client":                          {"Microsoft-Windows-Bits-Client/Operational"},
	"codeintegrity-operational":            {"Microsoft-Windows-CodeIntegrity/Operational"},
	"applocker":                            {"Microsoft-Windows-AppLocker/MSI and Script", "Microsoft-Windows-AppLocker/EXE and DLL", "Microsoft-Windows-AppLocker/Packaged app-Deployment", "Microsoft-Windows-AppLocker/Packaged app-Execution"},
	"msexchange-management":                {"MSExchange Management"},
	"printservice-admin":                   {"Microsoft-Windows-PrintService/Admin"},
	"printservice-operational":             {"Microsoft-Windows-PrintService/Operational"},
	"smbclient-security":                   {"Microsoft-Windows-SmbClient/Security"},
	"smbclient-connectivity":               {"Microsoft-Windows-SmbClient/Connectivity"},
	"terminalservices-localsessionmanager": {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational"},
	"openssh":                              {"OpenSSH/Operational"},
	"lsa-server":                           {"Microsoft-Windows-LSA/Operational"},
	"appxdeployment-server":                {"Microsoft-Windows-AppXDeploymentServer/Operational"},
	"capi2":                                {"Microsoft-Windows-CAPI2/Operational"},
	"security-mitigations":                 {"Microsoft-Windows-Security-Mitigations/Kernel Mode", "Microsoft-Windows-Security-Mitigations/User Mode"},
	"diagnosis-scripted":                   {"Microsoft-Windows-Diagnosis-Scripted/Operational"},
	"shell-core":                           {"Microsoft-Windows-Shell-Core/Operational"},
	"ldap":                                 {"Microsoft-Windows-LDAP-Client/Debug"},
	"microsoft-servicebus-client":          {"Microsoft-ServiceBus-Client"},
	"vhdmp":                                {"Microsoft-Windows-VHDMP/Operational"},
	"hyper-v-worker":                       {"Microsoft-Windows-Hyper-V-Worker-Admin"},
	"kernel-shimengine":                    {"Microsoft-Windows-Kernel-ShimEngine/Operational"},
	"appmodel-runtime":                     {"Microsoft-Windows-AppModel-Runtime/Admin"},
	"bitlocker":                            {"Microsoft-Windows-BitLocker/BitLocker Management"},
}

// sysmonCategories maps Sysmon event IDs to Sigma categories.
var sysmonCategories = map[string][]string{
	"1": {"process_creation"}, "2": {"file_change"}, "3": {"network_connection"},
	"4": {"sysmon_status"}, "5": {"process_termination"}, "6": {"driver_load"},
	"7": {"image_load"}, "8": {"create_remote_thread"}, "9": {"raw_access_thread"},
	"10": {"process_access"}, "11": {"file_event"},
	"12": {"registry_event", "registry_add", "registry_delete"},
	"13": {"registry_event", "registry_set"}, "14": {"registry_event", "registry_rename"},
	"15": {"create_stream_hash"}, "16": {"sysmon_status"},
	"17": {"pipe_created"}, "18": {"pipe_created"},
	"19": {"wmi_event"}, "20": {"wmi_event"}, "21": {"wmi_event"},
	"22": {"dns_query"}, "23": {"file_delete"}, "24": {"clipboard_change"},
	"25": {"process_tampering"}, "26": {"file_delete_detected"},
	"27": {"file_block_executable"}, "28": {"file_block_shredding"},
	"29": {"file_executable_detected"}, "255": {"sysmon_error"},
}

// DefaultLogsourceConfig returns the built-in routing table: Windows event
// log channels and Sysmon/Security/PowerShell event IDs, and ECS
// event.dataset / event.module / event.category / observer.product values
// set by MCPSoc's parsers. docs/sigma.md lists it in full.
func DefaultLogsourceConfig() *LogsourceConfig {
	var rs []LogsourceRule
	add := func(when map[string][]string, product, category, service string) {
		rs = append(rs, LogsourceRule{When: when, Product: product, Category: category, Service: service})
	}
	// Windows: any event with a Channel is a Windows event.
	add(map[string][]string{"Channel": {"*"}}, "windows", "", "")
	for svc, chans := range windowsChannels {
		add(map[string][]string{"Channel": chans}, "windows", "", svc)
	}
	sysmon := []string{"Microsoft-Windows-Sysmon/Operational"}
	for id, cats := range sysmonCategories {
		for _, c := range cats {
			add(map[string][]string{"Channel": sysmon, "EventID": {id}}, "windows", c, "")
		}
	}
	add(map[string][]string{"Channel": {"Security"}, "EventID": {"4688"}}, "windows", "process_creation", "")
	add(map[string][]string{"Channel": {"Microsoft-Windows-PowerShell/Operational"}, "EventID": {"4104"}}, "windows", "ps_script", "")
	add(map[string][]string{"Channel": {"Microsoft-Windows-PowerShell/Operational"}, "EventID": {"4103"}}, "windows", "ps_module", "")
	add(map[string][]string{"Channel": {"Windows PowerShell"}, "EventID": {"400"}}, "windows", "ps_classic_start", "")
	add(map[string][]string{"Channel": {"Windows PowerShell"}, "EventID": {"600"}}, "windows", "ps_classic_provider_start", "")
	add(map[string][]string{"Channel": {"Windows PowerShell"}, "EventID": {"800"}}, "windows", "ps_classic_script", "")

	// ECS sources from MCPSoc's parsers.
	add(map[string][]string{"event.dataset": {"pfsense.*", "opnsense.*", "netfilter.*", "iptables.*", "nftables.*", "ufw.*", "fortinet.*", "fortigate.*", "panos.*", "panw.*", "paloalto.*", "cisco.asa*", "firewall.*"}}, "", "firewall", "")
	add(map[string][]string{"event.module": {"fortinet", "fortigate"}}, "fortigate", "", "")
	add(map[string][]string{"observer.product": {"fortigate"}}, "fortigate", "", "")
	add(map[string][]string{"event.dataset": {"nginx.access", "nginx.error", "apache.access", "apache.error", "iis.access", "modsec.*", "modsecurity.*", "coraza.*", "waf.*", "http.access"}}, "", "webserver", "")
	add(map[string][]string{"event.category": {"web"}}, "", "webserver", "")
	add(map[string][]string{"event.dataset": {"squid.*", "proxy.*", "zscaler.*"}}, "", "proxy", "")
	add(map[string][]string{"event.dataset": {"clamav.*"}}, "", "antivirus", "")
	add(map[string][]string{"event.module": {"clamav"}}, "clamav", "", "")
	add(map[string][]string{"event.category": {"malware"}}, "", "antivirus", "")
	add(map[string][]string{"event.module": {"suricata"}}, "suricata", "", "")
	add(map[string][]string{"event.dataset": {"suricata.*"}}, "suricata", "", "")
	add(map[string][]string{"event.module": {"zeek"}}, "zeek", "", "")
	for _, svc := range []string{"conn", "dns", "http", "files", "smb_files", "smb_mapping", "dce_rpc", "kerberos", "rdp", "ssl", "x509", "ntlm", "notice"} {
		add(map[string][]string{"event.dataset": {"zeek." + svc}}, "zeek", "", svc)
	}
	add(map[string][]string{"event.module": {"auditd"}}, "linux", "", "auditd")
	add(map[string][]string{"event.dataset": {"system.auth", "linux.auth"}}, "linux", "", "auth")
	add(map[string][]string{"event.dataset": {"system.auth", "linux.auth", "sshd.*"}}, "linux", "", "sshd")
	add(map[string][]string{"event.dataset": {"system.syslog", "linux.syslog", "syslog.*"}}, "linux", "", "syslog")
	add(map[string][]string{"event.module": {"mcp", "mcpsoc"}}, "mcp", "", "")
	for _, svc := range []string{"gateway", "scanner"} {
		add(map[string][]string{"event.dataset": {"mcp." + svc, "mcpsoc." + svc}}, "mcp", "", svc)
	}
	return &LogsourceConfig{Rules: rs, Unrouted: UnroutedAll}
}

// FieldMapping renames Sigma field names for rules whose logsource matches
// (empty Logsource keys match anything). A name maps to one or more event
// fields, ORed.
type FieldMapping struct {
	Logsource Logsource           `yaml:"logsource" json:"logsource"`
	Fields    map[string][]string `yaml:"fields" json:"fields"`
}

func (l Logsource) covers(r Logsource) bool {
	return (l.Product == "" || strings.EqualFold(l.Product, r.Product)) &&
		(l.Category == "" || strings.EqualFold(l.Category, r.Category)) &&
		(l.Service == "" || strings.EqualFold(l.Service, r.Service))
}

// DefaultFieldMappings maps Sigma's generic firewall, web server, proxy and
// antivirus names to ECS. Each mapping keeps the Sigma name as a second
// choice so generic JSON events that use Sigma's names still match.
func DefaultFieldMappings() []FieldMapping {
	both := func(m map[string]string) map[string][]string {
		out := make(map[string][]string, len(m))
		for k, v := range m {
			out[k] = []string{v, k}
		}
		return out
	}
	network := map[string]string{
		"src_ip": "source.ip", "dst_ip": "destination.ip",
		"src_port": "source.port", "dst_port": "destination.port",
		"action": "event.action", "protocol": "network.transport",
		"src_host": "source.domain", "dst_host": "destination.domain",
		"username": "user.name",
	}
	web := map[string]string{
		"c-ip": "source.ip", "cs-method": "http.request.method",
		"c-uri": "url.original", "cs-uri": "url.original",
		"cs-uri-stem": "url.path", "c-uri-stem": "url.path",
		"cs-uri-query": "url.query", "c-uri-query": "url.query",
		"c-uri-extension": "url.extension",
		"cs-user-agent":   "user_agent.original", "c-useragent": "user_agent.original",
		"sc-status": "http.response.status_code", "cs-host": "url.domain",
		"cs-referrer": "http.request.referrer", "r-dns": "url.domain",
		"cs-bytes": "http.request.bytes", "sc-bytes": "http.response.bytes",
		"cs-cookie": "http.request.cookie", "src_ip": "source.ip", "dst_ip": "destination.ip",
		"cs-version": "http.version",
	}
	av := map[string]string{
		"Signature": "rule.name", "Filename": "file.path", "FileName": "file.path",
	}
	return []FieldMapping{
		{Logsource: Logsource{Category: "firewall"}, Fields: both(network)},
		{Logsource: Logsource{Category: "webserver"}, Fields: both(web)},
		{Logsource: Logsource{Category: "proxy"}, Fields: both(web)},
		{Logsource: Logsource{Category: "antivirus"}, Fields: both(av)},
	}
}
