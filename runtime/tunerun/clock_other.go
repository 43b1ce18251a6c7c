//go:build !linux

package tunerun

// threadCPU reports that there is no per-thread CPU clock here: timings
// are wall time.
func threadCPU() (int64, bool) { return 0, false }

// cpuClocks would read the CPU time of the process's threads; here there
// are none, and no call counts as disturbed.
type cpuClocks struct{}

func processClocks() *cpuClocks         { return nil }
func (c *cpuClocks) sum() (int64, bool) { return 0, false }
