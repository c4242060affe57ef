package detect

import "github.com/mcpsoc/mcpsoc/internal/detect/correlate"

// Snapshot returns the correlation windows, for saving across a restart.
// Dedup windows and the evidence kept for correlation alerts are not part
// of it: after a restart a correlation alert lists only the events seen
// since, and a repeat inside the dedup window may be raised again.
func (e *Engine) Snapshot() correlate.Snapshot {
	if e.corr == nil {
		return correlate.Snapshot{}
	}
	return e.corr.Snapshot()
}

// Restore loads correlation windows saved by Snapshot, before the engine
// processes events, and returns how many groups it restored.
func (e *Engine) Restore(s correlate.Snapshot) int {
	if e.corr == nil {
		return 0
	}
	return e.corr.Restore(s)
}
