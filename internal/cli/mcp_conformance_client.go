package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mcpsoc/mcpsoc/internal/config"
	"github.com/mcpsoc/mcpsoc/internal/mcpx"
	"github.com/mcpsoc/mcpsoc/internal/telemetry"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"
)

// newMCPConformanceClientCmd is the client-side entry point the official
// conformance suite runs: it appends the scenario server's URL as the last
// argument and names the scenario in MCP_CONFORMANCE_SCENARIO. Every
// scenario goes through the client manager, the same code path serve uses.
func newMCPConformanceClientCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "conformance-client URL",
		Short:  "Client entry point for the MCP conformance suite (client mode)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			scenario := os.Getenv("MCP_CONFORMANCE_SCENARIO")
			if scenario == "" {
				return &ExitError{Code: 2, Err: errors.New("MCP_CONFORMANCE_SCENARIO is not set")}
			}
			var scenarioCtx map[string]any
			if raw := os.Getenv("MCP_CONFORMANCE_CONTEXT"); raw != "" {
				if err := json.Unmarshal([]byte(raw), &scenarioCtx); err != nil {
					return fmt.Errorf("MCP_CONFORMANCE_CONTEXT: %w", err)
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
			defer cancel()
			return runConformanceScenario(ctx, scenario, args[0], scenarioCtx)
		},
	}
}

func runConformanceScenario(ctx context.Context, scenario, serverURL string, sctx map[string]any) error {
	log, _ := telemetry.NewLogger(os.Stderr, "warn", "text")
	spec := config.MCPServer{
		Name: "scenario", URL: serverURL,
		CallTimeout: 30 * time.Second, ConnectTimeout: 30 * time.Second,
		MaxConcurrency: 4, HealthInterval: time.Hour,
	}
	opts := &mcpx.ManagerOptions{Logger: log, ClientName: "mcpsoc-conformance-client", BackoffMin: time.Hour}
	var call string
	var callArgs any = map[string]any{}
	switch {
	case scenario == "initialize":
	case scenario == "tools_call":
		call, callArgs = "add_numbers", map[string]any{"a": 5, "b": 3}
	case scenario == "elicitation-sep1034-client-defaults":
		call = "test_client_elicitation_defaults"
		opts.ElicitationHandler = acceptWithDefaults
	case scenario == "sse-retry":
		call = "test_reconnection"
	case strings.HasPrefix(scenario, "auth/"):
		call = "test-tool"
		o := &config.OAuth{RedirectURL: "http://localhost:3000/callback",
			ClientMetadataURL: "https://conformance-test.local/client-metadata.json"}
		if id, ok := sctx["client_id"].(string); ok {
			o.ClientID = id
			if sec, ok := sctx["client_secret"].(string); ok {
				o.ClientSecret = config.NewSecret(sec)
			}
		}
		spec.Auth = &config.MCPAuth{OAuth: o}
		opts.OAuthCodeFetcher = followAuthorizationRedirect
	default:
		return fmt.Errorf("unsupported scenario %q", scenario)
	}
	m := mcpx.NewManager([]config.MCPServer{spec}, opts)
	m.Start(ctx)
	defer m.Close()
	if err := m.WaitReady(ctx); err != nil {
		return err
	}
	st, _ := m.Server("scenario")
	if st.State != mcpx.StateUp {
		return fmt.Errorf("connecting: %s", st.LastError)
	}
	if call == "" {
		return nil
	}
	res, err := m.CallTool(ctx, "scenario."+call, callArgs, nil)
	if err != nil {
		return err
	}
	if res.IsError {
		return fmt.Errorf("tool %s returned an error result", call)
	}
	return nil
}

// acceptWithDefaults accepts an elicitation, answering every field that has
// a default with that default (SEP-1034).
func acceptWithDefaults(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
	content := map[string]any{}
	raw, _ := json.Marshal(req.Params.RequestedSchema)
	var schema struct {
		Properties map[string]struct {
			Default any `json:"default"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &schema); err == nil {
		for name, p := range schema.Properties {
			if p.Default != nil {
				content[name] = p.Default
			}
		}
	}
	return &mcp.ElicitResult{Action: "accept", Content: content}, nil
}

// followAuthorizationRedirect completes the conformance suite's
// authorization server, which approves at once: it reads the code from the
// redirect instead of waiting for a browser.
func followAuthorizationRedirect(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args.URL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.String() == "" {
		return nil, fmt.Errorf("authorization endpoint answered %s without a redirect", resp.Status)
	}
	q := loc.Query()
	return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
}
