//go:build unix

package subprocess

import (
	"os/exec"
	"syscall"
)

// interruptGroup makes cmd lead a process group and its Cancel interrupt
// that group.
func interruptGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
}
