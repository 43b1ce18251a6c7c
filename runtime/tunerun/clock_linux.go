package tunerun

import "golang.org/x/sys/unix"

// threadCPU returns the CPU time of the calling OS thread in
// nanoseconds, and whether the system has such a clock.
func threadCPU() (int64, bool) {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0, false
	}
	return ts.Nano(), true
}
