//go:build !unix

package scan

import "os/exec"

// ownProcessGroup is a no-op where process groups do not exist; the
// default cancellation kills the server process itself.
func ownProcessGroup(*exec.Cmd) {}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
