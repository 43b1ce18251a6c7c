//go:build !linux

package tunerun

// threadCPU reports that there is no per-thread CPU clock here: timings
// are wall time.
func threadCPU() (int64, bool) { return 0, false }
