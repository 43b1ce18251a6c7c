package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// phaseCases are shapes for the phase plan: strides 1 to 3, dilations,
// uneven pads, output rows wider and narrower than a tile (row tiles that
// overlap, tiles across rows), K blocks past KC, groups, a shifted input,
// short last bands.
func phaseCases() []convCase {
	pads := func(s ConvShape, t, l, b, r int) ConvShape {
		s.PadTop, s.PadLeft, s.PadBottom, s.PadRight = t, l, b, r
		return s
	}
	return []convCase{
		{s: pads(ConvShape{Frames: 2, Cin: 3, H: 75, W: 71, Cout: 13, KH: 7, KW: 7, StrideH: 2, StrideW: 2}, 3, 3, 3, 3), act: Relu, bias: true},
		{s: pads(ConvShape{Frames: 1, Cin: 3, H: 66, W: 131, Cout: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2}, 0, 1, 1, 0), act: Clip(0, 6), bias: true, residual: true},
		{s: pads(ConvShape{Frames: 3, Cin: 2, H: 19, W: 23, Cout: 7, KH: 5, KW: 4, StrideH: 3, StrideW: 2}, 2, 1, 0, 3), bias: true},
		{s: pads(ConvShape{Frames: 2, Cin: 4, H: 17, W: 40, Cout: 12, KH: 3, KW: 3, StrideH: 1, StrideW: 1, DilationH: 2, DilationW: 3}, 2, 3, 2, 3), act: Relu, residual: true},
		{s: pads(ConvShape{Frames: 4, Cin: 32, H: 9, W: 10, Cout: 24, KH: 3, KW: 3, StrideH: 2, StrideW: 2}, 1, 1, 1, 1), bias: true, shift: true},
		{s: ConvShape{Frames: 2, Cin: 16, H: 9, W: 11, Cout: 20, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, bias: true},
		{s: pads(ConvShape{Frames: 1, Cin: 12, H: 8, W: 36, Cout: 18, Group: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1}, 1, 1, 1, 1), act: Relu, bias: true},
		{s: pads(ConvShape{Frames: 2, Cin: 5, H: 6, W: 5, Cout: 4, KH: 3, KW: 3, StrideH: 2, StrideW: 3}, 1, 1, 1, 1)},
		// phase planes of padding only: a map narrower and shorter than the pads
		{s: pads(ConvShape{Frames: 2, Cin: 3, H: 2, W: 1, Cout: 5, KH: 7, KW: 7, StrideH: 2, StrideW: 2}, 3, 3, 3, 3), act: Relu, bias: true},
		{s: pads(ConvShape{Frames: 3, Cin: 16, H: 28, W: 28, Cout: 14, KH: 3, KW: 3, StrideH: 2, StrideW: 2}, 1, 1, 1, 1), bias: true, shift: true},
	}
}

// TestPhasePlanMatchesGEMM checks each phase plan (every kernel, several
// bands) against the interpreter, and bit for bit against the im2col
// GEMM plan of the same kernel, which sums in the same order.
func TestPhasePlanMatchesGEMM(t *testing.T) {
	for ci, c := range phaseCases() {
		s := c.s.normalized()
		rng := rand.New(rand.NewPCG(uint64(ci), 97))
		rows, _ := convInput(t, rng, c)
		w, packed, bias, res := convOperands(t, rng, c, PackMR)
		want, scale := interpConv(t, s, rows, w, bias, res, c.act)
		kernels := map[string]bool{}
		for _, plan := range ConvPlans(s, PackMR) {
			if plan.Algo != AlgoPhase {
				continue
			}
			kernels[plan.Kernel] = true
		}
		if len(kernels) == 0 {
			t.Fatalf("%v: no phase plan among %v", s, ConvPlans(s, PackMR))
		}
		for kn := range kernels {
			gemm, err := NewConvPlan(s, packed, PackMR, bias, c.act, Plan{Algo: AlgoGEMM, Kernel: kn})
			if err != nil {
				t.Fatal(err)
			}
			p := NewPool(2)
			ref := nanFloats(rng, s.OutLen())
			gemm.Run(p, rows, ref, res)
			p.Close()
			for _, band := range []int{0, 1, 2, 3, 5, s.OutH()} {
				plan := Plan{Algo: AlgoPhase, Kernel: kn, Band: band}
				conv, err := NewConvPlan(s, packed, PackMR, bias, c.act, plan)
				if err != nil {
					t.Fatalf("%v plan %v: %v", s, plan, err)
				}
				name := fmt.Sprintf("%s/%v/plan %v", ISA(), s, conv.Plan())
				checkOracleScaled(t, name, want, scale, func(p *Pool) []float32 {
					out := nanFloats(rng, s.OutLen())
					conv.Run(p, rows, out, res)
					if i := firstDiff(out, ref); i >= 0 {
						t.Errorf("%s: out[%d] = %g, the GEMM plan's %g", name, i, out[i], ref[i])
					}
					return out
				})
			}
		}
	}
}

// TestPhaseDefault checks that the default rules run a stem of few input
// channels as the phase plan and the plan reports it.
func TestPhaseDefault(t *testing.T) {
	s := ConvShape{Frames: 1, Cin: 3, H: 32, W: 32, Cout: 16, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}
	packed := make([]float32, PackedConvWeightsLen(s.Cout, s.Cin, s.KH, s.KW, 1, PackMR))
	conv, err := NewConv(s, packed, PackMR, nil, Act{})
	if err != nil {
		t.Fatal(err)
	}
	if got := conv.Plan(); got.Algo != AlgoPhase || got.Band <= 0 {
		t.Errorf("%v: default plan %v, want a phase plan", s, got)
	}
	if _, err := NewConvPlan(s, packed, PackMR, nil, Act{}, Plan{Algo: AlgoGEMM, Band: 2}); err == nil {
		t.Errorf("%v: a GEMM plan with a band was accepted", s)
	}
	pw := ConvShape{Frames: 1, Cin: 3, H: 8, W: 8, Cout: 16, KH: 1, KW: 1}
	if _, err := NewConvPlan(pw, make([]float32, PackedConvWeightsLen(16, 3, 1, 1, 1, PackMR)), PackMR, nil, Act{}, Plan{Algo: AlgoPhase}); err == nil {
		t.Errorf("%v: a phase plan of a pointwise stride-1 convolution was accepted", pw)
	}
}
