package runtime

import (
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a fixed set of workers running parallel loops. The caller of For
// is worker 0; threads-1 goroutines, started once, are the others. Between
// loops a helper spins on the loop generation for a while before it parks
// on a channel: a model runs tens of loops back to back, and waking a
// parked goroutine costs more than many of them take. Each worker also
// owns a scratch buffer that kernels reuse from call to call.
//
// Items are handed out by affinity with stealing: worker w first runs its
// home range, the w-th of equal consecutive ranges of the items, then takes
// items from the back of the others' ranges. Kernels number their items
// so that consecutive items touch neighbouring data (frames, pixel rows,
// channel blocks), so in a balanced loop a worker reads what it wrote in
// the loop before instead of pulling it from the other core's cache, and
// stealing still evens out workers of unequal speed. Measured on the
// online MobileNetV2 at 2 threads (Zen 5 VM): 3.28-3.46 ms a frame against
// 3.68-3.86 with one shared counter.
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
	loop  atomic.Uint64
	busy  atomic.Int32 // helpers still working on the current loop
	body  func(worker, item int)
	spans []span // the workers' ranges of the current loop's items

	scratch [][]float32
	ws      []*workerState
}

// span is the items [lo, hi) left in a worker's range, as lo<<32 | hi, on
// cache lines of its own: the owner takes from the front, thieves from the
// back.
type span struct {
	_ [64]byte
	v atomic.Uint64
	_ [56]byte
}

// take removes an item from the front of the span (its owner does) or
// from the back (another worker stealing).
func (s *span) take(front bool) (int, bool) {
	for {
		v := s.v.Load()
		lo, hi := v>>32, v&(1<<32-1)
		if lo >= hi {
			return 0, false
		}
		i, rest := hi-1, lo<<32|(hi-1)
		if front {
			i, rest = lo, (lo+1)<<32|hi
		}
		if s.v.CompareAndSwap(v, rest) {
			return int(i), true
		}
	}
}

// helper is the parking state of one helper goroutine.
type helper struct {
	parked atomic.Bool
	wake   chan struct{} // a token per unpark
}

// helperSpin is how long a helper polls for the next loop before it
// parks. Waking a parked helper took about 100 µs here (traced in a
// MobileNetV2 block whose helper had parked while worker 0 finished), so
// a helper waits longer than that first.
const helperSpin = 200 * time.Microsecond

// NewPool returns a pool of threads workers; threads <= 0 means
// GOMAXPROCS. Close stops its goroutines.
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, scratch: make([][]float32, threads), ws: make([]*workerState, threads), spans: make([]span, threads)}
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
		cur := p.awaitLoop(h, seen)
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

// awaitLoop returns the loop word once its generation differs from
// seen's: it polls for helperSpin, then parks until For wakes it.
func (p *Pool) awaitLoop(h *helper, seen uint64) uint64 {
	// spin only when every worker can have its own P; otherwise a
	// spinning helper would hold up the others
	spin := goruntime.GOMAXPROCS(0) >= p.threads
	start := time.Now()
	for polls := 0; ; polls++ {
		cur := p.loop.Load()
		if cur>>loopHelpersBits != seen>>loopHelpersBits {
			return cur
		}
		if spin && (polls%1024 != 0 || time.Since(start) < helperSpin) {
			continue
		}
		h.parked.Swap(true) // a read-modify-write: see Pool
		if cur = p.loop.Load(); cur>>loopHelpersBits != seen>>loopHelpersBits {
			if !h.parked.CompareAndSwap(true, false) {
				<-h.wake // the loop's owner unparked us: take its token
			}
			return cur
		}
		<-h.wake
		start = time.Now()
	}
}

// work runs worker's home range, then steals from the others' until
// every range is empty.
func (p *Pool) work(worker int) {
	parts := int(p.loop.Load()&(1<<loopHelpersBits-1)) + 1
	for {
		if i, ok := p.spans[worker].take(true); ok {
			p.body(worker, i)
			continue
		}
		stole := false
		for o := 1; o < parts && !stole; o++ {
			var i int
			if i, stole = p.spans[(worker+o)%parts].take(false); stole {
				p.body(worker, i)
			}
		}
		if !stole {
			return
		}
	}
}

// For calls body(worker, item) for every item in [0, n), spread over the
// workers; worker is in [0, Threads()) and identifies the scratch buffer
// the call may use. Which worker runs an item depends on timing (see
// Pool), so callers must make an item's result independent of the worker
// that runs it (all kernels of this package do). n must be below 2^32.
// For returns when every item is done. After Close, For runs the loop on
// the calling goroutine.
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
	p.body = body
	for w := range helpers + 1 { // published to the helpers by the loop Swap
		p.spans[w].v.Store(uint64(w*n/(helpers+1))<<32 | uint64((w+1)*n/(helpers+1)))
	}
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
