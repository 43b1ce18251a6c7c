package passes

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/ops"
)

// Pass is one named graph rewrite.
type Pass struct {
	Name string
	// Doc says in one line what the pass does; the function's doc comment
	// says what it assumes and changes.
	Doc string
	Run func(*ir.Graph) error
}

// Pipeline is the optimisation pipeline, in order. After every pass, Run
// re-infers shapes and verifies the graph. Why the order is what it is
// stands in passOrder, which a test checks.
var Pipeline = []Pass{
	{"fold-constants", "evaluate nodes of constant inputs, and Shape of static shapes, at compile time", FoldConstants},
	{"remove-identity", "drop Identity, Dropout and reshapes, expands or casts to the same type", RemoveIdentity},
	{"recognize-temporal-pool", "turn max pooling over time, however viewed, into TemporalPool", RecognizeTemporalPool},
	{"recognize-shift", "turn data-movement subgraphs that shift channels in time into TemporalShift", RecognizeTemporalShift},
	{"dead-code", "remove nodes whose outputs nobody reads, and their constants", EliminateDeadCode},
	{"explicit-pads", "write auto_pad of convs and pools as explicit pads", ExplicitPads},
	{"fold-pad", "fold a zero Pad into the Conv or AveragePool that reads it", FoldPad},
	{"quantize-movement", "run data movement, shifts and max pools between DequantizeLinear and QuantizeLinear on the quantised tensors", QuantizeMovement},
	{"dead-code", "remove nodes whose outputs nobody reads, and their constants", EliminateDeadCode},
	{"fuse-qdq", "turn DequantizeLinear -> Conv/Gemm/MatMul/Add (-> Relu/Clip) -> QuantizeLinear into tsmc.QConv, tsmc.QDense, tsmc.QAdd", FuseQDQ},
	{"fuse-qlinear", "turn the operator form (QLinearConv, QLinearMatMul, QGemm, QLinearAdd) into tsmc.QConv, tsmc.QDense, tsmc.QAdd", FuseQLinear},
	{"fuse-quantized-residual", "fuse a tsmc.QAdd into the tsmc.QConv that computes one operand", FuseQuantizedResidual},
	{"center-weights", "rewrite 8-bit weights with zero points as int8 weights without, where they fit", CenterWeights},
	{"dequantize-late", "move a DequantizeLinear past a reshape, transpose or slice that makes a graph output", DequantizeLate},
	{"fold-batchnorm", "fold BatchNormalization into the preceding Conv's weights and bias", FoldBatchNorm},
	{"fuse-activation", "make every Conv a tsmc.Conv and fuse a following activation (Relu, Clip, SiLU, HardSwish, ...)", FuseActivation},
	{"fuse-residual-add", "fuse Add(conv, residual) and a following activation into the conv", FuseResidualAdd},
	{"fuse-gated-activation", "turn the x·Sigmoid(x) and x·HardSigmoid(x) left into one tsmc.Activation", FuseGatedActivation},
	{"fuse-qlookup", "turn DequantizeLinear -> elementwise ops -> QuantizeLinear into a tsmc.QLookup table of the 256 bytes", FuseQLookup},
	{"fuse-shift", "let convs read through a TemporalShift instead of materialising it", FuseShift},
	{"fuse-channel-scale", "let a conv scale its input by a squeeze-and-excitation gate as it packs it, instead of a Mul writing the product", FuseChannelScale},
	{"merge-reduce-means", "merge chains of ReduceMean into one", MergeReduceMeans},
	{"pool-reduce-means", "spatial ReduceMean into GlobalAveragePool", PoolReduceMeans},
	{"fuse-dense", "classifier Gemm (and its pooling) into tsmc.Dense", FuseDense},
	{"fuse-segment-mean", "segment consensus (Reshape + ReduceMean over time) into tsmc.SegmentMean", FuseSegmentMean},
	{"fuse-attention", "run MatMul -> Softmax -> MatMul (a non-local block's attention) as one tsmc.Attention by blocks of rows, absorbing the transposes around it", FuseAttention},
	{"quantize-attention", "compute the scores of an attention between dequantised queries and keys as the exact integer product of the quantised tensors (MatMulIntegerToFloat)", QuantizeAttention},
	{"fuse-inverted-residual", "run expansion, depthwise and projection convs (or the first two), float32 or int8, as one band-by-band block", FuseInvertedResidual},
	{"fuse-max-pool", "fuse a MaxPool into the convolution whose output only it reads, to pool it band by band", FuseMaxPool},
	{"dead-code", "remove nodes whose outputs nobody reads, and their constants", EliminateDeadCode},
}

// passOrder lists the constraints on Pipeline's order: pass a must run
// before pass b (a's first run before b's last), and why.
var passOrder = []struct{ a, b, why string }{
	{"fold-constants", "recognize-shift", "recognition reads the exporters' index tensors and zero buffers as constants"},
	{"remove-identity", "recognize-shift", "identities inside a shift's data-movement cone hide its form"},
	{"recognize-shift", "fuse-shift", "only a recognised TemporalShift fuses"},
	{"fold-constants", "recognize-temporal-pool", "the views around the pool need constant shapes"},
	{"recognize-temporal-pool", "recognize-shift", "a shift after a temporal pool starts at the pool's frames"},
	{"explicit-pads", "fuse-activation", "tsmc.Conv takes explicit pads"},
	{"explicit-pads", "fold-pad", "a Pad adds to explicit pads"},
	{"fold-pad", "fuse-activation", "the Pad folds into an ONNX Conv"},
	{"fold-constants", "fold-pad", "a Pad's pads must be constants"},
	{"fold-batchnorm", "fuse-activation", "BatchNormalization sits between a conv and its activation"},
	{"fuse-activation", "fuse-residual-add", "an activation after the add (ResNet) fuses after the residual"},
	{"fuse-activation", "fuse-shift", "shifts fuse into tsmc.Conv, which fuse-activation makes"},
	{"fuse-activation", "fuse-gated-activation", "a SiLU or HardSwish after a convolution fuses into its epilogue instead"},
	{"fuse-residual-add", "fuse-gated-activation", "so does one after a convolution's residual add"},
	{"merge-reduce-means", "pool-reduce-means", "MobileNetV2's two means pool only once merged"},
	{"pool-reduce-means", "fuse-dense", "the Dense folds the GlobalAveragePool before it"},
	{"fuse-residual-add", "fuse-inverted-residual", "a block's residual is its projection's"},
	{"fuse-shift", "fuse-inverted-residual", "a block reads its input through its first stage's shift"},
	{"fuse-inverted-residual", "dead-code", "the last sweep drops what the fusions disconnected"},
	{"fuse-activation", "fuse-channel-scale", "the channel scale is an input of tsmc.Conv, which fuse-activation makes"},
	{"fuse-shift", "fuse-channel-scale", "a convolution reading through a shift takes no channel scale, and the shift's reader must be known first"},
	{"fuse-channel-scale", "fuse-inverted-residual", "a block does not take a projection with a channel scale: it must see the scale folded"},
	{"fuse-residual-add", "fuse-max-pool", "a pooled convolution takes no residual, so a residual fuses first"},
	{"fuse-shift", "fuse-max-pool", "a shift fuses into the convolution before its pool does"},
	{"fuse-channel-scale", "fuse-max-pool", "a pooled convolution takes no channel scale: it must see the scale folded"},
	{"fold-constants", "fuse-attention", "the scores' scale must be a constant"},
	{"fuse-attention", "dead-code", "the transposes the attention reads past are left unread"},
	{"fuse-attention", "quantize-attention", "the attention is quantised once it is one tsmc.Attention"},
	{"quantize-attention", "dead-code", "the float32 movement and DequantizeLinear it reads past are left unread"},
	{"recognize-shift", "quantize-movement", "the shift moves int8 rows only once it is one TemporalShift"},
	{"quantize-movement", "fuse-qdq", "a conv reads a quantised shift's output through a DequantizeLinear only once the shift runs on int8"},
	{"fuse-qdq", "fuse-quantized-residual", "the residual sum is a tsmc.QAdd only after fuse-qdq"},
	{"fuse-qdq", "fold-batchnorm", "fuse-qdq folds the weights it leaves, which BatchNorm folding needs as constants"},
	{"fuse-qdq", "fuse-activation", "fuse-activation turns every ONNX Conv into tsmc.Conv, which fuse-qdq no longer sees"},
	{"fold-constants", "fuse-qdq", "quantised weights, zero points and scales must be constants"},
	{"fuse-qdq", "dequantize-late", "a DequantizeLinear that a quantised op reads through movement fuses into it first"},
	{"dequantize-late", "dead-code", "the DequantizeLinear it leaves without readers goes"},
	{"fold-constants", "fuse-qlinear", "the operator form's scales, zero points, weights and bias must be constants"},
	{"fuse-qlinear", "fuse-quantized-residual", "a QLinearAdd is a tsmc.QAdd only after fuse-qlinear"},
	{"fuse-qdq", "center-weights", "the weights it centres are tsmc.QConv's and tsmc.QDense's"},
	{"fuse-qlinear", "center-weights", "so are those of the operator form"},
	{"fuse-gated-activation", "fuse-qlookup", "x·Sigmoid(x) is one elementwise op, and a table, once fused"},
	{"quantize-movement", "fuse-qlookup", "a table's DequantizeLinear must read the quantised tensor, not a float32 move of it"},
	{"fuse-qlookup", "dead-code", "the float32 ops a table replaces are left unread"},
}

func init() {
	if err := checkOrder(Pipeline); err != nil {
		panic("passes: " + err.Error())
	}
}

// checkOrder reports every constraint of passOrder that pipeline breaks,
// and constraints naming a pass it lacks.
func checkOrder(pipeline []Pass) error {
	var errs []error
	first, last := map[string]int{}, map[string]int{}
	for i, p := range pipeline {
		if _, seen := first[p.Name]; !seen {
			first[p.Name] = i
		}
		last[p.Name] = i
	}
	for _, c := range passOrder {
		a, okA := first[c.a]
		b, okB := last[c.b]
		switch {
		case !okA || !okB:
			errs = append(errs, fmt.Errorf("pass order constraint %s before %s names a pass the pipeline lacks", c.a, c.b))
		case a > b:
			errs = append(errs, fmt.Errorf("pass %s must run before %s: %s", c.a, c.b, c.why))
		}
	}
	return errors.Join(errs...)
}

// Options tunes Run.
type Options struct {
	// StopAfter names the pass after which Run stops (the first one of
	// that name); "" runs the whole pipeline.
	StopAfter string
	// AfterPass, when set, is called after each pass once the graph has
	// been re-inferred and verified; an error stops the run.
	AfterPass func(p Pass, g *ir.Graph) error
}

// PassNames lists the pipeline's pass names in order, without repeats.
func PassNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, p := range Pipeline {
		if !seen[p.Name] {
			seen[p.Name] = true
			names = append(names, p.Name)
		}
	}
	return names
}

// Run applies the pipeline to a graph whose shapes are inferred (see
// tsmc.Prepare). After every pass it re-infers shapes with the reference
// interpreter as evaluator and verifies the graph; errors name the pass.
func Run(g *ir.Graph, opts Options) error {
	if opts.StopAfter != "" && !slices.Contains(PassNames(), opts.StopAfter) {
		return fmt.Errorf("no pass named %q (passes: %s)", opts.StopAfter, strings.Join(PassNames(), ", "))
	}
	for _, p := range Pipeline {
		if err := runPass(g, p); err != nil {
			return err
		}
		if opts.AfterPass != nil {
			if err := opts.AfterPass(p, g); err != nil {
				return fmt.Errorf("after pass %s: %w", p.Name, err)
			}
		}
		if p.Name == opts.StopAfter {
			return nil
		}
	}
	return nil
}

// runPass runs one pass and checks the graph it leaves.
func runPass(g *ir.Graph, p Pass) error {
	if err := p.Run(g); err != nil {
		return fmt.Errorf("pass %s: %w", p.Name, err)
	}
	if err := ir.InferShapes(g, interp.Eval); err != nil {
		return fmt.Errorf("pass %s left a graph whose shapes cannot be inferred: %w", p.Name, err)
	}
	if err := g.Verify(); err != nil {
		return fmt.Errorf("pass %s left an invalid graph: %w", p.Name, err)
	}
	return nil
}

// ShiftCounts counts the temporal shifts of a graph: Materialized is the
// number of TemporalShift ops, Fused the number of distinct shifts (by
// shifted input and shift attributes) that other tsmc ops (convolutions,
// fused blocks) read through. A shift in the 'block' placement, fused into
// its convs but still needed by another reader, counts in both.
func ShiftCounts(g *ir.Graph) (materialized, fused int) {
	type key struct {
		x     *ir.Value
		shift string
	}
	seen := map[key]bool{}
	for _, n := range g.Nodes {
		if isTsmc(n, ops.OpTemporalShift) {
			materialized++
			continue
		}
		x, _ := ops.ShiftState(n)
		if s, ok, err := ops.ShiftOf(n); x != nil && ok && err == nil {
			seen[key{x, s.String()}] = true
		}
	}
	return materialized, len(seen)
}
