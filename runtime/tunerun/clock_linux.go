package tunerun

import (
	"bytes"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time of the calling OS thread in
// nanoseconds, and whether the system has such a clock.
func threadCPU() (int64, bool) {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0, false
	}
	return ts.Nano(), true
}

// runWaits reads how long the threads of the process have waited on a
// run queue, runnable while another task held their CPU: the second
// field of each thread's /proc schedstat. That is what another process
// takes from a timed call. A worker that parks for want of work (a plan
// whose items end unevenly) does not wait on a run queue, so it does not
// count, as it would in the threads' CPU time.
type runWaits struct {
	paths []string
	buf   []byte
}

// processWaits lists the threads of the process now, or with self only
// the calling thread (a one-worker call runs there, and the waits of the
// process's other threads, as Go wakes them, are none of its own).
func processWaits(self bool) *runWaits {
	w := &runWaits{buf: make([]byte, 128)}
	if self {
		w.paths = []string{"/proc/thread-self/schedstat"}
	} else if entries, err := os.ReadDir("/proc/self/task"); err == nil {
		for _, e := range entries {
			w.paths = append(w.paths, "/proc/self/task/"+e.Name()+"/schedstat")
		}
	}
	return w
}

// sum returns the threads' run-queue waits in nanoseconds (a thread that
// has exited counts nothing), and whether any thread's could be read (a
// kernel without schedstat has none).
func (w *runWaits) sum() (int64, bool) {
	var ns int64
	read := false
	for _, path := range w.paths {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		n, _ := f.Read(w.buf)
		f.Close()
		// "on-CPU-ns waited-ns timeslices"
		fields := bytes.Fields(w.buf[:n])
		if len(fields) < 2 {
			continue
		}
		if v, err := strconv.ParseInt(string(fields[1]), 10, 64); err == nil {
			ns += v
			read = true
		}
	}
	return ns, read
}
