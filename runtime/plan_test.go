package runtime

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/ir"
)

// The candidate space of every planned layer against the interpreter:
// each plan the *Plans functions enumerate is built and run on small
// shapes, checked within oracleTol and bit for bit across thread counts
// (checkOracle). TestDriversAtEveryISA runs them at every ISA level.

// interpConv evaluates the convolution s of the input seen through rows
// on the interpreter (ONNX weights w [Cout][Cin/G][KH][KW]) and adds
// bias, residual and act in float64; it returns the result and the
// largest value before the clamp.
func interpConv(t *testing.T, s ConvShape, rows Rows, w, bias, res []float32, act Act) (*ir.Tensor, float64) {
	t.Helper()
	s = s.normalized()
	x := make([]float32, s.InLen())
	rows.Gather(x, s.H*s.W)
	attrs := map[string]ir.Attr{
		"group": attrInt(s.Group), "strides": attrInts(s.StrideH, s.StrideW), "dilations": attrInts(s.DilationH, s.DilationW),
		"pads": attrInts(s.PadTop, s.PadLeft, s.PadBottom, s.PadRight), "kernel_shape": attrInts(s.KH, s.KW),
	}
	y := interpEval(t, "Conv", attrs, tensorF32([]int{s.Frames, s.Cin, s.H, s.W}, x),
		tensorF32([]int{s.Cout, s.Cin / s.Group, s.KH, s.KW}, w))
	ohw := s.OutH() * s.OutW()
	scale := 0.0
	for i, v := range y.F32 {
		sum := float64(v)
		if bias != nil {
			sum += float64(bias[i/ohw%s.Cout])
		}
		if res != nil {
			sum += float64(res[i])
		}
		scale = math.Max(scale, math.Abs(sum))
		y.F32[i] = float32(refAct(act, sum))
	}
	return y, scale
}

// planConvCases are the shapes every convolution plan runs: pointwise
// (transposed plans), 3x3 stride 1 (Winograd), strided, a stem, groups.
func planConvCases() []convCase {
	clip6 := Clip(0, 6)
	pads1 := func(s ConvShape) ConvShape { s.PadTop, s.PadLeft, s.PadBottom, s.PadRight = 1, 1, 1, 1; return s }
	return []convCase{
		{s: ConvShape{Frames: 4, Cin: 24, H: 7, W: 7, Cout: 40, KH: 1, KW: 1}, act: Relu, bias: true, residual: true, shift: true},
		{s: ConvShape{Frames: 3, Cin: 17, H: 5, W: 6, Cout: 30, KH: 1, KW: 1}, act: clip6, bias: true},
		{s: ConvShape{Frames: 1, Cin: 300, H: 3, W: 4, Cout: 13, KH: 1, KW: 1}, residual: true},
		{s: pads1(ConvShape{Frames: 2, Cin: 9, H: 6, W: 7, Cout: 26, KH: 3, KW: 3}), act: Relu, bias: true, residual: true, shift: true},
		{s: pads1(ConvShape{Frames: 2, Cin: 272, H: 3, W: 5, Cout: 40, KH: 3, KW: 3}), act: clip6, bias: true, residual: true},
		{s: pads1(ConvShape{Frames: 2, Cin: 16, H: 3, W: 3, Cout: 12, KH: 3, KW: 3}), bias: true, shift: true, state: true},
		{s: pads1(ConvShape{Frames: 2, Cin: 10, H: 9, W: 8, Cout: 14, KH: 3, KW: 3, StrideH: 2, StrideW: 2}), act: Relu, bias: true},
		{s: ConvShape{Frames: 2, Cin: 3, H: 14, W: 13, Cout: 16, KH: 7, KW: 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3}, act: Relu, bias: true},
		{s: ConvShape{Frames: 2, Cin: 12, H: 7, W: 9, Cout: 16, KH: 1, KW: 1, StrideH: 2, StrideW: 2}, bias: true},
		{s: ConvShape{Frames: 3, Cin: 16, H: 8, W: 13, Cout: 26, Group: 2, KH: 1, KW: 1, StrideH: 2, StrideW: 3}, act: Relu, residual: true, shift: true},
		// deep enough for K blocks, panels straddling frames: the accumulator tiles
		{s: pads1(ConvShape{Frames: 3, Cin: 36, H: 7, W: 5, Cout: 29, KH: 3, KW: 3, StrideH: 2, StrideW: 2}), act: Relu, bias: true, residual: true},
		{s: pads1(ConvShape{Frames: 1, Cin: 8, H: 5, W: 6, Cout: 24, Group: 2, KH: 3, KW: 3}), act: Relu, bias: true, residual: true},
	}
}

func TestEveryConvPlan(t *testing.T) {
	for ci, c := range planConvCases() {
		s := c.s.normalized()
		rng := rand.New(rand.NewPCG(uint64(ci), 61))
		rows, _ := convInput(t, rng, c)
		w, packed, bias, res := convOperands(t, rng, c, PackMR)
		want, scale := interpConv(t, s, rows, w, bias, res, c.act)
		plans := ConvPlans(s, PackMR)
		if len(plans) < 2 || plans[0] != (Plan{}) {
			t.Fatalf("%v: plans %v: want the zero plan and more", s, plans)
		}
		algos := map[ConvAlgo]bool{}
		for _, plan := range plans {
			algos[plan.Algo] = true
			conv, err := NewConvPlan(s, packed, PackMR, bias, c.act, plan)
			if err != nil {
				t.Fatalf("%v plan %v: %v", s, plan, err)
			}
			name := fmt.Sprintf("%s/%v/plan %v", ISA(), s, plan)
			checkOracleScaled(t, name, want, scale, func(p *Pool) []float32 {
				out := nanFloats(rng, s.OutLen())
				conv.Run(p, rows, out, res)
				return out
			})
		}
		if winogradFits(&Conv{s: s, packMR: PackMR, kern: GemmKernelForA(PackMR)}) && !algos[AlgoWinograd] {
			t.Errorf("%v: no Winograd plan among %d", s, len(plans))
		}
	}
}

// TestConvPlanExplicit checks that the plan a convolution reports,
// every choice explicit, plans it the same way again.
func TestConvPlanExplicit(t *testing.T) {
	for _, c := range planConvCases() {
		s := c.s.normalized()
		packed := make([]float32, PackedConvWeightsLen(s.Cout, s.Cin/s.Group, s.KH, s.KW, s.Group, PackMR))
		for _, plan := range ConvPlans(s, PackMR) {
			conv, err := NewConvPlan(s, packed, PackMR, nil, Act{}, plan)
			if err != nil {
				t.Fatal(err)
			}
			got := conv.Plan()
			again, err := NewConvPlan(s, packed, PackMR, nil, Act{}, got)
			if err != nil {
				t.Fatalf("%v plan %v reported as %v: %v", s, plan, got, err)
			}
			if again.Plan() != got {
				t.Errorf("%v plan %v: reported %v, which plans as %v", s, plan, got, again.Plan())
			}
		}
	}
}

func TestEveryDepthwisePlan(t *testing.T) {
	for ci, s := range []ConvShape{
		{Frames: 2, Cin: 19, H: 9, W: 8, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{Frames: 3, Cin: 8, H: 11, W: 10, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1},
		{Frames: 1, Cin: 6, H: 7, W: 7, KH: 5, KW: 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2},
	} {
		s.Cout, s.Group = s.Cin, s.Cin
		s = s.normalized()
		rng := rand.New(rand.NewPCG(uint64(ci), 67))
		x := randFloats(rng, s.InLen())
		rows := PlainRows(x, s.Frames, s.Cin, s.H*s.W)
		w, bias, res := randFloats(rng, s.Cin*s.KH*s.KW), randFloats(rng, s.Cin), randFloats(rng, s.OutLen())
		act := Clip(0, 6)
		want, scale := interpConv(t, s, rows, w, bias, res, act)
		for _, plan := range DepthwisePlans(s) {
			d, err := NewDepthwiseConvPlan(s, w, bias, act, plan)
			if err != nil {
				t.Fatalf("%v plan %v: %v", s, plan, err)
			}
			checkOracleScaled(t, fmt.Sprintf("%s/depthwise %v/plan %v", ISA(), s, plan), want, scale, func(p *Pool) []float32 {
				out := nanFloats(rng, s.OutLen())
				d.Run(p, rows, out, res)
				return out
			})
		}
	}
}

func TestEveryBlockPlan(t *testing.T) {
	type blockCase struct {
		frames, cin, ce, cout, h, w, stride int
		expand, residual, noProject         bool
	}
	for ci, c := range []blockCase{
		{frames: 2, cin: 8, ce: 48, cout: 8, h: 9, w: 11, stride: 1, expand: true, residual: true},
		{frames: 1, cin: 16, ce: 40, cout: 24, h: 12, w: 10, stride: 2, expand: true},
		{frames: 3, cin: 24, ce: 24, cout: 16, h: 6, w: 7, stride: 1},
		// a squeeze-and-excitation block's expansion and depthwise stage
		{frames: 2, cin: 8, ce: 32, cout: 32, h: 10, w: 9, stride: 2, expand: true, noProject: true},
	} {
		rng := rand.New(rand.NewPCG(uint64(ci), 71))
		inC := c.cin
		if !c.expand {
			inC = c.ce
		}
		x := randFloats(rng, c.frames*inC*c.h*c.w)
		rows := PlainRows(x, c.frames, inC, c.h*c.w)
		es := ConvShape{Frames: c.frames, Cin: c.cin, H: c.h, W: c.w, Cout: c.ce, KH: 1, KW: 1}
		ds := ConvShape{Frames: c.frames, Cin: c.ce, Cout: c.ce, Group: c.ce, H: c.h, W: c.w, KH: 3, KW: 3,
			StrideH: c.stride, StrideW: c.stride, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
		oh, ow := ds.OutH(), ds.OutW()
		ps := ConvShape{Frames: c.frames, Cin: c.ce, H: oh, W: ow, Cout: c.cout, KH: 1, KW: 1}
		we, be := randFloats(rng, c.ce*c.cin), randFloats(rng, c.ce)
		wd, bd := randFloats(rng, 9*c.ce), randFloats(rng, c.ce)
		wp, bp := randFloats(rng, c.cout*c.ce), randFloats(rng, c.cout)
		var res []float32
		if c.residual {
			res = randFloats(rng, c.frames*c.cout*oh*ow)
		}
		// the interpreter, stage by stage
		dwRows := rows
		if c.expand {
			e, _ := interpConv(t, es, rows, we, be, nil, Clip(0, 6))
			dwRows = PlainRows(e.F32, c.frames, c.ce, c.h*c.w)
		}
		d, scale := interpConv(t, ds, dwRows, wd, bd, nil, Clip(0, 6))
		want := d
		if !c.noProject {
			want, scale = interpConv(t, ps, PlainRows(d.F32, c.frames, c.ce, oh*ow), wp, bp, res, Act{})
		}
		newConv := func(s ConvShape, w, b []float32, act Act) *Conv {
			packed, _ := PackConvWeights(w, s.Cout, s.Cin, 1, 1, 1, PackMR)
			conv, err := NewConv(s, packed, PackMR, b, act)
			if err != nil {
				t.Fatal(err)
			}
			return conv
		}
		var expand *Conv
		if c.expand {
			expand = newConv(es, we, be, Clip(0, 6))
		}
		dw, err := NewDepthwiseConv(ds, wd, bd, Clip(0, 6))
		if err != nil {
			t.Fatal(err)
		}
		var project *Conv
		if !c.noProject {
			project = newConv(ps, wp, bp, Act{})
		}
		for _, plan := range BlockPlans(oh) {
			b, err := NewInvertedResidualPlan(expand, dw, project, plan)
			if err != nil {
				t.Fatalf("case %d plan %v: %v", ci, plan, err)
			}
			checkOracleScaled(t, fmt.Sprintf("%s/block case %d/plan %v", ISA(), ci, plan), want, scale, func(p *Pool) []float32 {
				out := nanFloats(rng, len(want.F32))
				b.Run(p, rows, out, res)
				return out
			})
		}
	}
}

func TestEveryDensePlan(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 73))
	for _, c := range []struct{ batch, in, out int }{{3, 50, 100}, {16, 70, 40}, {1, 9, 200}} {
		x, w, bias := randFloats(rng, c.batch*c.in), randFloats(rng, c.out*c.in), randFloats(rng, c.out)
		packed, err := PackDenseWeights(w, c.out, c.in, PackNR)
		if err != nil {
			t.Fatal(err)
		}
		attrs := map[string]ir.Attr{"transB": attrInt(1)}
		want := interpEval(t, "Gemm", attrs, tensorF32([]int{c.batch, c.in}, x), tensorF32([]int{c.out, c.in}, w), tensorF32([]int{c.out}, bias))
		for _, plan := range DensePlans(c.out, PackNR) {
			d, err := NewDensePlan(c.batch, c.in, c.out, packed, PackNR, bias, Act{}, plan)
			if err != nil {
				t.Fatalf("dense %+v plan %v: %v", c, plan, err)
			}
			checkOracle(t, fmt.Sprintf("%s/dense %+v/plan %v", ISA(), c, plan), want, func(p *Pool) []float32 {
				y := nanFloats(rng, c.batch*c.out)
				d.Run(p, x, y)
				return y
			})
		}
	}
}

// TestPlanRejects checks that plans a layer cannot run are errors that
// name the plan.
func TestPlanRejects(t *testing.T) {
	pw := ConvShape{Frames: 1, Cin: 8, H: 4, W: 4, Cout: 12, KH: 1, KW: 1}
	packed := make([]float32, PackedConvWeightsLen(12, 8, 1, 1, 1, PackMR))
	for _, plan := range []Plan{
		{Algo: AlgoWinograd},
		{Algo: "fft"},
		{Kernel: "f32_gemm_minmax_99x99__none"},
		{Channels: 4},
		{Band: 2},
		{Algo: AlgoGEMM, Tiles: 32},
		{PixelBlock: -32},
	} {
		if _, err := NewConvPlan(pw, packed, PackMR, nil, Act{}, plan); err == nil {
			t.Errorf("plan %v of %v: no error", plan, pw)
		}
	}
	ds := ConvShape{Frames: 1, Cin: 8, Cout: 8, Group: 8, H: 4, W: 4, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}
	if _, err := NewDepthwiseConvPlan(ds, make([]float32, 72), nil, Act{}, Plan{Algo: AlgoGEMM}); err == nil {
		t.Errorf("depthwise plan with an algorithm: no error")
	}
}

// TestPlanJSON checks the plans' JSON form: zero fields left out, and
// read back to the same plan.
func TestPlanJSON(t *testing.T) {
	p := Plan{Algo: AlgoGEMM, Kernel: "k", PixelBlock: 64, Pack: PackShared}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"algo":"gemm","kernel":"k","pixel_block":64,"pack":"shared"}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	var q Plan
	if err := json.Unmarshal(b, &q); err != nil || q != p {
		t.Errorf("read back %v (%v), want %v", q, err, p)
	}
	if b, _ := json.Marshal(Plan{}); string(b) != "{}" {
		t.Errorf("zero plan is %s", b)
	}
}

// TestTunedPlansFor checks the choice of a layer's tuned plan by ISA
// level and thread count.
func TestTunedPlansFor(t *testing.T) {
	tuned := TunedPlans{
		{ISA: "other", Threads: 2, Plan: Plan{Channels: 1}},
		{ISA: ISA(), Threads: 1, Plan: Plan{Channels: 2}},
		{ISA: ISA(), Threads: 2, Plan: Plan{Channels: 3}},
	}
	for threads, want := range map[int]Plan{1: {Channels: 2}, 2: {Channels: 3}, 3: {Channels: 3}, 8: {Channels: 3}} {
		if got := tuned.For(threads); got != want {
			t.Errorf("For(%d) = %v, want %v", threads, got, want)
		}
	}
	tuned = append(tuned, TunedPlan{ISA: ISA(), Threads: 4, Plan: Plan{Channels: 4}})
	if got := tuned.For(3); got != (Plan{Channels: 3}) {
		t.Errorf("For(3) between 2 and 4 threads = %v, want the 2 threads' plan", got)
	}
	if got := (TunedPlans{{ISA: "other", Threads: 1, Plan: Plan{Channels: 1}}}).For(1); got != (Plan{}) {
		t.Errorf("For at a level without plans = %v, want the default", got)
	}
	if !UseTunedPlans(false) {
		t.Error("tuned plans were off before")
	}
	got := tuned.For(2)
	if UseTunedPlans(true) {
		t.Error("UseTunedPlans(false) did not turn them off")
	}
	if got != (Plan{}) || tuned.For(2) != (Plan{Channels: 3}) {
		t.Errorf("For(2) with tuned plans off = %v, then on = %v; want the default, then the tuned plan", got, tuned.For(2))
	}
}

// TestDefaultPlanUnchanged checks that the zero plan and the rules'
// explicit plan of a convolution give the same bits (the explicit plan
// is what tuning records store when the rules win).
func TestDefaultPlanUnchanged(t *testing.T) {
	for ci, c := range planConvCases() {
		s := c.s.normalized()
		rng := rand.New(rand.NewPCG(uint64(ci), 79))
		rows, _ := convInput(t, rng, c)
		packed, _ := PackConvWeights(randFloats(rng, s.Cout*s.Cin/s.Group*s.KH*s.KW), s.Cout, s.Cin/s.Group, s.KH, s.KW, s.Group, PackMR)
		def, err := NewConv(s, packed, PackMR, nil, c.act)
		if err != nil {
			t.Fatal(err)
		}
		explicit, err := NewConvPlan(s, packed, PackMR, nil, c.act, def.Plan())
		if err != nil {
			t.Fatal(err)
		}
		p := NewPool(2)
		a, b := make([]float32, s.OutLen()), make([]float32, s.OutLen())
		def.Run(p, rows, a, nil)
		explicit.Run(p, rows, b, nil)
		p.Close()
		if !floatcmp.SameBits(a, b) {
			t.Errorf("%v: plan %v differs from the default", s, def.Plan())
		}
	}
}

// TestPlansSameBits checks that a convolution's plans give the same bits
// as each other unless they differ in Winograd (Conv.Winograd): the
// algorithms of one class sum every output in the same order, whatever
// the kernel and blocks. Generated code relies on it for results that do
// not depend on the thread count its plans were tuned for.
func TestPlansSameBits(t *testing.T) {
	for ci, c := range planConvCases() {
		s := c.s.normalized()
		rng := rand.New(rand.NewPCG(uint64(ci), 83))
		rows, _ := convInput(t, rng, c)
		cinG := s.Cin / s.Group
		packed, _ := PackConvWeights(randFloats(rng, s.Cout*cinG*s.KH*s.KW), s.Cout, cinG, s.KH, s.KW, s.Group, PackMR)
		bias := randFloats(rng, s.Cout)
		var res []float32
		if c.residual {
			res = randFloats(rng, s.OutLen())
		}
		first := map[bool][]float32{}
		firstPlan := map[bool]Plan{}
		p := NewPool(2)
		for _, plan := range ConvPlans(s, PackMR) {
			conv, err := NewConvPlan(s, packed, PackMR, bias, c.act, plan)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, s.OutLen())
			conv.Run(p, rows, out, res)
			wino := conv.Winograd()
			if want, ok := first[wino]; !ok {
				first[wino], firstPlan[wino] = out, plan
			} else if i := firstDiff(out, want); i >= 0 {
				t.Errorf("%v: plan %v gives out[%d] = %g, plan %v %g", s, plan, i, out[i], firstPlan[wino], want[i])
			}
		}
		p.Close()
	}
}

// TestWinogradPlansReachEveryKernel: the tuner's Winograd candidates run
// on every kernel of the level, the default one too where the rules'
// choice (WinoNarrowMaxCout) is the narrow kernel.
func TestWinogradPlansReachEveryKernel(t *testing.T) {
	s := ConvShape{Frames: 2, Cin: 32, H: 8, W: 8, Cout: 64, KH: 3, KW: 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1}.normalized()
	if !winogradFits(&Conv{s: s, packMR: PackMR, kern: GemmKernelForA(PackMR)}) {
		t.Skipf("no Winograd at %s", ISA())
	}
	packed := make([]float32, PackedConvWeightsLen(s.Cout, s.Cin, s.KH, s.KW, 1, PackMR))
	for _, r := range []int{0, math.MaxInt32} {
		rules := DefaultRules()
		rules.WinoNarrowMaxCout = r
		old := SetDefaultRules(rules)
		ran := map[string]bool{}
		for _, plan := range ConvPlans(s, PackMR) {
			if plan.Algo != AlgoWinograd {
				continue
			}
			conv, err := NewConvPlan(s, packed, PackMR, nil, Act{}, plan)
			if err != nil {
				t.Fatal(err)
			}
			ran[conv.Plan().Kernel] = true
		}
		SetDefaultRules(old)
		for _, k := range gemmKernels {
			if PackMR%k.MR == 0 && !ran[k.Name] {
				t.Errorf("WinoNarrowMaxCout %d: no Winograd plan runs on %s (ran %v)", r, k.Name, ran)
			}
		}
	}
}
