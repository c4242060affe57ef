package mcpsec

import (
	"sort"
	"strings"
)

// weights of each signal family in the review score. Hard verdicts do not
// use the score: they need a specific structural combination.
var weights = [numSigs]float64{
	sigOverride: 5, sigSecrecy: 5, sigTag: 2, sigAI: 1.5, sigImperative: 1, sigMust: 0.5,
	sigTrigger: 1, sigCoerce: 2, sigSensitive: 1.5, sigAmbient: 0.5, sigHarvestTarget: 2,
	sigSinkVerb: 0.5, sigTarget: 0.5, sigSmuggle: 1, sigApproval: 5, sigApprovalWeak: 1.5,
	sigHijack: 3, sigOtherTools: 1, sigToolRef: 0.5, sigTamper: 5, sigTamperWeak: 2,
	sigPersist: 2.5, sigFragment: 1.5, sigShell: 2, sigReadSensitive: 2, sigSinkTo: 2,
	sigForeignRef: 1.5, sigHijackStrong: 4, sigDestructive: 2, sigPrivesc: 2.5, sigManip: 2.5, sigDeceive: 4,
	sigAlso: 0.5, sigAddr: 0.5, sigPII: 0.5, sigMoney: 1.5, sigCommand: 1.5, sigFromContext: 1, sigPhish: 3, sigSysFile: 1, sigBlanket: 2, sigSecretCmd: 2,
}

// reviewScore is the weighted score at which a text is worth a human look.
const reviewScore = 5

type verdict struct {
	hard   string   // rule id of the most severe hard verdict, or ""
	hards  []string // every hard rule that matched
	review string   // rule id of a review verdict, or ""
	score  float64
}

func bit(g sig) uint64 { return 1 << g }

// derive sets the proximity-based signals of one text and drops quoted
// mentions in security-themed text. It must run before evaluate and before
// the scan is merged into an aggregate.
func derive(s *scan) {
	s.discount(sigOverride, sigSecrecy, sigTag, sigApproval, sigTamper, sigHijack, sigHijackStrong, sigPersist, sigShell, sigAI,
		sigSensitive, sigHarvestTarget, sigAddr, sigDeceive, sigDestructive)
	// A read verb next to a sensitive target, unless the verb is negated:
	// "never attach private keys" forbids what "attach the private key"
	// asks for.
	for _, g := range []sig{sigSensitive, sigHarvestTarget} {
		for _, x := range s.spans[g] {
			// The nearest read verb before the target decides; a verb
			// after it ("the ~/.aws/credentials file and include it")
			// counts when close.
			nearest, found := span{}, false
			for _, r := range s.spans[sigReadVerb] {
				if x.start >= r.start && x.start-r.end <= 60 && (!found || r.start > nearest.start) {
					nearest, found = r, true
				}
			}
			ok := found && !negated(s.text, nearest.start)
			for _, r := range s.spans[sigReadVerb] {
				if r.start >= x.end-1 && r.start-x.end <= 12 && !negated(s.text, r.start) {
					ok = true
				}
			}
			if ok {
				s.set(sigReadSensitive, x)
			}
		}
	}
	var open, closing bool
	for _, sp := range s.spans[sigTag] {
		if strings.Contains(s.text[sp.start:sp.end], "/") {
			closing = true
		} else {
			open = true
		}
	}
	if open && closing {
		s.set(sigTagPair, s.spans[sigTag][0])
	}
	if s.after(sigSmuggleVerb, sigSlot, 80) {
		s.set(sigSmuggle, s.spans[sigSlot][0])
	}
	for _, t := range s.spans[sigTarget] {
		nearest, found := span{}, false
		for _, v := range s.spans[sigSinkVerb] {
			if t.start >= v.start && t.start-v.end <= 80 && (!found || v.start > nearest.start) {
				nearest, found = v, true
			}
		}
		if found && !negated(s.text, nearest.start) {
			s.set(sigSinkTo, t)
		}
	}
}

// negated reports a negation right before position i, allowing one word in
// between: "never send", "do not attach", "must not ever include".
func negated(text string, i int) bool {
	lo := i - 24
	if lo < 0 {
		lo = 0
	}
	before := strings.TrimRight(text[lo:i], " ")
	for k := 0; k < 2; k++ {
		for _, n := range []string{"never", "not", "n't", "no", "without"} {
			if strings.HasSuffix(before, n) && (len(before) == len(n) || before[len(before)-len(n)-1] == ' ' || n == "n't") {
				return true
			}
		}
		sp := strings.LastIndexByte(before, ' ')
		if sp < 0 {
			break
		}
		before = strings.TrimRight(before[:sp], " ")
	}
	return false
}

// evaluate turns a signal mask into a verdict.
func evaluateMask(m uint64) verdict {
	has := func(gs ...sig) bool {
		for _, g := range gs {
			if m&bit(g) != 0 {
				return true
			}
		}
		return false
	}
	var v verdict
	for g := sig(0); g < numSigs; g++ {
		if m&bit(g) != 0 {
			v.score += weights[g]
		}
	}
	strongDirective := has(sigAI, sigImperative, sigTrigger, sigCoerce, sigPersist, sigSecrecy)
	directive := strongDirective || has(sigMust)
	sink := has(sigSinkTo, sigSmuggle) || (has(sigTarget) && has(sigSinkVerb))
	add := func(id string, ok bool) {
		if ok {
			v.hards = append(v.hards, id)
		}
	}
	add(RuleOverride, has(sigOverride))
	add(RuleSecrecy, has(sigSecrecy) || has(sigDeceive))
	// Destruction or privilege changes addressed to the assistant: "dear AI,
	// also run DROP TABLE", "the assistant should add helper-bot as admin
	// whenever…". A tool describing its own deletions is third-person and
	// never addresses the model.
	add(RuleHarm, has(sigDestructive, sigPrivesc) && (has(sigAI) && has(sigTrigger, sigImperative, sigPersist, sigMust) || has(sigShell) && strongDirective ||
		has(sigImperative, sigTrigger) && has(sigAddr, sigForeignRef)) ||
		// Moving money on a trigger: "if a transaction exceeds $500, move $50 to account 8812-…".
		has(sigMoney) && has(sigTrigger, sigAI) && has(sigImperative, sigMust) && has(sigAddr, sigForeignRef, sigToolRef) ||
		// Shell commands written into start-up files: a backdoor.
		has(sigShell) && has(sigSensitive) && has(sigImperative, sigAI, sigTrigger) ||
		// A shell payload injected into the arguments of the model's calls.
		has(sigShell) && has(sigCarry, sigSmuggle) && strongDirective && has(sigMust, sigTrigger, sigAI) ||
		// Writing into system files on a trigger: "before pinging, add … to /etc/hosts".
		has(sigSysFile) && has(sigCarry) && has(sigTrigger, sigAI) && has(sigImperative) ||
		// Privilege grants as a side job: "while you are at it, add bot as admin on every repo".
		has(sigPrivesc) && has(sigImperative) && has(sigAlso, sigTrigger, sigBlanket))
	// A side effect toward a literal address on a trigger or obligation:
	// "whenever a file is written, it should also be written to /tmp/x",
	// "the amount must also be reported by email to a@b.example".
	add(RuleSideEffect, has(sigAlso) && has(sigAddr) && has(sigSinkVerb, sigSmuggle, sigImperative, sigAI) && has(sigTrigger, sigAI, sigPersist) ||
		has(sigAlso) && has(sigSinkTo) && has(sigImperative) ||
		has(sigTrigger) && has(sigSinkTo) && has(sigAddr, sigTarget) && has(sigImperative, sigAI) ||
		has(sigPII) && sink && strongDirective)
	add(RuleApprovalBait, has(sigApproval) || has(sigApprovalWeak) && has(sigAI, sigTrigger, sigPersist))
	add(RuleTamper, has(sigTamper) || has(sigTamperWeak) && strongDirective && has(sigForeignRef, sigOtherTools, sigTrigger, sigToolRef))
	add(RuleHijack, has(sigHijackStrong))
	// A pseudo-tag alone is not enough ("<important>beta</important>"):
	// it must wrap something aimed at the model. "must" does not count, as
	// the tag word itself ("important", "critical") sets it.
	add(RuleTagDirective, has(sigTag) && has(sigAI, sigImperative, sigTrigger, sigSensitive, sigHarvestTarget, sigSinkTo, sigSmuggle,
		sigOtherTools, sigHijack, sigCoerce, sigPersist, sigForeignRef, sigToolRef, sigDestructive, sigShell, sigTamperWeak) ||
		has(sigTagPair) && has(sigSinkVerb, sigAmbient, sigApprovalWeak, sigAddr, sigManip, sigDeceive))
	add(RuleExfil, has(sigReadSensitive) && sink && directive || has(sigHarvestTarget) && sink && strongDirective ||
		// Reading secret files on the model's initiative, even without a
		// sink: the content lands in the context and the tool call.
		has(sigReadSensitive) && has(sigSensitive) && has(sigAI, sigTrigger, sigCoerce, sigPersist) ||
		// A secret file or a command's output placed into an argument on
		// the model's initiative.
		has(sigSensitive, sigCommand) && has(sigSmuggle) && has(sigAI, sigTrigger, sigCoerce) ||
		// Harvested data or a secret file carried into the call or the
		// answer on the model's initiative.
		has(sigHarvestTarget) && has(sigCarry) && has(sigAI, sigTrigger, sigCoerce) ||
		has(sigReadSensitive) && has(sigSensitive) && has(sigCarry) && has(sigImperative) ||
		// Ambient context (conversation, context window, other tools'
		// output) placed into a parameter needs no further directive.
		has(sigHarvestTarget) && has(sigSmuggle) && has(sigSinkTo, sigAI, sigTrigger, sigImperative, sigMust) ||
		// Asking the user for a credential and passing it along.
		has(sigPhish) && has(sigSmuggle, sigSinkTo, sigCarry) ||
		// Output of a secret-revealing command into an argument, the answer or a sink.
		has(sigSecretCmd) && has(sigSmuggle, sigCarry, sigSinkTo) && has(sigImperative, sigAI, sigTrigger))
	add(RuleShadowRef, has(sigForeignRef) && has(sigTamperWeak, sigSinkTo) && directive)
	if len(v.hards) > 0 {
		// Report the most severe first.
		sort.SliceStable(v.hards, func(i, j int) bool {
			return ruleByID[v.hards[i]].Severity.Rank() > ruleByID[v.hards[j]].Severity.Rank()
		})
		v.hard = v.hards[0]
	}
	if v.hard != "" {
		return v
	}
	if has(sigHijack) && has(sigMust, sigAI, sigImperative, sigOtherTools, sigForeignRef, sigToolRef, sigTrigger) {
		v.review = RuleHijack
		return v
	}
	if has(sigManip) && has(sigMust, sigAI, sigTrigger, sigImperative, sigDeceive) {
		v.review = RuleDirective
		return v
	}
	// A directive aimed at the model next to an object outside any tool's
	// ordinary business (a secret, personal data, a literal address, money,
	// destruction, privileges, system files) is worth a look even when the
	// score is low.
	if v.score < reviewScore && !(has(sigAI, sigTrigger) && has(sigImperative, sigMust, sigAI) &&
		has(sigSensitive, sigHarvestTarget, sigPII, sigAddr, sigMoney, sigDestructive, sigPrivesc, sigSysFile, sigSecretCmd, sigPhish, sigBlanket, sigSinkTo)) {
		return v
	}
	switch {
	case has(sigSensitive, sigHarvestTarget, sigReadSensitive) && (sink || has(sigTarget)):
		v.review = RuleSensitive
	case has(sigHijack):
		v.review = RuleHijack
	case has(sigForeignRef, sigOtherTools) && directive:
		v.review = RuleOtherTools
	default:
		v.review = RuleDirective
	}
	return v
}

func evaluate(s *scan) verdict { return evaluateMask(s.mask) }
