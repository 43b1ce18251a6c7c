// Package subprocess starts the child processes of tsmc (the go command,
// generated programs, node for onnxruntime) so that a cancelled context
// stops them the way Ctrl-C would.
package subprocess

import (
	"context"
	"os/exec"
	"time"
)

// WaitDelay is how long a child may take to exit once interrupted before
// it is killed.
const WaitDelay = 10 * time.Second

// Command is exec.CommandContext with a gentler stop: when ctx is done the
// child and the processes it started are interrupted, as Ctrl-C in a
// terminal interrupts them all (on Unix the child leads a process group of
// its own, which is signalled), and the child is killed only if it has not
// exited WaitDelay later. Without Unix signals it is killed at once.
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	interruptGroup(cmd)
	cmd.WaitDelay = WaitDelay
	return cmd
}
