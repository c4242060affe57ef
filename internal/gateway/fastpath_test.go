package gateway

import (
	"testing"
)

// TestFastPathSuite runs the proxy, attack, policy, content, approval and
// pinning tests again with every fixture upstream on loopback HTTP: SDK
// clients negotiate 2026-07-28 with the gateway and the gateway negotiates
// it with the upstreams, so tools/call takes the fast path (raw forwarding)
// and must give exactly the answers the SDK path gives. Tests that need
// what a stateless upstream cannot do (list_changed pushed mid-session, an
// in-process server edited while connected) stay on the in-process run.
func TestFastPathSuite(t *testing.T) {
	upstreamsOverHTTP = true
	fastCallsSeen.Store(0)
	defer func() { upstreamsOverHTTP = false }()
	for name, fn := range map[string]func(*testing.T){
		"ProxyListAndCall":           TestProxyListAndCall,
		"ProxyProgressAndCancel":     TestProxyProgressAndCancellation,
		"AuditRedactsArguments":      TestAuditRedactsArguments,
		"OutputSchemaEnforced":       TestOutputSchemaEnforced,
		"CallsRefusedWithoutAudit":   TestCallsRefusedWithoutAudit,
		"AttackAuthentication":       TestAttackAuthentication,
		"AttackLimitsAndSessions":    TestAttackLimitsAndSessions,
		"AttackPolicyValidationRate": TestAttackPolicyValidationRate,
		"AttackRequestFlood":         TestAttackRequestFlood,
		"PoisonedToolsListBlocked":   TestPoisonedToolsListBlocked,
		"PolicyDecisions":            TestPolicyDecisions,
		"ApprovalsThroughAPI":        TestApprovalsThroughAPI,
		"ApprovalTimeout":            TestApprovalTimeout,
		"LockfileQuarantine":         TestLockfileQuarantineAndApprove,
		"LockfileUnpinnedUpstream":   TestLockfileUnpinnedUpstream,
		"Signatures":                 TestSignatures,
	} {
		t.Run(name, fn)
	}
	if fastCallsSeen.Load() == 0 {
		t.Fatal("no call took the fast path")
	}
	t.Logf("%d calls served on the fast path", fastCallsSeen.Load())
}
