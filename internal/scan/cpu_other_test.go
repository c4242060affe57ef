//go:build !unix

package scan

import "time"

func childrenCPU() (time.Duration, bool) { return 0, false }

func selfCPU() time.Duration { return 0 }
