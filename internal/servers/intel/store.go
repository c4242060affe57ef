package intel

import (
	"context"
	"time"

	intelstore "github.com/mcpsoc/mcpsoc/internal/intel"
)

// FromStore adapts the intel store (package internal/intel) to Indicators.
//
// The store's own Lookup already widens a value to parent domains, a URL's
// host and an email's domain; the server does that widening itself (and
// labels each relation), so only the store's exact and containing-CIDR
// matches are passed on, which is the contract Indicators documents.
func FromStore(s *intelstore.Store) Indicators {
	if s == nil {
		return nil
	}
	return storeIndicators{s}
}

type storeIndicators struct{ s *intelstore.Store }

func (a storeIndicators) Lookup(ctx context.Context, value string) ([]Record, error) {
	found, err := a.s.Lookup(ctx, value)
	if err != nil {
		return nil, err
	}
	var out []Record
	for i := range found {
		in := &found[i]
		if in.MatchedBy != "" && in.MatchedBy != "exact" && in.MatchedBy != "cidr" {
			continue
		}
		r := Record{Type: string(in.Type), Value: in.Value, ValidUntil: timePtr(in.ValidUntil)}
		for _, p := range in.Sources {
			src := Source{
				Name:        p.Source,
				FirstSeen:   timePtr(p.FirstSeen),
				LastSeen:    timePtr(p.LastSeen),
				Confidence:  p.Confidence,
				Labels:      p.Labels,
				Description: p.Description,
				Reference:   p.Ref,
			}
			for _, k := range p.KillChain {
				src.KillChainPhases = append(src.KillChainPhases, KillChainPhase{KillChainName: k.KillChainName, PhaseName: k.PhaseName})
			}
			r.Sources = append(r.Sources, src)
		}
		seen := map[string]bool{}
		for _, rel := range in.Related {
			if rel.Value != in.Value && !seen[rel.Value] {
				seen[rel.Value] = true
				r.Related = append(r.Related, rel.Value)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
