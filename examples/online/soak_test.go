package main

import (
	"flag"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/tsmc-go/tsmc/examples/online/jester"
	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/runtime/modeltest"
)

// The soak tests run the committed jester package (the tiny online model)
// for long: minutes, so only with -soak:
//
//	go test -run Soak -v ./examples/online/ -soak
var soak = flag.Bool("soak", false, "run the soak tests: one Stream stepping 100,000 frames, one Model shared by 64 goroutines for 10,000 runs")

const (
	soakFrames     = 100_000
	soakGoroutines = 64
	soakRuns       = 10_000
	soakThreads    = 2
	// soakHeapSlack is how much more heap may be in use after a soak than
	// before: far below what keeping even a few bytes per step (100,000
	// steps) or per run would add, above what the allocator's caches move.
	soakHeapSlack = 1 << 20
)

// usage is a moment's heap in use (after a collection) and goroutines.
type usage struct {
	heap       uint64
	goroutines int
}

func measure() usage {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{heap: ms.HeapInuse, goroutines: runtime.NumGoroutine()}
}

func (u usage) String() string {
	return fmt.Sprintf("heap in use %.2f MiB, %d goroutines", float64(u.heap)/(1<<20), u.goroutines)
}

// checkFlat logs before, after and closed (after Close) and fails if the
// heap grew by more than soakHeapSlack, the goroutines changed, or Close
// did not bring them back to what they were before New.
func checkFlat(t *testing.T, beforeNew, before, after, closed usage) {
	t.Logf("before New: %v", beforeNew)
	t.Logf("before:     %v", before)
	t.Logf("after:      %v", after)
	t.Logf("after Close: %v", closed)
	if after.heap > before.heap+soakHeapSlack {
		t.Errorf("heap in use grew by %d bytes", after.heap-before.heap)
	}
	if after.goroutines != before.goroutines {
		t.Errorf("%d goroutines after, %d before", after.goroutines, before.goroutines)
	}
	if closed.goroutines > beforeNew.goroutines {
		t.Errorf("%d goroutines after Close, %d before New", closed.goroutines, beforeNew.goroutines)
	}
}

// soakFrame returns deterministic frame k of a cycle of soakPeriod frames.
const soakPeriod = 7

func soakFrame(k int) []float32 {
	v := make([]float32, jester.InputSpecs[0].Len())
	for i := range v {
		v[i] = float32((i*7+(k%soakPeriod)*13)%17)/17 - 0.5
	}
	return v
}

// TestSoakStream steps one Stream through 100,000 frames that repeat
// with period 7. The online model's output depends on the current frame
// and the three before it (one per shift), so from frame 8 on every
// result must equal, bit for bit, a fresh Model's Stream's result for the
// same place in the cycle. Heap in use and goroutines stay flat.
func TestSoakStream(t *testing.T) {
	if !*soak {
		t.Skip("a soak test: run with -soak")
	}
	frames := make([][]float32, soakPeriod)
	for k := range frames {
		frames[k] = soakFrame(k)
	}
	const warm = 8
	want := make([][]float32, soakPeriod) // by k % soakPeriod, from fresh
	fresh, err := jester.New(jester.WithThreads(soakThreads))
	if err != nil {
		t.Fatal(err)
	}
	st := fresh.NewStream()
	for k := 0; k < warm+soakPeriod; k++ {
		out, err := st.Step(frames[k%soakPeriod])
		if err != nil {
			t.Fatal(err)
		}
		if k >= warm {
			want[k%soakPeriod] = out
		}
	}
	fresh.Close()

	beforeNew := measure()
	m, err := jester.New(jester.WithThreads(soakThreads))
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewStream()
	before := measure()
	mismatches := 0
	for k := range soakFrames {
		out, err := s.Step(frames[k%soakPeriod])
		if err != nil {
			t.Fatalf("frame %d: %v", k, err)
		}
		if k >= warm && !floatcmp.SameBits(out, want[k%soakPeriod]) {
			if mismatches++; mismatches <= 3 {
				t.Errorf("frame %d: %v, a fresh Stream gives %v", k, out, want[k%soakPeriod])
			}
		}
	}
	after := measure()
	m.Close()
	closed := measure()
	closed.goroutines = modeltest.SettledGoroutines(beforeNew.goroutines)
	t.Logf("%d frames, %d results differ from a fresh Model's", soakFrames, mismatches)
	checkFlat(t, beforeNew, before, after, closed)
}

// TestSoakSharedModel runs one Model from 64 goroutines, 10,000 runs in
// all over a few inputs (frames with states): every result must equal,
// bit for bit, a fresh Model's for the same input; heap in use and
// goroutines stay flat.
func TestSoakSharedModel(t *testing.T) {
	if !*soak {
		t.Skip("a soak test: run with -soak")
	}
	type input struct{ i0, i1, i2, i3 []float32 }
	const inputs = 5
	ins := make([]input, inputs)
	want := make([]jester.Outputs, inputs)
	fresh, err := jester.New(jester.WithThreads(soakThreads))
	if err != nil {
		t.Fatal(err)
	}
	for k := range ins {
		state := func(spec int) []float32 {
			v := make([]float32, jester.InputSpecs[spec].Len())
			for i := range v {
				v[i] = float32((i*5+k*3+spec)%11)/11 - 0.5
			}
			return v
		}
		ins[k] = input{soakFrame(k), state(1), state(2), state(3)}
		if want[k], err = fresh.Run(ins[k].i0, ins[k].i1, ins[k].i2, ins[k].i3); err != nil {
			t.Fatal(err)
		}
	}
	fresh.Close()

	beforeNew := measure()
	m, err := jester.New(jester.WithThreads(soakThreads))
	if err != nil {
		t.Fatal(err)
	}
	before := measure()
	var mu sync.Mutex
	mismatches, failures := 0, 0
	var wg sync.WaitGroup
	for g := range soakGoroutines {
		wg.Go(func() {
			for r := g; r < soakRuns; r += soakGoroutines {
				in := ins[r%inputs]
				got, err := m.Run(in.i0, in.i1, in.i2, in.i3)
				w := want[r%inputs]
				same := err == nil && floatcmp.SameBits(got.O0, w.O0) && floatcmp.SameBits(got.O1, w.O1) &&
					floatcmp.SameBits(got.O2, w.O2) && floatcmp.SameBits(got.O3, w.O3)
				if !same {
					mu.Lock()
					if err != nil {
						failures++
					} else {
						mismatches++
					}
					if failures+mismatches <= 3 {
						t.Errorf("run %d (goroutine %d): error %v, or outputs unlike a fresh Model's", r, g, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	after := measure()
	m.Close()
	closed := measure()
	closed.goroutines = modeltest.SettledGoroutines(beforeNew.goroutines)
	t.Logf("%d runs from %d goroutines: %d failed, %d differ from a fresh Model's", soakRuns, soakGoroutines, failures, mismatches)
	checkFlat(t, beforeNew, before, after, closed)
}
