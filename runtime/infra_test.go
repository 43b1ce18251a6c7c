package runtime

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
)

func TestAlignment(t *testing.T) {
	for n := range 40 {
		if s := AlignedFloats(n); len(s) != n || !IsAligned(s) {
			t.Fatalf("AlignedFloats(%d): len %d aligned %v", n, len(s), IsAligned(s))
		}
	}
	a := NewArena(1000)
	for _, off := range []int{0, 16, 512, 976} {
		s := a.Slice(off, 24)
		if !IsAligned(s) || cap(s) != len(s) {
			t.Errorf("arena slice at %d: aligned %v cap %d", off, IsAligned(s), cap(s))
		}
	}
	for _, bad := range [][2]int{{8, 4}, {992, 16}, {-16, 4}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("arena slice %v did not panic", bad)
				}
			}()
			a.Slice(bad[0], bad[1])
		}()
	}
	if AlignUp(17) != 32 || AlignUp(16) != 16 || AlignUp(0) != 0 {
		t.Error("AlignUp")
	}
	v := []float32{1.5, -2, float32(math.Inf(1)), 3e-39}
	got, err := DecodeFloats(EncodeFloats(nil, v))
	if err != nil || !floatcmp.SameBits(got, v) || !IsAligned(got) {
		t.Errorf("decode(encode(%v)) = %v, %v", v, got, err)
	}
	if _, err := DecodeFloats(make([]byte, 5)); err == nil {
		t.Error("5 bytes decoded")
	}
}

func TestPool(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		p := NewPool(threads)
		if p.Threads() != threads {
			t.Fatalf("Threads() = %d, want %d", p.Threads(), threads)
		}
		for _, n := range []int{0, 1, 2, 5, 1000} {
			hits := make([]atomic.Int32, n)
			var badWorker atomic.Bool
			for range 3 { // reuse the workers
				p.For(n, func(w, i int) {
					if w < 0 || w >= threads {
						badWorker.Store(true)
					}
					hits[i].Add(1)
				})
			}
			for i := range hits {
				if h := hits[i].Load(); h != 3 {
					t.Fatalf("threads %d n %d: item %d ran %d times, want 3", threads, n, i, h)
				}
			}
			if badWorker.Load() {
				t.Fatalf("threads %d: worker index out of range", threads)
			}
		}
		// concurrent loops are serialised, each complete
		var wg sync.WaitGroup
		var total atomic.Int64
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.For(100, func(_, i int) { total.Add(int64(i)) })
			}()
		}
		wg.Wait()
		if total.Load() != 4*4950 {
			t.Errorf("concurrent loops summed %d, want %d", total.Load(), 4*4950)
		}
		p.Close()
		p.Close()
		n := 0
		p.For(10, func(_, _ int) { n++ }) // after Close: serial on the caller
		if n != 10 {
			t.Errorf("after Close ran %d items, want 10", n)
		}
	}
	if NewPool(0).Threads() < 1 {
		t.Error("default pool has no workers")
	}
}

// TestPoolParkHandshake runs many short loops on pools whose helpers park
// between loops, the path where a lost wake-up would hang For.
func TestPoolParkHandshake(t *testing.T) {
	for _, threads := range []int{2, 3, 4} {
		p := NewPool(threads)
		var sum atomic.Int64
		loops := 10000
		for l := range loops {
			p.For(threads, func(_, item int) { sum.Add(int64(item)) })
			if l%64 == 0 {
				time.Sleep(helperSpin + 100*time.Microsecond) // let the helpers park
			}
		}
		p.Close()
		if want := int64(loops * threads * (threads - 1) / 2); sum.Load() != want {
			t.Errorf("%d threads: sum %d, want %d", threads, sum.Load(), want)
		}
	}
}

// TestPoolSteals blocks worker 0 in the first item of its home range
// until the second has run: only a helper stealing it lets the loop end.
func TestPoolSteals(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	stolen := make(chan int, 1)
	var ran [4]atomic.Int32
	p.For(4, func(worker, item int) { // home ranges: {0, 1} and {2, 3}
		ran[item].Add(1)
		switch item {
		case 0:
			select {
			case w := <-stolen:
				if w != 1 {
					t.Errorf("item 1 ran on worker %d while worker 0 was busy", w)
				}
			case <-time.After(time.Minute):
				t.Error("item 1 was not stolen from the busy worker 0 within a minute")
			}
		case 1:
			stolen <- worker
		}
	})
	for i := range ran {
		if n := ran[i].Load(); n != 1 {
			t.Errorf("item %d ran %d times", i, n)
		}
	}
}

func TestShiftedRows(t *testing.T) {
	const T, C, hw = 4, 8, 2
	frames := 2 * T
	x := make([]float32, frames*C*hw)
	for i := range x {
		x[i] = float32(i)
	}
	s := TemporalShift{Segments: T, Ranges: []ShiftRange{{0, 1, 1}, {1, 3, -1}, {5, 6, 2}}}
	rows := NewRows(frames, C)
	if err := rows.SetShifted(x, frames, C, hw, s, nil); err != nil {
		t.Fatal(err)
	}
	for f := range frames {
		clip, tt := f/T, f%T
		for c := range C {
			off := 0
			switch {
			case c == 0:
				off = 1
			case c < 3:
				off = -1
			case c == 5:
				off = 2
			}
			src := tt + off
			row := rows[f*C+c]
			if src < 0 || src >= T {
				if row[0] != 0 || row[1] != 0 {
					t.Errorf("frame %d channel %d: want zeros, got %v", f, c, row)
				}
				continue
			}
			if want := x[((clip*T+src)*C+c)*hw]; row[0] != want {
				t.Errorf("frame %d channel %d: row starts %g, want %g", f, c, row[0], want)
			}
		}
	}
	// online: frame -1 is the state, channels in range order
	online := TemporalShift{Segments: 1, Ranges: []ShiftRange{{0, 2, -1}, {4, 5, -1}}}
	state := []float32{10, 11, 20, 21, 30, 31, 110, 111, 120, 121, 130, 131}
	frames2 := 2
	x2 := make([]float32, frames2*C*hw)
	rows2 := NewRows(frames2, C)
	if err := rows2.SetShifted(x2, frames2, C, hw, online, state); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[int][3]float32{0: {10, 20, 30}, 1: {110, 120, 130}} {
		for i, c := range []int{0, 1, 4} {
			if got := rows2[f*C+c][0]; got != want[i] {
				t.Errorf("online frame %d channel %d reads %g, want %g", f, c, got, want[i])
			}
		}
	}
	if err := rows2.SetShifted(x2, frames2, C, hw, online, state[1:]); err == nil {
		t.Error("short state accepted")
	}
	if err := rows.SetShifted(x, frames, C, hw, TemporalShift{Segments: 3}, nil); err == nil {
		t.Error("segments not dividing frames accepted")
	}
	if err := rows.SetShifted(x, frames, C, hw, TemporalShift{Segments: T, Ranges: []ShiftRange{{2, 4, 1}, {3, 5, 1}}}, nil); err == nil {
		t.Error("overlapping ranges accepted")
	}
	g := make([]float32, frames*C*hw)
	rows.Gather(g, hw)
	for i, r := range rows {
		if g[i*hw] != r[0] || g[i*hw+1] != r[1] {
			t.Fatalf("gather row %d", i)
		}
	}
	// Apply materialises the same tensor
	applied := make([]float32, len(g))
	if err := s.Apply(applied, x, frames, C, hw, nil); err != nil || !floatcmp.SameBits(applied, g) {
		t.Errorf("Apply differs from the gathered row table (err %v)", err)
	}
	if err := s.Apply(applied[1:], x, frames, C, hw, nil); err == nil {
		t.Error("Apply into a short buffer accepted")
	}
}

func TestTensorSpec(t *testing.T) {
	ts := TensorSpec{Name: "input", Shape: []int{1, 24, 4, 5}}
	if ts.Len() != 480 || ts.Check(make([]float32, 480)) != nil {
		t.Errorf("%v: Len %d", ts, ts.Len())
	}
	if err := ts.Check(make([]float32, 479)); err == nil {
		t.Error("short input accepted")
	}
}

// TestTileLayout pins the Tile field offsets the assembly kernels read.
func TestTileLayout(t *testing.T) {
	var tl Tile
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("offsets documented for 64-bit targets")
	}
	for name, got := range map[string][2]uintptr{
		"A": {unsafe.Offsetof(tl.A), 0}, "B": {unsafe.Offsetof(tl.B), 24}, "C": {unsafe.Offsetof(tl.C), 48},
		"Bias": {unsafe.Offsetof(tl.Bias), 72}, "R": {unsafe.Offsetof(tl.R), 96}, "K": {unsafe.Offsetof(tl.K), 120},
		"LDA": {unsafe.Offsetof(tl.LDA), 128}, "LDB": {unsafe.Offsetof(tl.LDB), 136}, "LDC": {unsafe.Offsetof(tl.LDC), 144},
		"LDR": {unsafe.Offsetof(tl.LDR), 152}, "Lo": {unsafe.Offsetof(tl.Lo), 160}, "Hi": {unsafe.Offsetof(tl.Hi), 164},
		"Flags": {unsafe.Offsetof(tl.Flags), 168}, "BRows": {unsafe.Offsetof(tl.BRows), 176}, "BOff": {unsafe.Offsetof(tl.BOff), 200},
	} {
		if got[0] != got[1] {
			t.Errorf("Tile.%s at offset %d, documented %d", name, got[0], got[1])
		}
	}
}

// TestGemmKernels checks every registered and generic kernel against the
// Tile contract evaluated naively, for all flag combinations and strides.
func TestGemmKernels(t *testing.T) {
	kernels := append([]*GemmKernel{contractKernel(6, 16)}, gemmKernels...)
	for _, d := range [][2]int{{6, 16}, {4, 16}, {2, 16}, {5, 16}, {6, 8}, {3, 5}, {12, 32}} {
		kernels = append(kernels, genericGemm(d[0], d[1]))
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for _, k := range kernels {
		for _, K := range []int{1, 2, 7, 64} {
			for flags := range 4 {
				for _, withR := range []bool{false, true} {
					lda, ldb, ldc, ldr := k.MR+3, k.NR+5, k.NR+2, k.NR+1
					if withR && K == 7 {
						ldr = 0 // broadcast row
					}
					tl := Tile{
						A: randFloats(rng, K*lda), B: randFloats(rng, K*ldb), C: randFloats(rng, k.MR*ldc),
						Bias: randFloats(rng, k.MR), K: K, LDA: lda, LDB: ldb, LDC: ldc, LDR: ldr,
						Lo: -2, Hi: 3, Flags: flags,
					}
					if withR {
						tl.R = randFloats(rng, k.MR*ldr+k.NR)
					}
					c0 := append([]float32(nil), tl.C...)
					want := make([]float64, len(c0))
					for i := range want {
						want[i] = float64(c0[i])
					}
					for i := range k.MR {
						for j := range k.NR {
							var acc float64
							if flags&TileAccumulate != 0 {
								acc = float64(c0[i*ldc+j])
							}
							for kk := range K {
								acc += float64(tl.A[kk*lda+i]) * float64(tl.B[kk*ldb+j])
							}
							if flags&TileEpilogue != 0 {
								acc += float64(tl.Bias[i])
								if withR {
									acc += float64(tl.R[i*ldr+j])
								}
								acc = math.Min(math.Max(acc, -2), 3)
							}
							want[i*ldc+j] = acc
						}
					}
					c1 := append([]float32(nil), tl.C...)
					k.Tile(&tl)
					checkClose(t, k.Name, tl.C, want, 1e-5)
					if k.RowsB { // the same tile with B read from rows at offset 3
						tl.C = c1
						tl.Flags |= TileRowsB
						tl.BRows, tl.BOff = make([][]float32, K), 3
						for kk := range K {
							tl.BRows[kk] = append(make([]float32, 3), tl.B[kk*ldb:kk*ldb+k.NR]...)
						}
						tl.B = nil
						k.Tile(&tl)
						checkClose(t, k.Name+" rows", tl.C, want, 1e-5)
					}
				}
			}
		}
	}
}
