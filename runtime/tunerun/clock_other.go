//go:build !linux

package tunerun

// threadCPU reports that there is no per-thread CPU clock here: timings
// are wall time.
func threadCPU() (int64, bool) { return 0, false }

// runWaits would read the run-queue waits of the process's threads; here
// there are none, and no call counts as disturbed.
type runWaits struct{}

func processWaits(bool) *runWaits      { return nil }
func (w *runWaits) sum() (int64, bool) { return 0, false }
