package quantize

import (
	"fmt"
	"math"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// Calibration: the graph runs on every sequence, feeding an online
// model's states back, and each activation class collects its values'
// range (and, for the percentile and entropy methods, in a second pass,
// their histogram over that range).

// histogramBins is the resolution of the percentile and entropy methods.
const histogramBins = 2048

// RunSequences runs g on each sequence in turn, an online model's state
// inputs fed from the previous run's outputs (states: input -> output),
// and calls visit with every node's outputs (nil visits nothing) and
// after each run with the graph outputs.
func RunSequences(g *ir.Graph, calib []Sequence, states map[string]string, visit func(n *ir.Node, outs []*ir.Tensor), done func(seq, run int, outs map[string]*ir.Tensor) error) error {
	for s, seq := range calib {
		var prev map[string]*ir.Tensor
		for r, feeds := range seq {
			in := Feeds{}
			for k, v := range feeds {
				in[k] = v
			}
			if prev != nil {
				for input, output := range states {
					if t, ok := prev[output]; ok {
						in[input] = t
					}
				}
			}
			var opt interp.Options
			if visit != nil {
				opt.AfterNode = func(n *ir.Node, outs []*ir.Tensor) error {
					visit(n, outs)
					return nil
				}
			}
			outs, err := interp.RunWith(g, in, opt)
			if err != nil {
				return fmt.Errorf("calibration sequence %d run %d: %w", s, r, err)
			}
			if done != nil {
				if err := done(s, r, outs); err != nil {
					return err
				}
			}
			prev = outs
		}
	}
	return nil
}

// calibrate returns each class's range [lo, hi] and the number of runs.
func calibrate(g *ir.Graph, pl *quantPlan, calib []Sequence, opts Options) (map[int][2]float64, int, error) {
	isPoint := map[*ir.Value]bool{}
	for _, p := range pl.points {
		isPoint[p] = true
	}
	// each visits the calibration values of every point, graph inputs
	// included.
	each := func(what string, fn func(class int, t *ir.Tensor)) (int, error) {
		runs := 0
		inputs := map[string]*ir.Value{}
		for _, in := range g.Inputs {
			if isPoint[in] {
				inputs[in.Name] = in
			}
		}
		err := RunSequences(g, calib, opts.States, func(n *ir.Node, outs []*ir.Tensor) {
			for i, o := range n.Outputs {
				if o != nil && isPoint[o] && i < len(outs) {
					fn(pl.class[o], outs[i])
				}
			}
		}, func(s, r int, _ map[string]*ir.Tensor) error {
			runs++
			if opts.Progress != nil {
				opts.Progress("%s: sequence %d run %d", what, s, r)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		// Graph inputs that are points: their values are the feeds (for
		// state inputs, the first run's; the others pass through movement
		// into points that see them).
		for _, seq := range calib {
			for _, feeds := range seq {
				for name, v := range inputs {
					if t := feeds[name]; t != nil {
						fn(pl.class[v], t)
					}
				}
			}
		}
		return runs, nil
	}
	ranges := map[int][2]float64{}
	runs, err := each("ranges", func(c int, t *ir.Tensor) {
		r, ok := ranges[c]
		if !ok {
			r = [2]float64{math.Inf(1), math.Inf(-1)}
		}
		for _, v := range t.F32 {
			r[0], r[1] = math.Min(r[0], float64(v)), math.Max(r[1], float64(v))
		}
		ranges[c] = r
	})
	if err != nil {
		return nil, 0, err
	}
	for c, r := range ranges {
		if math.IsInf(r[0], 0) || math.IsInf(r[1], 0) || math.IsNaN(r[0]) || math.IsNaN(r[1]) {
			return nil, 0, fmt.Errorf("activation class %d has no finite range from the calibration data (%v, %v)", c, r[0], r[1])
		}
	}
	if opts.Method == MinMax {
		return ranges, runs, nil
	}
	// Second pass: histograms over each class's range, widened to 0.
	hists := map[int]*histogram{}
	for c, r := range ranges {
		hists[c] = newHistogram(math.Min(r[0], 0), math.Max(r[1], 0))
	}
	if _, err := each("histograms", func(c int, t *ir.Tensor) { hists[c].add(t.F32) }); err != nil {
		return nil, 0, err
	}
	for c, h := range hists {
		switch opts.Method {
		case Percentile:
			ranges[c] = h.percentile(opts.Percentile)
		case Entropy:
			ranges[c] = h.entropy()
		}
	}
	return ranges, runs, nil
}

// histogram counts values in equal bins over [lo, hi].
type histogram struct {
	lo, hi float64
	counts []float64
}

func newHistogram(lo, hi float64) *histogram {
	return &histogram{lo: lo, hi: hi, counts: make([]float64, histogramBins)}
}

func (h *histogram) width() float64 { return (h.hi - h.lo) / float64(len(h.counts)) }

func (h *histogram) add(vs []float32) {
	w := h.width()
	if !(w > 0) {
		return
	}
	for _, v := range vs {
		i := int((float64(v) - h.lo) / w)
		h.counts[max(0, min(i, len(h.counts)-1))]++
	}
}

// percentile keeps p percent of the values on each side: the range from
// the (100-p)th to the pth percentile (a tail that holds only zeros stays
// at zero).
func (h *histogram) percentile(p float64) [2]float64 {
	total := 0.0
	for _, c := range h.counts {
		total += c
	}
	cut := total * (100 - p) / 100
	lo, hi := h.lo, h.hi
	below := 0.0
	for i, c := range h.counts {
		if below+c > cut {
			lo = h.lo + float64(i)*h.width()
			break
		}
		below += c
	}
	above := 0.0
	for i := len(h.counts) - 1; i >= 0; i-- {
		if above+h.counts[i] > cut {
			hi = h.lo + float64(i+1)*h.width()
			break
		}
		above += h.counts[i]
	}
	return [2]float64{math.Min(lo, 0), math.Max(hi, 0)}
}

// entropy picks the clipping threshold T of |x| whose 8-bit quantisation
// loses least information (the Kullback-Leibler divergence between the
// clipped distribution and its quantised form, TensorRT's method), and
// returns the range clipped to [-T, T].
func (h *histogram) entropy() [2]float64 {
	// The histogram of |x| over [0, m].
	m := math.Max(-h.lo, h.hi)
	if !(m > 0) {
		return [2]float64{h.lo, h.hi}
	}
	abs := make([]float64, histogramBins)
	w := h.width()
	for i, c := range h.counts {
		center := math.Abs(h.lo + (float64(i)+0.5)*w)
		abs[min(int(center/m*histogramBins), histogramBins-1)] += c
	}
	levels := 255 // one sided: uint8 from 0
	if h.lo < 0 && h.hi > 0 {
		levels = 128
	}
	best, bestKL := histogramBins, math.Inf(1)
	for i := levels; i <= histogramBins; i++ {
		kl := clippedKL(abs, i, levels)
		if kl < bestKL {
			best, bestKL = i, kl
		}
	}
	t := float64(best) / histogramBins * m
	return [2]float64{math.Max(h.lo, -t), math.Min(h.hi, t)}
}

// clippedKL is the divergence between P, the first n bins of hist with
// the rest (the clipped outliers) folded into the last, and Q, the same n
// bins without the outliers quantised to levels bins, each level's count
// spread over the bins where P is nonzero: clipping costs what the
// outliers weigh, fewer levels per bin cost resolution. Bins where P has
// mass and Q none get a small floor, so clipping everything there is
// costly, not impossible.
func clippedKL(hist []float64, n, levels int) float64 {
	p := make([]float64, n)
	copy(p, hist[:n])
	for _, c := range hist[n:] {
		p[n-1] += c
	}
	q := make([]float64, n)
	for j := 0; j < levels; j++ {
		a, b := j*n/levels, (j+1)*n/levels
		sum, nonzero := 0.0, 0
		for k := a; k < b; k++ {
			sum += hist[k]
			if p[k] != 0 {
				nonzero++
			}
		}
		for k := a; k < b; k++ {
			if p[k] != 0 {
				q[k] = sum / float64(nonzero)
			}
		}
	}
	ps, qs := 0.0, 0.0
	for k := range p {
		ps += p[k]
		qs += q[k]
	}
	if ps == 0 || qs == 0 {
		return math.Inf(1)
	}
	const floor = 1e-6
	kl := 0.0
	for k := range p {
		if p[k] == 0 {
			continue
		}
		pk, qk := p[k]/ps, math.Max(q[k]/qs, floor)
		kl += pk * math.Log(pk/qk)
	}
	return kl
}
