//go:build amd64 && !purego && unix

package runtime

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"unsafe"
)

// dwConvFMA is the exact-FMA twin of the depthwise plane kernels: per
// kernel row a partial sum (a product, then fused multiply-adds along the
// row), the partials added as (p0+p1)+p2, padding taps multiplying zeros.
func dwConvFMA(a *DWConv) {
	for c := range a.C {
		w := a.W[9*c : 9*c+9]
		for r := range a.OH {
			for j := range a.OW {
				var p [3]float32
				for y := range 3 {
					for x := range 3 {
						iy, ix := r*a.Stride-a.PadTop+y, j*a.Stride-a.PadLeft+x
						var v float32
						if iy >= 0 && iy < a.IH && ix >= 0 && ix < a.IW {
							v = a.In[c][iy*a.IW+ix]
						}
						if x == 0 {
							p[y] = w[3*y] * v
						} else {
							p[y] = fma32(w[3*y+x], v, p[y])
						}
					}
				}
				acc := (p[0] + p[1]) + p[2] + a.Bias[c]
				o := c*a.OStride + r*a.OW + j
				if a.Res != nil {
					acc += a.Res[o]
				}
				a.O[o] = clamp(acc, a.Lo, a.Hi)
			}
		}
	}
}

// guardedBufs hands out buffers of random floats against guard pages,
// after their end or (front) before their start, and frees them all.
type guardedBufs struct {
	t     *testing.T
	rng   *rand.Rand
	front bool
	free  []func()
}

// alloc returns n random floats against a guard page.
func (g *guardedBufs) alloc(n int) []float32 {
	get := guarded
	if g.front {
		get = guardedFront
	}
	s, f := get(g.t, n)
	g.free = append(g.free, f)
	copy(s, randFloats(g.rng, n))
	return s
}

// release unmaps every buffer alloc handed out.
func (g *guardedBufs) release() {
	for _, f := range g.free {
		f()
	}
	g.free = nil
}

// guardedFront returns n floats starting right after a PROT_NONE page: a
// kernel reading before the start faults.
func guardedFront(t *testing.T, n int) ([]float32, func()) {
	page := syscall.Getpagesize()
	size := (4*n+page-1)/page*page + page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mprotect(mem[:page], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&mem[page])), n), func() { syscall.Munmap(mem) }
}

// TestAsmDWConvKernels runs every depthwise plane kernel of this CPU over
// plane widths around the vector widths, every left and top padding of
// the contract, right paddings 0..2, several channels, with and without a
// residual. Every plane, output and residual sits against a guard page,
// alternately after its end and before its start, so that a load or
// store outside them faults. Results must be bit-identical to the
// exact-FMA twin.
func TestAsmDWConvKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	widths := []int{55, 56, 57, 111, 112, 113}
	for n := 1; n <= 36; n++ {
		widths = append(widths, n)
	}
	tested := 0
	for _, level := range asmLevels() {
		kern := asmDWConv3x3(level)
		if kern == nil {
			continue
		}
		for _, stride := range []int{1, 2} {
			for wi, iw := range widths {
				for pl := range 3 {
					for pr := range 3 {
						ow := (iw+pl+pr-3)/stride + 1
						if ow <= 0 || (ow-1)*stride+2-pl > iw+1 {
							continue
						}
						ih := 1 + (wi+pl+pr)%5
						if iw < 8 {
							ih = 3 + iw%4
						}
						pt, pb := (wi+pr)%3, pl
						oh := (ih+pt+pb-3)/stride + 1
						if oh <= 0 {
							continue
						}
						front := (wi+pl+pr)%2 == 0
						c := 1 + (iw+pr)%3
						withRes := (iw+pl)%2 == 0
						name := fmt.Sprintf("%s s%d %dx%d pads t%d l%d r%d b%d c%d res=%v", level, stride, ih, iw, pt, pl, pr, pb, c, withRes)
						checkDWConvKernel(t, rng, kern, name, front, DWConv{
							C: c, IH: ih, IW: iw, OH: oh, OW: ow, OStride: oh*ow + int(rng.IntN(3)),
							Stride: stride, PadTop: pt, PadLeft: pl, Lo: -1.5, Hi: 2,
						}, withRes)
						tested++
					}
				}
			}
		}
	}
	// tall planes: the kernels loop over rows (AVX-512 down each column)
	for _, level := range asmLevels() {
		kern := asmDWConv3x3(level)
		if kern == nil {
			continue
		}
		for _, stride := range []int{1, 2} {
			for i, hw := range [][2]int{{28, 28}, {57, 30}, {56, 56}, {17, 112}, {33, 14}} {
				ih, iw := hw[0], hw[1]
				pt, pl, pb := i%3, (i+1)%3, (i+2)%3
				ow := (iw+pl+1-3)/stride + 1
				oh := (ih+pt+pb-3)/stride + 1
				name := fmt.Sprintf("%s s%d %dx%d pads t%d l%d b%d", level, stride, ih, iw, pt, pl, pb)
				checkDWConvKernel(t, rng, kern, name, i%2 == 0, DWConv{
					C: 2, IH: ih, IW: iw, OH: oh, OW: ow, OStride: oh * ow,
					Stride: stride, PadTop: pt, PadLeft: pl, Lo: -1.5, Hi: 2,
				}, i%2 == 1)
				tested++
			}
		}
	}
	if tested == 0 {
		t.Skip("no assembly depthwise plane kernels on this CPU")
	}
	t.Logf("%d cases", tested)
}

// checkDWConvKernel fills a (shape set) with guarded random operands, runs
// kern and compares with the exact-FMA twin.
func checkDWConvKernel(t *testing.T, rng *rand.Rand, kern func(*DWConv), name string, front bool, a DWConv, withRes bool) {
	t.Helper()
	bufs := &guardedBufs{t: t, rng: rng, front: front}
	defer bufs.release()
	alloc := bufs.alloc
	outLen := (a.C-1)*a.OStride + a.OH*a.OW
	a.O = alloc(outLen)
	for range a.C {
		a.In = append(a.In, alloc(a.IH*a.IW))
	}
	a.Zero = alloc(a.IW)
	clear(a.Zero)
	a.W = randFloats(rng, 9*a.C)
	a.Bias = randFloats(rng, a.C)
	if withRes {
		a.Res = alloc(outLen)
	}
	if a.IW%3 == 0 {
		a.Lo, a.Hi = float32(math.Inf(-1)), float32(math.Inf(1))
	}
	twin := a
	twin.O = append([]float32(nil), a.O...)
	dwConvFMA(&twin)
	kern(&a)
	if i := firstBitDiff(a.O, twin.O); i >= 0 {
		t.Errorf("%s: O[%d] = %g, exact-FMA twin %g", name, i, a.O[i], twin.O[i])
	}
}

// BenchmarkAsmDWConv runs the plane kernels of each level on MobileNetV2
// plane sizes (8 channels per call, padding 1, L2-resident), 18 FLOP per
// output.
func BenchmarkAsmDWConv(b *testing.B) {
	for _, level := range asmLevels() {
		kern := asmDWConv3x3(level)
		for _, stride := range []int{1, 2} {
			for _, n := range []int{7, 14, 28, 56, 112} {
				b.Run(fmt.Sprintf("%s/s%d/n=%d", level, stride, n), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(1, 1))
					const c = 8
					o := (n+2-3)/stride + 1
					a := DWConv{O: make([]float32, c*o*o), Zero: make([]float32, n), W: randFloats(rng, 9*c), Bias: randFloats(rng, c),
						C: c, IH: n, IW: n, OH: o, OW: o, OStride: o * o, Stride: stride, PadTop: 1, PadLeft: 1, Lo: 0, Hi: 6}
					for range c {
						a.In = append(a.In, randFloats(rng, n*n))
					}
					b.ResetTimer()
					for range b.N {
						kern(&a)
					}
					reportKernelFLOPs(b, float64(18*c*o*o))
				})
			}
		}
	}
}
