package tunerun

import (
	goruntime "runtime"
	"sync"
	"testing"
	"time"
)

// spin keeps the calling goroutine's thread busy for about d of its own
// CPU time.
func spin(d time.Duration) {
	start, _ := threadCPU()
	x := 1.0
	for {
		for range 1 << 14 {
			x = x*1.0000001 + 1e-9
		}
		if now, _ := threadCPU(); time.Duration(now-start) >= d || x < 0 {
			return
		}
	}
}

// TestRunWaitsSeeContention runs one more spinning thread than there are
// CPUs: some of them must wait on a run queue, and the process's summed
// waits must grow. This is how a timed call sees another process on its
// workers' CPUs.
func TestRunWaitsSeeContention(t *testing.T) {
	n := goruntime.NumCPU() + 1
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(n)) // a P for every spinning thread
	var ready, done sync.WaitGroup
	release := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for range n {
		go func() {
			goruntime.LockOSThread()
			defer goruntime.UnlockOSThread()
			ready.Done()
			<-release
			spin(50 * time.Millisecond)
			done.Done()
		}()
	}
	ready.Wait()
	waits := processWaits(false) // the spinning threads exist by now
	before, ok := waits.sum()
	if !ok {
		t.Skip("no /proc schedstat here")
	}
	close(release)
	done.Wait()
	after, _ := waits.sum()
	if after <= before {
		t.Errorf("%d threads spun on %d CPUs and the run-queue waits did not grow (%d ns, then %d ns)", n, n-1, before, after)
	}
}

// TestRunWaitsIgnoreParkedThreads parks a thread (blocked on a channel,
// as an idle pool worker parks) while the caller sleeps: a parked thread
// is not waiting for a CPU, so the waits must grow by far less than the
// time it was parked.
func TestRunWaitsIgnoreParkedThreads(t *testing.T) {
	ready, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		ready <- struct{}{}
		<-release
		close(done)
	}()
	<-ready
	waits := processWaits(false)
	before, ok := waits.sum()
	if !ok {
		t.Skip("no /proc schedstat here")
	}
	const parked = 200 * time.Millisecond
	time.Sleep(parked)
	close(release)
	<-done
	after, _ := waits.sum()
	if grew := time.Duration(after - before); grew >= parked/2 {
		t.Errorf("a thread parked for %v and the run-queue waits grew by %v", parked, grew)
	}
}
