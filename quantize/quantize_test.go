package quantize

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
	"github.com/tsmc-go/tsmc/passes"
)

// randomFeeds makes runs of g's inputs: normal values (ImageNet-normalised
// pixels have about unit spread); state inputs start at zero.
func randomFeeds(g *ir.Graph, rng *rand.Rand, runs int, states map[string]string) Sequence {
	var seq Sequence
	for range runs {
		f := Feeds{}
		for _, in := range g.Inputs {
			t, _ := ir.NewTensor(ir.Float32, in.Shape)
			if _, state := states[in.Name]; !state {
				for i := range t.F32 {
					t.F32[i] = float32(rng.NormFloat64())
				}
			}
			f[in.Name] = t
		}
		seq = append(seq, f)
	}
	return seq
}

// quantizeModel quantises a bundled model on random calibration data and
// returns the float graph, the QDQ graph (read back from its encoding) and
// the calibration.
func quantizeModel(t *testing.T, name string, opts Options) (float, qdq *ir.Graph, calib []Sequence, res *Result) {
	t.Helper()
	path := filepath.Join("..", "testdata", name, "model.onnx")
	opt, err := tsmc.Optimize(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	states, err := codegen.StreamStates(opt)
	if err != nil {
		t.Fatal(err)
	}
	opts.States = map[string]string{}
	for _, s := range states {
		opts.States[s.Input] = s.Output
	}
	if float, err = tsmc.Load(path, nil); err != nil {
		t.Fatal(err)
	}
	g, err := tsmc.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	calib = []Sequence{randomFeeds(g, rng, 3, opts.States), randomFeeds(g, rng, 3, opts.States)}
	if res, err = Quantize(g, calib, opts); err != nil {
		t.Fatal(err)
	}
	data, err := onnx.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	if qdq, err = onnx.Decode(data, ""); err != nil {
		t.Fatal(err)
	}
	if err := tsmc.Prepare(qdq, nil); err != nil {
		t.Fatal(err)
	}
	return float, qdq, calib, res
}

// TestQuantizeTinyModels quantises the bundled models and checks the QDQ
// model: per-channel symmetric int8 weights using their whole range,
// int32 biases in units of x_scale × w_scale, uint8 activations; after
// tsmc's passes every convolution and the classifier run quantised, every
// shift fused in int8, and the int8 model agrees with float32 as a
// quantised network of random weights can (a sanity bound).
func TestQuantizeTinyModels(t *testing.T) {
	for _, name := range []string{"tsm_tiny_official", "tsm_tiny_mmaction", "tsm_tiny_online"} {
		t.Run(name, func(t *testing.T) {
			float, qdq, calib, res := quantizeModel(t, name, Options{})
			checkQDQWeights(t, qdq)
			convs := float.ComputeStats().Ops["Conv"]
			if res.Convs != convs {
				t.Errorf("%d convs quantised of %d", res.Convs, convs)
			}
			states := map[string]string{}
			opt, _ := tsmc.Optimize(filepath.Join("..", "testdata", name, "model.onnx"), nil, nil)
			sts, _ := codegen.StreamStates(opt)
			for _, s := range sts {
				states[s.Input] = s.Output
			}
			if err := passes.Run(qdq, passes.Options{}); err != nil {
				t.Fatal(err)
			}
			ops := qdq.ComputeStats().Ops
			if ops["tsmc.QConv"] != convs || ops["tsmc.Conv"] != 0 || ops["tsmc.QDense"] != 1 || ops["tsmc.QAdd"] != 0 {
				t.Errorf("ops after the passes: %v; want %d tsmc.QConv (residuals fused), one tsmc.QDense, no float convs", ops, convs)
			}
			if m, f := passes.ShiftCounts(qdq); m != 0 || f == 0 {
				t.Errorf("%d shifts materialised, %d fused", m, f)
			}
			a, err := Agree(float, qdq, calib, states)
			if err != nil {
				t.Fatal(err)
			}
			if e := a.RelErr[a.Output]; !(e < 0.15) {
				t.Errorf("int8 %s is %.3g from float32 (relative): more than quantisation gives", a.Output, e)
			}
			t.Logf("%s: %d runs, %s relative error %.3g, top-1 %d/%d", name, a.Runs, a.Output, a.RelErr[a.Output], a.Top1, a.Samples)
		})
	}
}

// checkQDQWeights checks the weights and biases of every Conv and Gemm of
// a QDQ graph.
func checkQDQWeights(t *testing.T, g *ir.Graph) {
	t.Helper()
	producers := g.Producers()
	for _, n := range g.Nodes {
		if !isOp(n, "Conv") && !isOp(n, "Gemm") {
			continue
		}
		x, w := producers[n.Inputs[0]], producers[n.Inputs[1]]
		if x == nil || x.Op != "DequantizeLinear" || x.Inputs[0].DType != ir.Uint8 {
			t.Fatalf("%s: input is not a uint8 DequantizeLinear", n.Describe())
		}
		if w == nil || w.Op != "DequantizeLinear" || !w.Inputs[0].IsConst() || w.Inputs[0].DType != ir.Int8 {
			t.Fatalf("%s: weights are not a DequantizeLinear of int8 constants", n.Describe())
		}
		q, scales, zeros := w.Inputs[0].Const, w.Inputs[1].Const.F32, w.Inputs[2].Const.I64
		axis := int(w.AttrInt("axis", 1))
		channels := q.Shape[axis]
		if len(scales) != channels {
			t.Fatalf("%s: %d weight scales for %d channels", n.Describe(), len(scales), channels)
		}
		inner := q.Shape[axis+1:].Size()
		peak := make([]int64, channels)
		for i, v := range q.I64 {
			c := i / inner % channels
			peak[c] = max(peak[c], v, -v)
		}
		for c, p := range peak {
			if zeros[c] != 0 || p != 127 {
				t.Fatalf("%s: channel %d has zero point %d and peak |q| %d, want 0 and 127", n.Describe(), c, zeros[c], p)
			}
		}
		xs := x.Inputs[1].Const.F32[0]
		if b := producers[n.Input(2)]; b != nil {
			if b.Inputs[0].DType != ir.Int32 {
				t.Fatalf("%s: bias is %v", n.Describe(), b.Inputs[0].DType)
			}
			for c, s := range b.Inputs[1].Const.F32 {
				if s != float32(xs*scales[c]) {
					t.Fatalf("%s: bias scale %v of channel %d is not x_scale × w_scale = %v", n.Describe(), s, c, float32(xs*scales[c]))
				}
			}
		}
	}
}

// TestActivationsDropped: a ReLU6 whose output range [0, m] with m <= 6
// makes it redundant goes, its quantisation saturating exactly as it
// clamps; the zero point is 0.
func TestActivationsDropped(t *testing.T) {
	_, qdq, _, res := quantizeModel(t, "tsm_tiny_online", Options{})
	ops := qdq.ComputeStats().Ops
	if res.DroppedActivations == 0 || ops["Clip"] != 0 || ops["Relu"] != 0 {
		t.Errorf("%d activations dropped, ops left %v", res.DroppedActivations, ops)
	}
}

// TestMethods: the percentile and entropy ranges lie within the min/max
// range, and cut a far outlier that min/max keeps.
func TestMethods(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	vals := make([]float32, 200000)
	for i := range vals {
		vals[i] = float32(math.Abs(rng.NormFloat64()))
	}
	vals[7] = 100 // one outlier
	h := newHistogram(0, 100)
	h.add(vals)
	p := h.percentile(99.99)
	e := h.entropy()
	t.Logf("percentile range %v, entropy range %v", p, e)
	if p[0] != 0 || !(p[1] > 3 && p[1] < 5) {
		t.Errorf("percentile range %v, want [0, about 4 standard deviations]", p)
	}
	// The entropy threshold is at least as many bins as levels (255 of
	// 2048 over [0, 100]: 12.5), well short of the outlier.
	if e[0] != 0 || !(e[1] > 2 && e[1] < 20) {
		t.Errorf("entropy range %v, want [0, well below the outlier]", e)
	}
	// Signed data: the range spans both signs.
	s := newHistogram(-100, 100)
	for i := range vals {
		if i%2 == 0 {
			vals[i] = -vals[i]
		}
	}
	s.add(vals)
	if r := s.percentile(99.99); !(r[0] < -2 && r[1] > 2 && r[1] < 10) {
		t.Errorf("signed percentile range %v", r)
	}
	if r := s.entropy(); !(r[0] < -2 && r[0] > -20 && r[1] > 2 && r[1] < 20) {
		t.Errorf("signed entropy range %v", r)
	}
	for _, m := range []Method{Percentile, Entropy} {
		_, qdq, _, _ := quantizeModel(t, "tsm_tiny_official", Options{Method: m})
		if err := passes.Run(qdq, passes.Options{}); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
}

// TestUint8Params: the range always holds 0 exactly (a zero point) and
// maps onto 0..255.
func TestUint8Params(t *testing.T) {
	for _, r := range [][2]float64{{0, 6}, {-1, 3}, {2, 5}, {-7, -1}, {0, 0}, {-0.001, 1000}} {
		p := uint8Params(r[0], r[1])
		if q := p.quantize(0); q != p.zero || interp.Dequantize(q, p.zero, p.scale) != 0 {
			t.Errorf("%v: zero quantises to %d, zero point %d", r, q, p.zero)
		}
		lo, hi := math.Min(r[0], 0), math.Max(r[1], 0)
		if hi > lo && (p.quantize(float32(lo)) > 1 || p.quantize(float32(hi)) < 254) {
			t.Errorf("%v: the range maps onto %d..%d", r, p.quantize(float32(lo)), p.quantize(float32(hi)))
		}
	}
}

// TestQuantizeErrors: what cannot be quantised says why.
func TestQuantizeErrors(t *testing.T) {
	g, err := tsmc.Load(filepath.Join("..", "testdata", "tsm_tiny_official", "model.onnx"), nil)
	if err != nil {
		t.Fatal(err)
	}
	calib := []Sequence{randomFeeds(g, rand.New(rand.NewPCG(1, 1)), 1, nil)}
	for _, c := range []struct {
		opts  Options
		calib []Sequence
		opset int64
		want  string
	}{
		{Options{Method: "kl"}, calib, 13, "unknown calibration method"},
		{Options{}, nil, 13, "no calibration data"},
		{Options{}, calib, 12, "need opset 13"},
		{Options{Method: Percentile, Percentile: 20}, calib, 13, "not in (50, 100]"},
	} {
		g.Opsets[""] = c.opset
		if _, err := Quantize(g, c.calib, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
