package runtime

import (
	goruntime "runtime"
	"sync"
	"sync/atomic"
)

// Pool is a fixed set of workers running parallel loops. The caller of For
// is worker 0; threads-1 goroutines, started once, are the others, so a
// loop costs a wake-up per helper and no goroutine creation. Each worker
// also owns a scratch buffer that kernels reuse from call to call.
//
// A Pool runs one loop at a time: concurrent For calls are serialised, and
// a loop body must not call For on the same pool.
type Pool struct {
	threads int
	mu      sync.Mutex // held for the duration of a loop
	wake    []chan struct{}
	done    sync.WaitGroup
	closed  bool

	// the current loop
	body func(worker, item int)
	n    int64
	next atomic.Int64

	scratch [][]float32
	ws      []*workerState
}

// NewPool returns a pool of threads workers; threads <= 0 means
// GOMAXPROCS. Close stops its goroutines.
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, scratch: make([][]float32, threads), ws: make([]*workerState, threads)}
	p.wake = make([]chan struct{}, threads-1)
	for i := range p.wake {
		p.wake[i] = make(chan struct{})
		go p.helper(i+1, p.wake[i])
	}
	return p
}

// Threads returns the number of workers.
func (p *Pool) Threads() int { return p.threads }

func (p *Pool) helper(worker int, wake chan struct{}) {
	for range wake {
		p.work(worker)
		p.done.Done()
	}
}

func (p *Pool) work(worker int) {
	for {
		i := p.next.Add(1) - 1
		if i >= p.n {
			return
		}
		p.body(worker, int(i))
	}
}

// For calls body(worker, item) for every item in [0, n), spread over the
// workers; worker is in [0, Threads()) and identifies the scratch buffer
// the call may use. Items are handed out dynamically, so callers must make
// an item's result independent of the worker that runs it (all kernels of
// this package do). For returns when every item is done. After Close, For
// runs the loop on the calling goroutine.
func (p *Pool) For(n int, body func(worker, item int)) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	helpers := min(p.threads, n) - 1
	if helpers <= 0 || p.closed {
		for i := range n {
			body(0, i)
		}
		return
	}
	p.body, p.n = body, int64(n)
	p.next.Store(0)
	p.done.Add(helpers)
	for _, w := range p.wake[:helpers] {
		w <- struct{}{}
	}
	p.work(0)
	p.done.Wait()
	p.body = nil
}

// Scratch returns worker's scratch buffer with at least n floats, Align-byte
// aligned, contents unspecified. It is valid until the next Scratch call of
// the same worker; only the loop body running as that worker may use it.
func (p *Pool) Scratch(worker, n int) []float32 {
	s := p.scratch[worker]
	if len(s) < n {
		s = AlignedFloats(AlignUp(n))
		p.scratch[worker] = s
	}
	return s[:n]
}

// Close stops the helper goroutines. It waits for a running loop, and is
// safe to call more than once.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, w := range p.wake {
		close(w)
	}
}
