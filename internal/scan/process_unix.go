//go:build unix

package scan

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup starts a scanned server in its own process group and
// makes cancellation kill the whole group, so a launcher's children
// (npx → node, uvx → python) do not outlive a timed-out scan.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		killGroup(cmd)
		return nil
	}
}

// killGroup sends SIGKILL to what is left of the server's process group.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
