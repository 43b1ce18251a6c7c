package passes

import (
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
// re-infers shapes and verifies the graph. The order matters: folding makes
// the shift exporters' index tensors and zero buffers constants that
// recognition needs; BatchNorm sits between a conv and its activation, so
// it folds first; activations fuse before residual adds so that an
// activation after the add (ResNet) fuses after the residual; shifts fuse
// into the finished convs; the last dead-code pass drops what the fusions
// disconnected.
var Pipeline = []Pass{
	{"fold-constants", "evaluate nodes of constant inputs, and Shape of static shapes, at compile time", FoldConstants},
	{"remove-identity", "drop Identity, Dropout and reshapes, expands or casts to the same type", RemoveIdentity},
	{"recognize-shift", "turn data-movement subgraphs that shift channels in time into TemporalShift", RecognizeTemporalShift},
	{"dead-code", "remove nodes whose outputs nobody reads, and their constants", EliminateDeadCode},
	{"fold-batchnorm", "fold BatchNormalization into the preceding Conv's weights and bias", FoldBatchNorm},
	{"fuse-activation", "make every Conv a tsmc.Conv and fuse a following Relu or Clip", FuseActivation},
	{"fuse-residual-add", "fuse Add(conv, residual) and a following Relu or Clip into the conv", FuseResidualAdd},
	{"fuse-shift", "let convs read through a TemporalShift instead of materialising it", FuseShift},
	{"simplify-head", "pooling, classifier and segment consensus into GlobalAveragePool, Dense, SegmentMean", SimplifyHead},
	{"fuse-inverted-residual", "run expansion, depthwise and projection convs as one band-by-band block", FuseInvertedResidual},
	{"dead-code", "remove nodes whose outputs nobody reads, and their constants", EliminateDeadCode},
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
