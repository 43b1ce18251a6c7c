package runtime

import "fmt"

// PackMR is the weight-panel height codegen packs convolution weights for.
// It is a multiple of the row count of every micro-kernel (pure Go 6,
// AVX2 6, AVX-512 12, NEON 12), so one packed layout serves every CPU a
// generated package may run on.
const PackMR = 12

// PackNR is the panel width codegen packs dense-layer weights for (they are
// the B operand of the dense GEMM): a multiple of every kernel's NR
// (8, 16, 32).
const PackNR = 32

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// PackedConvWeightsLen returns the length of PackConvWeights' result.
func PackedConvWeightsLen(cout, cinPerGroup, kh, kw, group, mr int) int {
	return group * ceilDiv(cout/group, mr) * mr * cinPerGroup * kh * kw
}

// PackConvWeights packs ONNX convolution weights w [cout][cinPerGroup][kh][kw]
// into the A operand of the convolution GEMM: per group, panels of mr output
// channels; within a panel, for each k = ci*kh*kw + y*kw + x the mr weights
// of the panel's channels are contiguous; the last panel of a group is
// zero-padded. Codegen calls it at compile time (mr = PackMR) and embeds
// the result.
func PackConvWeights(w []float32, cout, cinPerGroup, kh, kw, group, mr int) ([]float32, error) {
	out := make([]float32, max(0, PackedConvWeightsLen(cout, cinPerGroup, kh, kw, group, mr)))
	return out, packConvWeightsTo(out, w, cout, cinPerGroup, kh, kw, group, mr)
}

// packConvWeightsTo is PackConvWeights into out, which has
// PackedConvWeightsLen values.
func packConvWeightsTo(out, w []float32, cout, cinPerGroup, kh, kw, group, mr int) error {
	if cout <= 0 || cinPerGroup <= 0 || kh <= 0 || kw <= 0 || group <= 0 || mr <= 0 || cout%group != 0 {
		return fmt.Errorf("runtime: cannot pack conv weights of %d outputs, %d inputs per group, %dx%d kernel, %d groups, panel %d",
			cout, cinPerGroup, kh, kw, group, mr)
	}
	k := cinPerGroup * kh * kw
	if len(w) != cout*k {
		return fmt.Errorf("runtime: conv weights have %d values, want %d x %d x %d x %d", len(w), cout, cinPerGroup, kh, kw)
	}
	if want := PackedConvWeightsLen(cout, cinPerGroup, kh, kw, group, mr); len(out) != want {
		return fmt.Errorf("runtime: packed conv weights have room for %d values, want %d", len(out), want)
	}
	clear(out)
	coutG := cout / group
	panels := ceilDiv(coutG, mr)
	for g := range group {
		for p := range panels {
			panel := out[(g*panels+p)*k*mr:][:k*mr]
			for i := range mr {
				co := p*mr + i
				if co >= coutG {
					break
				}
				src := w[(g*coutG+co)*k:][:k]
				for kk, v := range src {
					panel[kk*mr+i] = v
				}
			}
		}
	}
	return nil
}

// PackedDenseWeightsLen returns the length of PackDenseWeights' result.
func PackedDenseWeightsLen(out, in, nr int) int {
	return ceilDiv(out, nr) * nr * in
}

// PackDenseWeights packs dense weights w [out][in] (y = x·wᵀ + b, ONNX
// Gemm with transB=1) into the B operand of the dense GEMM: panels of nr
// output features; within a panel, for each input k the nr weights are
// contiguous; the last panel is zero-padded. Codegen packs with nr =
// PackNR.
func PackDenseWeights(w []float32, out, in, nr int) ([]float32, error) {
	if out <= 0 || in <= 0 || nr <= 0 || len(w) != out*in {
		return nil, fmt.Errorf("runtime: cannot pack %d dense weights as %d outputs x %d inputs in panels of %d", len(w), out, in, nr)
	}
	panels := ceilDiv(out, nr)
	packed := make([]float32, panels*nr*in)
	for o := range out {
		p, j := o/nr, o%nr
		panel := packed[p*nr*in:][:nr*in]
		for k, v := range w[o*in : (o+1)*in] {
			panel[k*nr+j] = v
		}
	}
	return packed, nil
}

// PackRun is the argument block of an im2col packing kernel: it writes
// rows K0 <= k < K0+KN of the convolution's B operand for one run of N
// output pixels of one output row: for k = ci*KH*KW + kh*KW + kw and
// i < N,
//
//	Dst[(k-K0)*LDD + i] = X(ci, IY + kh*DH, IX + kw*DW + i*SW)
//
// where X(ci, y, x) = Rows[ci][y*W + x] inside the H x W plane and 0
// outside it (the padding). Only those N floats of each Dst row are
// written. IY and IX are the window origin of the run's first pixel
// (oy*StrideH - PadTop, ox*StrideW - PadLeft). A kernel is specialised
// for one SW; the assembly kernels take KW <= 8 and N up to two vectors
// (32 on AVX-512, 16 on AVX2). The field layout is part of the assembly
// contract (asm/layout.go mirrors it).
type PackRun struct {
	Dst            []float32
	Rows           [][]float32
	K0, KN, N, LDD int
	IY, IX         int
	KH, KW, DH, DW int
	H, W, SW       int
}

// packRunGo implements PackRun in Go, for any stride, kernel width and
// run length: the twin of the assembly kernels and the packing of CPUs
// without them.
func packRunGo(a *PackRun) {
	khw := a.KH * a.KW
	for k := a.K0; k < a.K0+a.KN; k++ {
		ci, kh, kw := k/khw, k%khw/a.KW, k%a.KW
		d := a.Dst[(k-a.K0)*a.LDD:][:a.N]
		y := a.IY + kh*a.DH
		if y < 0 || y >= a.H {
			clear(d)
			continue
		}
		src, x := a.Rows[ci][y*a.W:(y+1)*a.W], a.IX+kw*a.DW
		if a.SW == 1 && x >= 0 && x+a.N <= a.W {
			copyFloats(d, src[x:x+a.N])
			continue
		}
		gatherStrided(d, src, x, a.SW)
	}
}
