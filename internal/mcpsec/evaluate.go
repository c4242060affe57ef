package mcpsec

import "strings"

// weights of each signal family in the review score. Hard verdicts do not
// use the score: they need a specific structural combination.
var weights = [numSigs]float64{
	sigOverride: 5, sigSecrecy: 5, sigTag: 2, sigAI: 1.5, sigImperative: 1, sigMust: 0.5,
	sigTrigger: 1, sigCoerce: 2, sigSensitive: 1.5, sigAmbient: 0.5, sigHarvestTarget: 2,
	sigSinkVerb: 0.5, sigTarget: 0.5, sigSmuggle: 1, sigApproval: 5, sigApprovalWeak: 1.5,
	sigHijack: 3, sigOtherTools: 1, sigToolRef: 0.5, sigTamper: 5, sigTamperWeak: 2,
	sigPersist: 2.5, sigFragment: 1.5, sigShell: 2, sigReadSensitive: 2, sigSinkTo: 2,
	sigForeignRef: 1.5, sigHijackStrong: 4, sigDestructive: 2,
}

// reviewScore is the weighted score at which a text is worth a human look.
const reviewScore = 5

type verdict struct {
	hard   string // rule id of a hard verdict, or ""
	review string // rule id of a review verdict, or ""
	score  float64
}

func bit(g sig) uint32 { return 1 << g }

// derive sets the proximity-based signals of one text and drops quoted
// mentions in security-themed text. It must run before evaluate and before
// the scan is merged into an aggregate.
func derive(s *scan) {
	s.discount(sigOverride, sigSecrecy, sigTag, sigApproval, sigTamper, sigHijack, sigPersist, sigShell, sigAI, sigSensitive, sigHarvestTarget)
	for _, g := range []sig{sigSensitive, sigHarvestTarget} {
		if s.after(sigReadVerb, g, 60) || s.after(g, sigReadVerb, 12) {
			for _, sp := range s.spans[g] {
				s.set(sigReadSensitive, sp)
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
	if s.after(sigSinkVerb, sigTarget, 80) {
		s.set(sigSinkTo, s.spans[sigTarget][0])
	}
}

// evaluate turns a signal mask into a verdict.
func evaluateMask(m uint32) verdict {
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
	switch {
	case has(sigOverride):
		v.hard = RuleOverride
	case has(sigSecrecy):
		v.hard = RuleSecrecy
	case has(sigApproval):
		v.hard = RuleApprovalBait
	case has(sigTamper):
		v.hard = RuleTamper
	case has(sigHijackStrong):
		v.hard = RuleHijack
	case has(sigTagPair):
		v.hard = RuleTagDirective
	case has(sigTag) && has(sigAI, sigImperative, sigMust, sigTrigger, sigSensitive, sigHarvestTarget, sigSinkTo, sigSmuggle, sigOtherTools, sigHijack, sigCoerce, sigPersist, sigForeignRef):
		v.hard = RuleTagDirective
	case has(sigReadSensitive) && sink && directive:
		v.hard = RuleExfil
	case has(sigHarvestTarget) && sink && strongDirective:
		v.hard = RuleExfil
	case has(sigForeignRef) && has(sigTamperWeak, sigSinkTo) && directive:
		v.hard = RuleShadowRef
	case has(sigTamperWeak) && strongDirective && has(sigForeignRef, sigOtherTools, sigTrigger, sigToolRef):
		v.hard = RuleTamper
	}
	if v.hard != "" {
		return v
	}
	if has(sigHijack) && has(sigMust, sigAI, sigImperative, sigOtherTools, sigForeignRef) {
		v.review = RuleHijack
		return v
	}
	if v.score < reviewScore {
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
