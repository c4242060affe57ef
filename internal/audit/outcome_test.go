package audit

import (
	"errors"
	"strings"
	"testing"
)

func TestRecordOutcome(t *testing.T) {
	var got []Event
	write := func(ev Event) error { got = append(got, ev); return nil }
	failing := func(Event) error { return errors.New("disk full") }
	callErr := errors.New("nft failed")

	if err := RecordOutcome(write, Event{Kind: "x", Decision: "allow"}, nil); err != nil || got[0].Decision != "allow" {
		t.Errorf("success: %v %+v", err, got)
	}
	if err := RecordOutcome(write, Event{Kind: "x", Decision: "allow"}, callErr); err != callErr || got[1].Decision != "error" || got[1].Reason != "nft failed" {
		t.Errorf("failure: %v %+v", err, got[1])
	}
	if err := RecordOutcome(write, Event{Kind: "x", Decision: "deny"}, callErr); err != callErr || got[2].Decision != "deny" {
		t.Errorf("a denial stays a denial: %+v", got[2])
	}
	if err := RecordOutcome(failing, Event{Kind: "x"}, nil); err == nil || !strings.Contains(err.Error(), "succeeded but writing its audit record failed") {
		t.Errorf("unrecorded success: %v", err)
	}
	if err := RecordOutcome(failing, Event{Kind: "x"}, callErr); !errors.Is(err, callErr) || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("unrecorded failure: %v", err)
	}
	if err := RecordOutcome(nil, Event{}, callErr); err != callErr {
		t.Errorf("no audit log: %v", err)
	}
}
