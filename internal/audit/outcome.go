package audit

import "fmt"

// RecordOutcome writes ev for a state-changing call whose result is
// callErr and returns the error the caller should report: callErr, or the
// failure to write the record. A call that succeeded without its record
// is reported as failed, since the action happened unrecorded. A callErr
// marks the record "error" unless ev already says why it was denied.
func RecordOutcome(write func(Event) error, ev Event, callErr error) error {
	if write == nil {
		return callErr
	}
	if callErr != nil {
		if ev.Decision == "" || ev.Decision == "allow" {
			ev.Decision = "error"
		}
		ev.Reason = callErr.Error()
	}
	if err := write(ev); err != nil {
		if callErr != nil {
			return fmt.Errorf("%w (and writing the audit record failed: %v)", callErr, err)
		}
		return fmt.Errorf("the action succeeded but writing its audit record failed: %w", err)
	}
	return callErr
}
