package tunerun

import (
	goruntime "runtime"
	"testing"
)

// TestCPUClocksCountOtherThreads checks that the process's summed thread
// clocks count the CPU time of a thread other than the caller's, which
// is how a timed call sees its helpers' time.
func TestCPUClocksCountOtherThreads(t *testing.T) {
	ready, done := make(chan struct{}), make(chan int64)
	release := make(chan struct{})
	go func() {
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		ready <- struct{}{}
		<-release
		start, ok := threadCPU()
		if !ok {
			done <- -1
			return
		}
		x := 1.0
		for {
			for i := 0; i < 1<<16; i++ {
				x = x*1.0000001 + 1e-9
			}
			if now, _ := threadCPU(); now-start >= 20e6 || x < 0 {
				done <- now - start
				<-release
				return
			}
		}
	}()
	<-ready
	clocks := processClocks() // the spinning thread exists by now
	before, ok := clocks.sum()
	if !ok {
		t.Fatal("no thread clocks on linux")
	}
	release <- struct{}{}
	spun := <-done
	after, _ := clocks.sum()
	release <- struct{}{}
	if spun < 0 {
		t.Fatal("no thread CPU clock")
	}
	if after-before < spun {
		t.Errorf("the thread clocks grew by %d ns while another thread ran %d ns", after-before, spun)
	}
}
