package gateway

import (
	"errors"
	"net/http"
	"strings"
)

// quarantineHandler serves the tools held back by pinning and signature
// checks, for approvers: GET /quarantine lists them with what changed, and
// POST /quarantine/{upstream.tool}/approve accepts the definition as now
// seen (written to the lockfile or pin file; the tool is offered again and
// clients are told the list changed).
func (g *Gateway) quarantineHandler() http.Handler {
	return g.forApprovers(func(w http.ResponseWriter, r *http.Request, p *Principal) {
		rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/quarantine"), "/")
		switch {
		case r.Method == http.MethodGet && rest == "":
			g.tools(true)
			httpJSON(w, http.StatusOK, map[string]any{"quarantined": g.guard.quarantined()})
		case r.Method == http.MethodPost && strings.HasSuffix(rest, "/approve"):
			name := strings.TrimSuffix(rest, "/approve")
			q, err := g.guard.approveTool(name, p.Subject)
			switch {
			case errors.Is(err, ErrNotQuarantined):
				httpJSON(w, http.StatusNotFound, map[string]string{"error": name + ": " + err.Error()})
			case errors.Is(err, ErrNotApprovable):
				httpJSON(w, http.StatusConflict, map[string]string{"error": name + ": " + err.Error()})
			case err != nil:
				g.log.Error("approving a quarantined tool", "tool", name, "error", err)
				httpJSON(w, http.StatusInternalServerError, map[string]string{"error": "could not record the approval"})
			default:
				g.refreshIndex()
				httpJSON(w, http.StatusOK, map[string]any{"approved": q.Name, "sha256": q.Seen})
			}
		default:
			httpJSON(w, http.StatusNotFound, map[string]string{"error": "want GET /quarantine or POST /quarantine/{upstream.tool}/approve"})
		}
	})
}

// refreshIndex rebuilds the catalog index now (after an approval).
func (g *Gateway) refreshIndex() {
	g.indexMu.Lock()
	g.indexBuilt.Store(0)
	g.indexMu.Unlock()
	g.tools(true)
}
