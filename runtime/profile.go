package runtime

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// OpTime is the time one operation of a model took over the runs of a
// profile.
type OpTime struct {
	Op    string        // what ran: kind and shape, e.g. "conv 8x[64,56,56] -> 64, kernel 3x3, ..."
	Calls int           // calls recorded
	Time  time.Duration // wall time of those calls
	Min   time.Duration // the fastest of those calls
	FLOPs float64       // 2 x multiply-adds of one call, 0 for data movement
}

// GFLOPs returns the operation's rate in GFLOP/s, or 0.
func (o OpTime) GFLOPs() float64 {
	if o.Time <= 0 {
		return 0
	}
	return o.FLOPs * float64(o.Calls) / o.Time.Seconds() / 1e9
}

type profile struct {
	mu    sync.Mutex
	ops   map[any]*OpTime
	order []any
}

// profiling is the profile being recorded, or nil: a disabled profile
// costs every Run one atomic load.
var profiling atomic.Pointer[profile]

// StartProfile starts recording the time of every Run of the kernels of
// this package (convolutions, depthwise convolutions, dense layers,
// pooling, elementwise ops), process-wide, until StopProfile. Profiling
// adds two clock reads per call.
func StartProfile() {
	profiling.Store(&profile{ops: map[any]*OpTime{}})
}

// StopProfile stops recording and returns the operations in the order of
// their first call. An operation is identified by its planned object (a
// Conv, ...) or, for functions, by kind and shape.
func StopProfile() []OpTime {
	p := profiling.Swap(nil)
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]OpTime, len(p.order))
	for i, k := range p.order {
		out[i] = *p.ops[k]
	}
	return out
}

// profiled is an operation the profile can name.
type profiled interface {
	profileName() string
	profileFLOPs() float64
}

// profileStart returns the start time of a call when profiling, else the
// zero time.
func profileStart() time.Time {
	if profiling.Load() == nil {
		return time.Time{}
	}
	return time.Now()
}

// profileDone records a call of op (a profiled, or a string naming it)
// that started at t0 (zero: not profiling when it started).
func profileDone(op any, t0 time.Time) {
	if t0.IsZero() {
		return
	}
	d := time.Since(t0)
	p := profiling.Load()
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.ops[op]
	if o == nil {
		o = &OpTime{}
		switch v := op.(type) {
		case profiled:
			o.Op, o.FLOPs = v.profileName(), v.profileFLOPs()
		case string:
			o.Op = v
		default:
			o.Op = fmt.Sprint(v)
		}
		p.ops[op] = o
		p.order = append(p.order, op)
	}
	if o.Calls == 0 || d < o.Min {
		o.Min = d
	}
	o.Calls++
	o.Time += d
}
