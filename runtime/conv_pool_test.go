package runtime

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/ir"
)

// TestEveryPooledConvPlan runs a convolution with a fused max pool on
// every plan of the convolution and several pools (the row kernel's 3x3
// stride 2, and others on the Go path): against the interpreter, and bit
// for bit against the convolution and the max pool run apart.
func TestEveryPooledConvPlan(t *testing.T) {
	pools := []PoolShape{
		{KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{KH: 2, KW: 2, StrideH: 2, StrideW: 2},
		{KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{KH: 3, KW: 2, StrideH: 2, StrideW: 1, PadTop: 0, PadLeft: 1, PadBottom: 1, PadRight: 0},
	}
	cases := []convCase{phaseCases()[0], phaseCases()[2], phaseCases()[4], phaseCases()[6], planConvCases()[1]}
	for ci, c := range cases {
		for pi, ps := range pools {
			s := c.s.normalized()
			ps.Planes, ps.H, ps.W = s.Frames*s.Cout, s.OutH(), s.OutW()
			mp, err := NewMaxPool(ps)
			if err != nil {
				continue // the pool does not fit this output
			}
			rng := rand.New(rand.NewPCG(uint64(ci), uint64(pi)))
			rows, _ := convInput(t, rng, c)
			cinG := s.Cin / s.Group
			w := randFloats(rng, s.Cout*cinG*s.KH*s.KW)
			packed, _ := PackConvWeights(w, s.Cout, cinG, s.KH, s.KW, s.Group, PackMR)
			var bias []float32
			if c.bias {
				bias = randFloats(rng, s.Cout)
			}
			y, _ := interpConv(t, s, rows, w, bias, nil, c.act)
			want := interpEval(t, "MaxPool", map[string]ir.Attr{
				"kernel_shape": attrInts(ps.KH, ps.KW), "strides": attrInts(ps.StrideH, ps.StrideW),
				"pads": attrInts(ps.PadTop, ps.PadLeft, ps.PadBottom, ps.PadRight)}, y)
			for _, plan := range ConvPlans(s, PackMR) {
				conv, err := NewConvPlan(s, packed, PackMR, bias, c.act, plan)
				if err != nil {
					t.Fatal(err)
				}
				p := NewPool(2)
				full, ref := make([]float32, s.OutLen()), make([]float32, ps.Planes*mp.oh*mp.ow)
				conv.Run(p, rows, full, nil)
				mp.Run(p, full, ref)
				p.Close()
				pc, err := NewPooledConv(conv, ps)
				if err != nil {
					t.Fatalf("%v plan %v pool %+v: %v", s, plan, ps, err)
				}
				name := fmt.Sprintf("%s/%v/plan %v/pool %dx%d s%d,%d", ISA(), s, pc.Plan(), ps.KH, ps.KW, ps.StrideH, ps.StrideW)
				checkPooledConv(t, name, pc, rows, want, ref, rng)
			}
		}
	}
}

// TestPooledConvDefault checks the plans a fused pool chooses again: a
// stem of more output channels than Rules.PhaseMaxCout, which the rules
// run as the im2col GEMM alone, runs as the phase plan under the pool
// with the rules' algorithm and band, and keeps a plan that gave them;
// against the interpreter and bit for bit against the convolution and
// the max pool run apart (checkOracle runs it at 1 to 3 threads).
func TestPooledConvDefault(t *testing.T) {
	ps := PoolShape{KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	for ci, c := range []convCase{
		{s: ConvShape{Frames: 2, Cin: 3, H: 37, W: 41, Cout: 40, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}, act: Relu, bias: true},
		{s: ConvShape{Frames: 3, Cin: 3, H: 30, W: 30, Cout: 64, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}, bias: true},
		{s: ConvShape{Frames: 1, Cin: 4, H: 20, W: 26, Cout: 33, KH: 5, KW: 5, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2}, act: Relu},
	} {
		s := c.s.normalized()
		if s.Cout <= rules.PhaseMaxCout || s.Cout > pooledPhaseMaxCout {
			t.Fatalf("%v: want a stem wider than Rules.PhaseMaxCout %d, at most %d", s, rules.PhaseMaxCout, pooledPhaseMaxCout)
		}
		ps := ps
		ps.Planes, ps.H, ps.W = s.Frames*s.Cout, s.OutH(), s.OutW()
		mp, err := NewMaxPool(ps)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(ci), 5))
		rows, _ := convInput(t, rng, c)
		w, packed, bias, _ := convOperands(t, rng, c, PackMR)
		y, _ := interpConv(t, s, rows, w, bias, nil, c.act)
		want := interpEval(t, "MaxPool", map[string]ir.Attr{
			"kernel_shape": attrInts(ps.KH, ps.KW), "strides": attrInts(ps.StrideH, ps.StrideW),
			"pads": attrInts(ps.PadTop, ps.PadLeft, ps.PadBottom, ps.PadRight)}, y)
		for _, tc := range []struct {
			plan Plan
			algo ConvAlgo
			band int // 0: any
		}{
			{Plan{}, AlgoPhase, 0},
			{Plan{Algo: AlgoGEMM}, AlgoGEMM, 0},
			{Plan{Algo: AlgoPhase, Band: 5}, AlgoPhase, 5},
			{Plan{Algo: AlgoPhase, Band: 1}, AlgoPhase, ps.KH},
		} {
			conv, err := NewConvPlan(s, packed, PackMR, bias, c.act, tc.plan)
			if err != nil {
				t.Fatal(err)
			}
			if tc.plan.Algo == "" && conv.Plan().Algo == AlgoPhase {
				t.Fatalf("%v: the rules run the bare convolution as %v: the test wants a stem they do not", s, conv.Plan())
			}
			full, ref := make([]float32, s.OutLen()), make([]float32, ps.Planes*mp.oh*mp.ow)
			p := NewPool(1)
			conv.Run(p, rows, full, nil)
			mp.Run(p, full, ref)
			p.Close()
			pc, err := NewPooledConv(conv, ps)
			if err != nil {
				t.Fatal(err)
			}
			got := pc.Plan()
			if got.Algo != tc.algo || tc.band != 0 && got.Band != tc.band {
				t.Errorf("%v: plan %v under the pool runs %v, want %s band %d", s, tc.plan, got, tc.algo, tc.band)
			}
			name := fmt.Sprintf("%s/%v/plan %v under the pool", ISA(), s, got)
			checkPooledConv(t, name, pc, rows, want, ref, rng)
		}
	}
}

// checkPooledConv runs pc on rows at every thread count of checkOracle
// against the interpreter's want, and bit for bit against ref, the
// convolution and the pool run apart.
func checkPooledConv(t *testing.T, name string, pc *PooledConv, rows Rows, want *ir.Tensor, ref []float32, rng *rand.Rand) {
	t.Helper()
	checkOracle(t, name, want, func(p *Pool) []float32 {
		out := nanFloats(rng, len(ref))
		pc.Run(p, rows, out, nanFloats(rng, pc.c.s.OutLen()))
		if i := firstDiff(out, ref); i >= 0 {
			t.Errorf("%s: out[%d] = %g, apart %g", name, i, out[i], ref[i])
		}
		return out
	})
}
