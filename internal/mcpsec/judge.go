package mcpsec

import (
	"context"
	"fmt"
)

// Judge is an optional second opinion from a language model. The analyzer
// asks it only about texts whose deterministic signals are borderline (some
// signals, no finding), so most texts never leave the deterministic path. A
// nil Judge (the default) means nothing leaves the machine.
//
// The analyzer sends one server's candidates in one call; an implementation
// may split them into several requests. It returns one verdict per request,
// in order. Implementations must be safe for concurrent use; on context
// cancellation Judge returns ctx.Err().
type Judge interface {
	Judge(ctx context.Context, reqs []JudgeRequest) ([]JudgeVerdict, error)
}

// JudgeRequest is one text for the judge to classify.
type JudgeRequest struct {
	Location Location
	// Text is the raw text (already checked for hidden characters).
	Text string
	// Signals names the weak signals the deterministic analysis saw.
	Signals []string
}

// JudgeVerdict is the judge's answer about one text.
type JudgeVerdict struct {
	// Malicious is true when the text instructs the model to do something
	// the user did not ask for.
	Malicious bool
	// Confidence is the judge's confidence in Malicious, 0 to 1.
	Confidence float64
	// Category is the judge's attack class (exfiltration, tampering…), free
	// text; informational.
	Category string
	// Reason is a short explanation shown as the finding's evidence.
	Reason string
}

// JudgeError reports that the judge could not give verdicts; the
// deterministic findings are complete without them.
type JudgeError struct {
	Server string
	Err    error
}

func (e *JudgeError) Error() string { return fmt.Sprintf("judge (server %s): %v", e.Server, e.Err) }
func (e *JudgeError) Unwrap() error { return e.Err }

// judgeCandidate is an object the deterministic pass found borderline.
type judgeCandidate struct {
	req  JudgeRequest
	mask uint64
}

// corroborated reports deterministic signals that back a judge's verdict: a
// directive aimed at the model and an object outside ordinary tool business
// in the same object. Only then, and with high confidence, is a judge
// verdict hard; otherwise it stays a review finding.
func corroborated(mask uint64, v JudgeVerdict) bool {
	const directive = 1<<sigAI | 1<<sigImperative | 1<<sigTrigger | 1<<sigCoerce | 1<<sigPersist | 1<<sigSecrecy
	return v.Confidence >= 0.9 && mask&directive != 0 && mask&valueObject != 0
}

// runJudge asks the judge about a server's candidates and appends findings.
func (a *Analyzer) runJudge(ctx context.Context, ss *serverScan, cands []judgeCandidate) error {
	if len(cands) == 0 || a.opts.Judge == nil {
		return nil
	}
	reqs := make([]JudgeRequest, len(cands))
	for i, c := range cands {
		reqs[i] = c.req
	}
	vs, err := a.opts.Judge.Judge(ctx, reqs)
	if err != nil {
		return &JudgeError{Server: ss.name, Err: err}
	}
	if len(vs) != len(reqs) {
		return &JudgeError{Server: ss.name, Err: fmt.Errorf("%d verdicts for %d texts", len(vs), len(reqs))}
	}
	for i, v := range vs {
		if !v.Malicious {
			continue
		}
		f := newFinding(RuleJudge, cands[i].req.Location, clip(redact(v.Reason), 160), cands[i].req.Signals)
		if corroborated(cands[i].mask, v) {
			f.Tier = TierHard
		}
		ss.findings = append(ss.findings, f)
	}
	return nil
}
