package mcpsec

import "context"

// Judge is an optional second opinion from a language model. The analyzer
// calls it only for texts whose deterministic signals are borderline (some
// signals, no finding), so most texts never leave the deterministic path. A
// nil Judge (the default) means nothing leaves the machine.
//
// Implementations must be safe for concurrent use; Judge is called
// sequentially by one Analyze call but several Analyze calls may run at once.
// On context cancellation Judge returns ctx.Err().
type Judge interface {
	Judge(ctx context.Context, req JudgeRequest) (JudgeVerdict, error)
}

// JudgeRequest is one text for the judge to classify.
type JudgeRequest struct {
	Location Location
	// Text is the raw text (already checked for hidden characters).
	Text string
	// Signals names the weak signals the deterministic analysis saw.
	Signals []string
}

// JudgeVerdict is the judge's answer.
type JudgeVerdict struct {
	// Malicious is true when the text instructs the model to do something
	// the user did not ask for.
	Malicious bool
	// Reason is a short explanation shown as the finding's evidence.
	Reason string
}
