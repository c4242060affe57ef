package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func approvalYAML(t *testing.T, timeout string) string {
	return strings.Replace(strings.Replace(authGatewayYAML(t, ""), `    - name: admins-destroy`, `    - name: analysts-delete-with-approval
      roles: [analyst]
      tools: [delete_file]
      effect: allow
      allow_destructive: true
      require_approval: true
    - name: admins-destroy`, 1), "limits:", "approvals: {timeout: "+timeout+", roles: [admin], subjects: [alice]}\nlimits:", 1)
}

// approvalsAPI calls the approvals endpoint with an API key.
func approvalsAPI(t *testing.T, method, url, key string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func waitPending(t *testing.T, base string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_, body := approvalsAPI(t, http.MethodGet, base+"/approvals", bobKey)
		var got struct{ Approvals []Approval }
		json.Unmarshal([]byte(body), &got)
		if len(got.Approvals) == 1 {
			a := got.Approvals[0]
			if a.Requester != "alice" || a.Tool != "delete_file" || !strings.Contains(string(a.Args), "/tmp/x") {
				t.Fatalf("pending approval %+v", a)
			}
			return a.ID
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no pending approval")
	return ""
}

func TestApprovalsThroughAPI(t *testing.T) {
	_, srv, auditPath := newTestGateway(t, approvalYAML(t, "2s"), nil)
	alice, err := connect(t, srv.URL+"/mcp", map[string]string{"X-API-Key": aliceKey})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	call := func() chan *mcp.CallToolResult {
		ch := make(chan *mcp.CallToolResult, 1)
		go func() {
			res, err := alice.CallTool(context.Background(), &mcp.CallToolParams{Name: "fix.delete_file", Arguments: map[string]any{"path": "/tmp/x"}})
			if err != nil {
				t.Error(err)
			}
			ch <- res
		}()
		return ch
	}
	if code, _ := approvalsAPI(t, http.MethodGet, srv.URL+"/approvals", ""); code != 401 {
		t.Errorf("unauthenticated approvals list: %d", code)
	}

	// Self-approval is refused; another approver's approval lets it run.
	done := call()
	id := waitPending(t, srv.URL)
	if code, body := approvalsAPI(t, http.MethodPost, srv.URL+"/approvals/"+id+"/approve", aliceKey); code != 403 || !strings.Contains(body, "approver must differ from the requester") {
		t.Errorf("self-approval: %d %s", code, body)
	}
	if code, body := approvalsAPI(t, http.MethodPost, srv.URL+"/approvals/"+id+"/approve", bobKey); code != 200 {
		t.Errorf("approve: %d %s", code, body)
	}
	if res := <-done; res == nil || res.IsError || resultText(res) != "deleted /tmp/x" {
		t.Fatalf("approved call: %+v", res)
	}
	// Single use: the id is gone.
	if code, _ := approvalsAPI(t, http.MethodPost, srv.URL+"/approvals/"+id+"/approve", bobKey); code != 404 {
		t.Errorf("reused approval: %d", code)
	}

	// Denied by an approver.
	done = call()
	id = waitPending(t, srv.URL)
	approvalsAPI(t, http.MethodPost, srv.URL+"/approvals/"+id+"/deny", bobKey)
	if res := <-done; res == nil || !res.IsError || resultText(res) != "call of fix.delete_file not approved: denied by approver bob" {
		t.Fatalf("denied call: %+v", res)
	}

	var events []string
	for _, r := range auditRecords(t, auditPath) {
		if r.Kind == "gateway.approval" {
			events = append(events, r.Decision)
		}
	}
	if got := strings.Join(events, ","); got != "proposed,deny,approved,proposed,deny" {
		t.Errorf("approval events %s", got)
	}
}

func TestApprovalTimeout(t *testing.T) {
	_, srv, _ := newTestGateway(t, approvalYAML(t, "300ms"), nil)
	alice, err := connect(t, srv.URL+"/mcp", map[string]string{"X-API-Key": aliceKey})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	start := time.Now()
	res, err := alice.CallTool(context.Background(), &mcp.CallToolParams{Name: "fix.delete_file", Arguments: map[string]any{"path": "/tmp/x"}})
	if err != nil || !res.IsError || resultText(res) != "call of fix.delete_file not approved: approval timed out" || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("%v %+v after %v", err, res, time.Since(start))
	}
}

func TestApprovalByElicitation(t *testing.T) {
	_, srv, _ := newTestGateway(t, approvalYAML(t, "5s"), nil)
	for _, tc := range []struct {
		name   string
		answer *mcp.ElicitResult
		want   string
		isErr  bool
	}{
		{"accepted", &mcp.ElicitResult{Action: "accept", Content: map[string]any{"approve": true}}, "deleted /tmp/x", false},
		{"accepted but unticked", &mcp.ElicitResult{Action: "accept", Content: map[string]any{"approve": false}}, "call of fix.delete_file not approved: the user declined the call", true},
		{"declined", &mcp.ElicitResult{Action: "decline"}, "call of fix.delete_file not approved: the user declined the call", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked string
			c := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "1"}, &mcp.ClientOptions{
				ElicitationHandler: func(_ context.Context, r *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
					asked = r.Params.Message
					return tc.answer, nil
				},
			})
			cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.URL + "/mcp",
				HTTPClient: &http.Client{Transport: headerRT{h: map[string]string{"X-API-Key": aliceKey}}}},
				&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}) // sessions: elicitation during a call
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "fix.delete_file", Arguments: map[string]any{"path": "/tmp/x"}})
			if err != nil || res.IsError != tc.isErr || resultText(res) != tc.want {
				t.Fatalf("got %v %q, want %q", err, resultText(res), tc.want)
			}
			if asked != `The assistant wants to run "delete_file" on "fix" with arguments {"path":"/tmp/x"}. Approve this call?` {
				t.Errorf("asked %q", asked)
			}
		})
	}
}
