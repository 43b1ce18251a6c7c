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
				checkOracle(t, name, want, func(p *Pool) []float32 {
					out := nanFloats(rng, len(ref))
					pc.Run(p, rows, out, nanFloats(rng, s.OutLen()))
					if i := firstDiff(out, ref); i >= 0 {
						t.Errorf("%s: out[%d] = %g, apart %g", name, i, out[i], ref[i])
					}
					return out
				})
			}
		}
	}
}
