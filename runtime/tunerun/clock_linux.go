package tunerun

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time of the calling OS thread in
// nanoseconds, and whether the system has such a clock.
func threadCPU() (int64, bool) { return clock(unix.CLOCK_THREAD_CPUTIME_ID) }

func clock(id int32) (int64, bool) {
	var ts unix.Timespec
	if unix.ClockGettime(id, &ts) != nil {
		return 0, false
	}
	return ts.Nano(), true
}

// cpuClocks reads the CPU time of the threads of the process: each
// thread's own clock, which the kernel brings up to date for a thread
// running on another CPU when read (the process clock lags by up to a
// scheduler tick for those, or by their whole run on a CPU without
// ticks).
type cpuClocks struct {
	ids []int32
}

// processClocks lists the threads of the process now.
func processClocks() *cpuClocks {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil
	}
	c := &cpuClocks{}
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) of the kernel
		c.ids = append(c.ids, int32(^tid)<<3|6)
	}
	return c
}

// sum returns the CPU time of the threads in nanoseconds (a thread that
// has exited counts nothing), and whether there are clocks to read.
func (c *cpuClocks) sum() (int64, bool) {
	if c == nil || len(c.ids) == 0 {
		return 0, false
	}
	var ns int64
	for _, id := range c.ids {
		if t, ok := clock(id); ok {
			ns += t
		}
	}
	return ns, true
}
