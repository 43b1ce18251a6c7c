//go:build !unix

package subprocess

import "os/exec"

// interruptGroup leaves cmd's Cancel killing it: there is no interrupt to
// send.
func interruptGroup(*exec.Cmd) {}
