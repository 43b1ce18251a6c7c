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
// stealing still evens out workers of unequal speed.
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
	closed  bool
	gen     uint64 // the current loop's generation (from 1)

	// boxes[w] is worker w's mailbox; boxes[0] holds worker 0's range
	boxes []mailbox
	wake  []chan struct{} // wake[w-1]: a token per unpark of helper w
	// join is the current loop's generation << 32 | joinClosed once the
	// loop's items are all taken | the helpers working on it: a helper
	// joins a loop (one more) before it takes items and leaves it after,
	// and For waits only for the helpers that joined, so that a helper
	// the system has not run yet (a shared machine) holds up no loop
	join struct {
		_ [64]byte
		w atomic.Uint64
		_ [56]byte
	}

	scratch [][]float32
	ws      []*workerState
	shared  []float32 // see Shared
}

// mailbox is what a loop hands one worker, on cache lines of its own: a
// helper that sees the new loop word finds its range and the body on the
// same line, so it waits for one line to cross between cores before its
// first item, not one each for the loop word, its range and the body.
type mailbox struct {
	_ [64]byte
	// loop is the generation << 16 | the number of helpers taking part
	// in it; helpers read both at once
	loop atomic.Uint64
	// span is the items [lo, hi) left in the worker's range, as lo<<32 |
	// hi: the owner takes from the front, thieves from the back
	span   atomic.Uint64
	body   func(worker, item int) // set before loop is published
	parked atomic.Bool            // the helper waits on its wake channel
	_      [31]byte
}

// take removes an item from the front of the box's span (its owner does)
// or from the back (another worker stealing).
func (b *mailbox) take(front bool) (int, bool) {
	for {
		v := b.span.Load()
		lo, hi := v>>32, v&(1<<32-1)
		if lo >= hi {
			return 0, false
		}
		i, rest := hi-1, lo<<32|(hi-1)
		if front {
			i, rest = lo, (lo+1)<<32|hi
		}
		if b.span.CompareAndSwap(v, rest) {
			return int(i), true
		}
	}
}

// helperSpin is how long a helper polls for the next loop before it
// parks: longer than waking a parked helper takes (about 100 µs), so that
// a loop following soon after does not pay for the wake-up.
const helperSpin = 200 * time.Microsecond

// NewPool returns a pool of threads workers; threads <= 0 means
// GOMAXPROCS. Close stops its goroutines.
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = goruntime.GOMAXPROCS(0)
	}
	p := &Pool{threads: threads, scratch: make([][]float32, threads), ws: make([]*workerState, threads),
		boxes: make([]mailbox, threads), wake: make([]chan struct{}, threads-1)}
	for i := range threads - 1 {
		p.wake[i] = make(chan struct{}, 1)
		go p.helperLoop(i + 1)
	}
	return p
}

// Threads returns the number of workers.
func (p *Pool) Threads() int { return p.threads }

const loopHelpersBits = 16

// joinClosed marks a loop in Pool.join that helpers may no longer join.
const joinClosed = 1 << 31

// joinLoop joins the loop of generation gen for a helper, unless For
// has closed it or moved on.
func (p *Pool) joinLoop(gen uint64) bool {
	for {
		v := p.join.w.Load()
		if v>>32 != gen&(1<<32-1) || v&joinClosed != 0 {
			return false
		}
		if p.join.w.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

// closedLoop is the loop word of a closed pool.
const closedLoop = ^uint64(0)

func (p *Pool) helperLoop(worker int) {
	var seen uint64
	for {
		cur := p.awaitLoop(worker, seen)
		seen = cur
		if cur == closedLoop {
			return
		}
		if worker <= int(cur&(1<<loopHelpersBits-1)) && p.joinLoop(cur>>loopHelpersBits) {
			p.work(worker, int(cur&(1<<loopHelpersBits-1))+1)
			p.join.w.Add(^uint64(0)) // leave
		}
	}
}

// awaitLoop returns worker's loop word once its generation differs from
// seen's: it polls for helperSpin, then parks until For wakes it.
func (p *Pool) awaitLoop(worker int, seen uint64) uint64 {
	b := &p.boxes[worker]
	// spin only when every worker can have its own P; otherwise a
	// spinning helper would hold up the others
	spin := goruntime.GOMAXPROCS(0) >= p.threads
	start := time.Now()
	for polls := 0; ; polls++ {
		cur := b.loop.Load()
		if cur>>loopHelpersBits != seen>>loopHelpersBits {
			return cur
		}
		if spin && (polls%1024 != 0 || time.Since(start) < helperSpin) {
			continue
		}
		b.parked.Swap(true) // a read-modify-write: see Pool
		if cur = b.loop.Load(); cur>>loopHelpersBits != seen>>loopHelpersBits {
			if !b.parked.CompareAndSwap(true, false) {
				<-p.wake[worker-1] // the loop's owner unparked us: take its token
			}
			return cur
		}
		<-p.wake[worker-1]
		start = time.Now()
	}
}

// publish hands helper w the loop word v (its body and span already set)
// and wakes it if it parked.
func (p *Pool) publish(w int, v uint64) {
	b := &p.boxes[w]
	b.loop.Swap(v) // a read-modify-write: see Pool
	if b.parked.CompareAndSwap(true, false) {
		p.wake[w-1] <- struct{}{}
	}
}

// work runs worker's home range, then steals from the other parts-1
// workers' until every range is empty.
func (p *Pool) work(worker, parts int) {
	body := p.boxes[worker].body
	for {
		if i, ok := p.boxes[worker].take(true); ok {
			body(worker, i)
			continue
		}
		stole := false
		for o := 1; o < parts && !stole; o++ {
			var i int
			if i, stole = p.boxes[(worker+o)%parts].take(false); stole {
				body(worker, i)
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
	p.gen++
	p.join.w.Store((p.gen & (1<<32 - 1)) << 32)
	for w := range helpers + 1 { // published to each helper by its loop Swap
		b := &p.boxes[w]
		b.body = body
		b.span.Store(uint64(w*n/(helpers+1))<<32 | uint64((w+1)*n/(helpers+1)))
		if w > 0 {
			p.publish(w, p.gen<<loopHelpersBits|uint64(helpers))
		}
	}
	p.work(0, helpers+1)
	// every item is taken: close the loop to helpers that have not
	// joined it, and wait for those that have
	for {
		v := p.join.w.Load()
		if p.join.w.CompareAndSwap(v, v|joinClosed) {
			break
		}
	}
	for spins := 0; p.join.w.Load()&(joinClosed-1) != 0; spins++ {
		if spins > 1<<10 {
			goruntime.Gosched()
		}
	}
	for w := range helpers + 1 {
		p.boxes[w].body = nil
	}
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

// Shared returns a buffer of at least n floats, Align-byte aligned,
// contents unspecified, for data one loop writes (each item its own part)
// and the bodies of the next loops read. It is valid until the next
// Shared call; only the goroutine calling For may call it, between loops.
func (p *Pool) Shared(n int) []float32 {
	if len(p.shared) < n {
		p.shared = AlignedFloats(AlignUp(n))
	}
	return p.shared[:n]
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
	for w := 1; w < p.threads; w++ {
		p.publish(w, closedLoop)
	}
}
