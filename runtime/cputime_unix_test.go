//go:build unix

package runtime

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used (all threads): on a
// shared machine, FLOPs per CPU second say more about a kernel than FLOPs
// per wall second.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
