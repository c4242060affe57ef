package sigma

import "os"

// MCPSOC_SIGMA_NOVETO=1 builds engines without veto literals, so whole
// benchmark runs of one binary can be compared with and without them
// (process against process, each engine alone in its caches).
func init() {
	if os.Getenv("MCPSOC_SIGMA_NOVETO") != "" {
		useVeto = false
	}
}
