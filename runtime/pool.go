package runtime

import (
	goruntime "runtime"
	"sync"
	"sync/atomic"
)

// Pool is a fixed set of workers running parallel loops. The caller of For
// is worker 0; threads-1 goroutines, started once, are the others. Between
// loops a helper spins on the loop generation for a while before it parks
// on a channel: a model runs tens of loops back to back, and waking a
// parked goroutine costs more than many of them take. Each worker also
// owns a scratch buffer that kernels reuse from call to call.
//
// Parking is a store-then-load on each side: a helper marks itself parked
// and reloads the loop generation; For publishes the generation and then
// tests the parked flag. One side must see the other's store. Go's atomics
// promise that, but qemu-user's arm64 emulation on an x86 host lets a
// store-release and a following load-acquire reorder, and the lost wake-up
// hung the tests there. Both stores are therefore Swaps: a read-modify-write
// is a full barrier on every host.
//
// A Pool runs one loop at a time: concurrent For calls are serialised, and
// a loop body must not call For on the same pool.
type Pool struct {
	threads int
	mu      sync.Mutex // held for the duration of a loop
	helpers []*helper
	closed  bool

	// loop is the generation of the current loop (from 1) << 16 | the
	// number of helpers taking part in it; helpers read both at once
	loop atomic.Uint64
	busy atomic.Int32 // helpers still working on the current loop
	body func(worker, item int)
	n    int64
	next atomic.Int64

	scratch [][]float32
	ws      []*workerState
}

// helper is the parking state of one helper goroutine.
type helper struct {
	parked atomic.Bool
	wake   chan struct{} // a token per unpark
}

// helperSpins is how many times a helper polls for the next loop before it
// parks (some tens of microseconds).
const helperSpins = 1 << 15

// NewPool returns a pool of threads workers; threads <= 0 means
// GOMAXPROCS. Close stops its goroutines.
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, scratch: make([][]float32, threads), ws: make([]*workerState, threads)}
	for i := range threads - 1 {
		h := &helper{wake: make(chan struct{}, 1)}
		p.helpers = append(p.helpers, h)
		go p.helperLoop(i+1, h)
	}
	return p
}

// Threads returns the number of workers.
func (p *Pool) Threads() int { return p.threads }

const loopHelpersBits = 16

func (p *Pool) helperLoop(worker int, h *helper) {
	var seen uint64
	for {
		cur := p.loop.Load()
		// spin only when every worker can have its own P; otherwise a
		// spinning helper would hold up the others
		spin := goruntime.GOMAXPROCS(0) >= p.threads
		for spins := 0; cur>>loopHelpersBits == seen>>loopHelpersBits; spins++ {
			if spin && spins < helperSpins {
				cur = p.loop.Load()
				continue
			}
			h.parked.Swap(true) // a read-modify-write: see Pool
			if cur = p.loop.Load(); cur>>loopHelpersBits != seen>>loopHelpersBits {
				if !h.parked.CompareAndSwap(true, false) {
					<-h.wake // the loop's owner unparked us: take its token
				}
				break
			}
			<-h.wake
			cur = p.loop.Load()
			spins = 0
		}
		seen = cur
		if cur == ^uint64(0) { // closed
			return
		}
		if worker <= int(cur&(1<<loopHelpersBits-1)) {
			p.work(worker)
			p.busy.Add(-1)
		}
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
	p.busy.Store(int32(helpers))
	gen := p.loop.Load()>>loopHelpersBits + 1
	p.loop.Swap(gen<<loopHelpersBits | uint64(helpers)) // see Pool
	for _, h := range p.helpers[:helpers] {
		if h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
	p.work(0)
	for spins := 0; p.busy.Load() != 0; spins++ {
		if spins > 1<<10 {
			goruntime.Gosched()
		}
	}
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
	p.loop.Swap(^uint64(0)) // see Pool
	for _, h := range p.helpers {
		if h.parked.CompareAndSwap(true, false) {
			h.wake <- struct{}{}
		}
	}
}
