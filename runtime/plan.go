package runtime

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// Plans: how a layer runs. Every planned layer (Conv, DepthwiseConv,
// InvertedResidual, Dense) takes a Plan; its zero fields are filled by
// the default rules (Rules, fitted per CPU family in rules_fitted_*.go), so the
// zero Plan is the default. Any plan its layer accepts computes the same
// function within float32 rounding, and the same bits at every thread
// count: the plan fixes every block and summation order, the pool only
// hands out the items. tsmc tune times the plans the *Plans functions
// enumerate and keeps the fastest as tuning records; generated code
// passes the one of its ISA level and thread count (TunedPlans.For).

// PlanVersion numbers the meaning of Plan's fields: tuning records of
// another version are not used.
const PlanVersion = 1

// ConvAlgo names a convolution algorithm.
type ConvAlgo string

const (
	// AlgoGEMM is the pixel-major GEMM: weights as A, pixels as B
	// columns, packed by im2col (read in place for a pointwise one).
	AlgoGEMM ConvAlgo = "gemm"
	// AlgoTransposed is the transposed-C GEMM of a pointwise convolution:
	// pixels as rows, output channels as columns (conv_tc.go).
	AlgoTransposed ConvAlgo = "transposed"
	// AlgoWinograd is Winograd F(2x2, 3x3) (winograd.go).
	AlgoWinograd ConvAlgo = "winograd"
	// AlgoPhase is the pixel-major GEMM reading B in place from a
	// stride-phase split of the input (conv_phase.go).
	AlgoPhase ConvAlgo = "phase"
	// AlgoDirect runs a 3x3 undilated depthwise convolution on the plane
	// or row kernels (depthwise.go).
	AlgoDirect ConvAlgo = "direct"
	// AlgoTaps runs a depthwise convolution on the tap kernel (dwtaps.go),
	// the only one for other kernel sizes and dilations. It sums the taps
	// in another order than AlgoDirect.
	AlgoTaps ConvAlgo = "taps"
)

// PackMode says how a pixel-major GEMM packs its B blocks.
type PackMode string

const (
	// PackShared packs a block's B for all of K at once and shares it
	// between the output-channel blocks a worker runs.
	PackShared PackMode = "shared"
	// PackPerK packs each K block in turn, for every output-channel block.
	PackPerK PackMode = "per-k"
)

// Plan describes how one layer runs. A zero field takes the default
// rules' choice; the fields a layer does not read must be zero.
//
//   - Conv: Algo, Kernel (a GEMM micro-kernel of GemmKernels with MR
//     dividing the packed panels, for the GEMM and Winograd algorithms),
//     PixelBlock (pixels per GEMM block, rounded up to the kernel's NR),
//     ChannelBlocks (output-channel blocks per pixel block), Pack, Tiles
//     (Winograd tiles per work item, rounded up to NR) and Panels
//     (transposed: output-channel panels per work item), Band (phase:
//     output rows per work item).
//   - DepthwiseConv: Algo (AlgoDirect or AlgoTaps) and Channels per work
//     item.
//   - InvertedResidual: Band (output rows per band) and Parts (work items
//     per frame).
//   - Dense: Columns (output columns per work item, rounded up to NR).
type Plan struct {
	Algo          ConvAlgo `json:"algo,omitempty"`
	Kernel        string   `json:"kernel,omitempty"`
	PixelBlock    int      `json:"pixel_block,omitempty"`
	ChannelBlocks int      `json:"channel_blocks,omitempty"`
	Pack          PackMode `json:"pack,omitempty"`
	Tiles         int      `json:"tiles,omitempty"`
	Panels        int      `json:"panels,omitempty"`
	Channels      int      `json:"channels,omitempty"`
	Band          int      `json:"band,omitempty"`
	Parts         int      `json:"parts,omitempty"`
	Columns       int      `json:"columns,omitempty"`
}

// String lists the plan's set fields ("default" for none).
func (p Plan) String() string {
	var parts []string
	add := func(name string, v int) {
		if v != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", name, v))
		}
	}
	if p.Algo != "" {
		parts = append(parts, string(p.Algo))
	}
	if p.Kernel != "" {
		parts = append(parts, p.Kernel)
	}
	add("pixels", p.PixelBlock)
	add("cblocks", p.ChannelBlocks)
	if p.Pack != "" {
		parts = append(parts, "pack="+string(p.Pack))
	}
	add("tiles", p.Tiles)
	add("panels", p.Panels)
	add("channels", p.Channels)
	add("band", p.Band)
	add("parts", p.Parts)
	add("columns", p.Columns)
	if len(parts) == 0 {
		return "default"
	}
	return strings.Join(parts, " ")
}

// checkFields reports fields a layer does not read, or negative ones.
func (p Plan) checkFields(layer string, allowed ...string) error {
	set := map[string]bool{
		"algo": p.Algo != "", "kernel": p.Kernel != "", "pixel_block": p.PixelBlock != 0,
		"channel_blocks": p.ChannelBlocks != 0, "pack": p.Pack != "", "tiles": p.Tiles != 0, "panels": p.Panels != 0,
		"channels": p.Channels != 0, "band": p.Band != 0, "parts": p.Parts != 0, "columns": p.Columns != 0,
	}
	for _, a := range allowed {
		delete(set, a)
	}
	for _, name := range []string{"algo", "kernel", "pixel_block", "channel_blocks", "pack", "tiles", "panels", "channels", "band", "parts", "columns"} {
		if set[name] {
			return fmt.Errorf("plan %v: a %s takes no %s", p, layer, name)
		}
	}
	for _, v := range []int{p.PixelBlock, p.ChannelBlocks, p.Tiles, p.Panels, p.Channels, p.Band, p.Parts, p.Columns} {
		if v < 0 {
			return fmt.Errorf("plan %v: negative block size", p)
		}
	}
	return nil
}

// TunedPlan is a plan measured fastest for a layer at an ISA level and a
// thread count (a tuning record, in generated code).
type TunedPlan struct {
	ISA     string
	Threads int
	Plan    Plan
}

// TunedPlans are the tuned plans of one layer.
type TunedPlans []TunedPlan

// For returns the plan tuned for the kernels' ISA level (ISA) and the
// given thread count, else the one tuned at this level for the nearest
// thread count (the fewer threads of two as near), else the zero Plan:
// the default rules. The plans of a layer at one level must agree on
// Winograd (Conv.Winograd), so that its results do not depend on the
// thread count.
func (t TunedPlans) For(threads int) Plan {
	if tunedOff.Load() {
		return Plan{}
	}
	best := -1
	for i, tp := range t {
		if tp.ISA != isa {
			continue
		}
		d := intAbs(tp.Threads - threads)
		if best < 0 || d < intAbs(t[best].Threads-threads) || d == intAbs(t[best].Threads-threads) && tp.Threads < t[best].Threads {
			best = i
		}
	}
	if best < 0 {
		return Plan{}
	}
	return t[best].Plan
}

func intAbs(v int) int { return max(v, -v) }

// tunedOff makes TunedPlans.For return the zero Plan (UseTunedPlans).
var tunedOff atomic.Bool

// UseTunedPlans sets whether the layers planned from now on take their
// tuned plans (TunedPlans.For; the default) or the default rules', and
// returns the setting it replaces: for timing a model with its default
// plans beside its tuned ones in one process (tsmc bench -ab).
func UseTunedPlans(on bool) bool { return !tunedOff.Swap(!on) }

// Rules are the thresholds the default plans are chosen by. Sizes are in
// floats.
type Rules struct {
	// BBudget bounds a GEMM's packed B block (KC x NC), kept in L2;
	// MaxNC the pixels of a block.
	BBudget, MaxNC int
	// TargetItems is the number of work items a layer is split into when
	// it can be, enough to balance a few workers; pixel blocks shrink to
	// no fewer than MinNCPanels B panels for it.
	TargetItems, MinNCPanels int
	// ReuseBudget bounds a B block packed whole and shared by the
	// output-channel blocks (PackShared); an im2col convolution too deep
	// for that whose K x NR fits NarrowBudget takes pixel blocks of one
	// panel, shared.
	ReuseBudget, NarrowBudget int
	// TCWeight weighs the pixel-major plan's modelled cost against the
	// transposed plan's, in percent of 9/10 (100: the transposed plan is
	// taken up to 10/9 of the pixel-major cost, which also pays for
	// packing and scratch tiles); TCMaxPixels is the largest map it is
	// considered for.
	TCWeight, TCMaxPixels int
	// WinoMinFill is the least share of useful outputs (percent of the 2x2
	// tiles' 4 outputs) at which a 3x3 convolution runs as Winograd;
	// WinoTileBlock the tiles of a Winograd work item. A Winograd
	// convolution of at most WinoNarrowMaxCout output channels runs its
	// GEMMs on the level's narrowest kernel (narrowKernel).
	WinoMinFill, WinoTileBlock, WinoNarrowMaxCout int
	// DWItemFLOPs is the work of a depthwise work item.
	DWItemFLOPs int
	// BlockBudget bounds a fused block's expanded rows plus depthwise
	// outputs per worker; BlockMinBytes is the expanded tensor size and
	// BlockMinPixels the output pixels per frame from which the compiler
	// fuses a block (passes.FuseInvertedResidual); BlockMinPartRows the
	// fewest output rows of a frame part.
	BlockBudget, BlockMinBytes, BlockMinPartRows int
	BlockMinPixels                               int
	// A convolution of at most PhaseMaxCin input channels and
	// PhaseMaxCout output channels per group and a GEMM depth (input
	// channels per group x taps) of at least PhaseMinK runs as AlgoPhase
	// by default: a narrow stem, whose im2col packing costs as much as
	// its multiply-adds (with more output channels the packing is shared
	// by more of them, and the phase plan's B reads from L2 cost more).
	PhaseMaxCin, PhaseMinK, PhaseMaxCout int
}

// Rule families: internal/cmd/fitrules fits the default rules on a
// machine and writes them as the table of its CPU's family
// (rules_fitted_<family>.go), since the thresholds follow the balance of
// FMA, load and cache throughput of a vendor's cores (an Intel Xeon runs
// two 512-bit FMAs a cycle where Zen 5 runs one).
const (
	RulesAMD   = "amd"
	RulesIntel = "intel"
)

// RulesFamily returns the family whose fitted table are the default
// rules of a CPU of vendor (CPUVendor): Intel's for GenuineIntel, else
// AMD's, the first table fitted (also for other vendors and
// architectures).
func RulesFamily(vendor string) string {
	if vendor == "GenuineIntel" {
		return RulesIntel
	}
	return RulesAMD
}

// CPURulesFamily returns the family of this CPU (RulesFamily of
// CPUVendor): whose table the default rules are.
func CPURulesFamily() string { return RulesFamily(CPUVendor()) }

// fittedRules are the fitted tables by family.
var fittedRules = map[string]Rules{RulesAMD: fittedRulesAMD, RulesIntel: fittedRulesIntel}

// FittedRules returns the fitted table of family (RulesAMD, RulesIntel),
// or the zero Rules for another.
func FittedRules(family string) Rules { return fittedRules[family] }

// rules are the default rules in use.
var rules = fittedRules[CPURulesFamily()]

// DefaultRules returns the default rules: fitted to this CPU's family by
// internal/cmd/fitrules (RulesFamily), unless SetDefaultRules changed
// them.
func DefaultRules() Rules { return rules }

// SetDefaultRules makes r the default rules of the layers planned from
// now on and returns the rules it replaces: for fitting the rules
// (internal/cmd/fitrules) and tests. It must not run while layers are
// planned.
func SetDefaultRules(r Rules) Rules {
	old := rules
	rules = r
	return old
}

// maxNC is the largest pixel block any plan takes.
const maxNC = 2048

// pow2s returns 0 (the rule's choice) and unit times the powers of two
// up to limit (at least unit).
func pow2s(unit, limit int) []int {
	vals := []int{0}
	for v := unit; ; v *= 2 {
		vals = append(vals, v)
		if v >= limit {
			return vals
		}
	}
}

// ConvPlans lists the plans NewConvPlan takes for s with weights packed
// in panels of packMR rows on this CPU: the zero plan first, then every
// algorithm and kernel with each choice of blocking (zero fields
// included: the rules' choice).
func ConvPlans(s ConvShape, packMR int) []Plan {
	if s.Validate() != nil {
		return nil
	}
	s = s.normalized()
	plans := []Plan{{}}
	probe := &Conv{s: s, packMR: packMR}
	probe.derive()
	kernels := []string{""}
	def := GemmKernelForA(packMR)
	for _, k := range gemmKernels {
		if packMR%k.MR == 0 && k != def {
			kernels = append(kernels, k.Name)
		}
	}
	for _, kn := range kernels {
		probe.kern = def
		if kn != "" {
			probe.kern, _ = convKernel(kn, packMR)
		}
		nr := probe.kern.NR
		panels := ceilDiv(probe.coutG, packMR)
		for _, pb := range pow2s(nr, min(maxNC, ceilDiv(probe.pixels, nr)*nr)) {
			for _, cb := range pow2s(1, panels) {
				if cb > panels {
					continue
				}
				for _, pack := range []PackMode{"", PackShared, PackPerK} {
					plans = append(plans, Plan{Algo: AlgoGEMM, Kernel: kn, PixelBlock: pb, ChannelBlocks: cb, Pack: pack})
				}
			}
		}
		if winogradFits(probe) {
			plans = append(plans, winogradPlans(s, kn, nr)...)
		}
	}
	if narrowKernel(packMR) != nil && winogradFits(probe) {
		// the rules' Winograd kernel may be the narrow one
		// (WinoNarrowMaxCout): the default kernel is then a choice of
		// its own
		plans = append(plans, winogradPlans(s, def.Name, def.NR)...)
	}
	for _, kn := range kernels {
		probe.kern = def
		if kn != "" {
			probe.kern, _ = convKernel(kn, packMR)
		}
		if phaseFits(probe) {
			for _, band := range pow2s(1, s.OutH()) {
				plans = append(plans, Plan{Algo: AlgoPhase, Kernel: kn, Band: band})
			}
		}
	}
	if tcFits(probe) || subsampleFits(s) && gemmTC != nil && s.Group == 1 {
		// a strided 1x1 convolution runs transposed on its subsampled input
		for _, pn := range pow2s(1, ceilDiv(probe.coutG, gemmTC.NR)) {
			plans = append(plans, Plan{Algo: AlgoTransposed, Panels: pn})
		}
	}
	return plans
}

// winogradPlans returns the Winograd plans of s on kernel kn (of NR nr),
// one per tile count.
func winogradPlans(s ConvShape, kn string, nr int) []Plan {
	var plans []Plan
	tiles := s.Frames * ceilDiv(s.W, 2) * ceilDiv(s.H, 2)
	for _, nt := range pow2s(nr, min(4*winoMaxTiles, ceilDiv(tiles, nr)*nr)) {
		if nt <= 4*winoMaxTiles {
			plans = append(plans, Plan{Algo: AlgoWinograd, Kernel: kn, Tiles: nt})
		}
	}
	return plans
}

// winoMaxTiles bounds the tiles a Winograd work item takes in plans
// (its products need 16 x Cout x tiles floats).
const winoMaxTiles = 64

// DepthwisePlans lists the plans NewDepthwiseConvPlan takes for s: the
// zero plan first, then each kernel that takes s (the tap kernel, and
// for a 3x3 undilated shape the direct ones) with each count of channels
// per item.
func DepthwisePlans(s ConvShape) []Plan {
	if s.Validate() != nil {
		return nil
	}
	s = s.normalized()
	algos := []ConvAlgo{AlgoTaps}
	if dwDirect(s) {
		algos = []ConvAlgo{AlgoDirect, AlgoTaps}
	}
	plans := []Plan{{}}
	for _, algo := range algos {
		for _, c := range pow2s(1, s.Cin) {
			if c <= s.Cin {
				plans = append(plans, Plan{Algo: algo, Channels: c})
			}
		}
	}
	return plans
}

// BlockPlans lists the plans NewInvertedResidualPlan takes for a block of
// oh output rows per frame: bands of powers of two rows and up to 8
// parts per frame (each of at least one row).
func BlockPlans(oh int) []Plan {
	var plans []Plan
	for _, band := range pow2s(1, oh) {
		if band > oh {
			continue
		}
		for _, parts := range []int{0, 1, 2, 3, 4, 6, 8} {
			if parts <= oh {
				plans = append(plans, Plan{Band: band, Parts: parts})
			}
		}
	}
	return plans
}

// DensePlans lists the plans NewDensePlan takes for out outputs with
// weights packed in panels of packNR columns.
func DensePlans(out, packNR int) []Plan {
	nr := GemmKernelForB(packNR).NR
	var plans []Plan
	for _, c := range pow2s(nr, ceilDiv(out, nr)*nr) {
		plans = append(plans, Plan{Columns: c})
	}
	return plans
}

// narrowKernel returns the kernel of fewest columns (NR) that divides
// panels of packMR rows, when it has fewer than the default kernel's
// (GemmKernelForA), else nil: at the AVX-512 level the AVX2 6x16 beside
// the 12x32. Winograd's GEMMs (K: input channels, N: a work item's
// tiles) on 4x4 to 28x28 maps with 64 to 256 channels run 6-19% faster
// on it; with 512 channels 7-26% slower (Rules.WinoNarrowMaxCout).
func narrowKernel(packMR int) *GemmKernel {
	def := GemmKernelForA(packMR)
	var best *GemmKernel
	for _, k := range gemmKernels {
		if packMR%k.MR == 0 && k.NR < def.NR && (best == nil || k.NR < best.NR) {
			best = k
		}
	}
	return best
}

// convKernel returns the GEMM kernel of a plan: name "" for the best one
// for panels of packMR rows, else the kernel of that name usable on this
// CPU.
func convKernel(name string, packMR int) (*GemmKernel, error) {
	if name == "" {
		return GemmKernelForA(packMR), nil
	}
	for _, k := range gemmKernels {
		if k.Name == name {
			if packMR%k.MR != 0 {
				return nil, fmt.Errorf("kernel %s of %d rows does not divide panels of %d", name, k.MR, packMR)
			}
			return k, nil
		}
	}
	if k := GemmKernelForA(packMR); k.Name == name { // a pure-Go one
		return k, nil
	}
	return nil, fmt.Errorf("no GEMM kernel %s at ISA level %s", name, isa)
}
