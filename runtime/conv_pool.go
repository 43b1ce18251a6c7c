package runtime

import "fmt"

// PooledConv is a convolution followed by a 2-D max pool of its output
// (a tsmc.Conv with a fused pool). On the phase plan each work item
// computes the convolution rows a band of pooled rows reads into its
// cache-resident output buffer and pools them from there, so the
// convolution's output never goes to memory; other plans run the
// convolution into a temporary and pool that. Where the plan left them
// to the rules, a stem runs on the phase plan up to pooledPhaseMaxCout
// output channels, in bands for the pool (pooledBandScale). The results
// are the convolution's and the max pool's, bit for bit.
type PooledConv struct {
	c       *Conv
	mp      *MaxPool
	pb, nPB int // pooled rows per work item of the phase plan, items per frame and group
}

// pooledPhaseMaxCout is the most output channels per group of a stem
// (Conv.phaseStem) that runs as AlgoPhase with a fused max pool where
// the rules chose the plan, beyond Rules.PhaseMaxCout of the bare
// convolution: pooling each band while it is in the caches spares the
// output's round trip through memory, which the im2col GEMM pays.
const pooledPhaseMaxCout = 64

// pooledBandScale scales Rules.BBudget for the rules' band of a phase
// plan with a fused pool: each band computes again a convolution row
// (the pool windows overlap) and splits again the phase rows its taps
// reach past it, while the pool reads the output band once, right after
// the GEMM wrote it.
const pooledBandScale = 4

// NewPooledConv fuses the max pool s over c's output (Planes = Frames x
// Cout planes of OH x OW, stride and kernel at least 1, no dilation, no
// ceil mode) after c.
func NewPooledConv(c *Conv, s PoolShape) (*PooledConv, error) {
	cs := c.s
	n := s.normalized()
	if n.Planes != cs.Frames*cs.Cout || n.H != cs.OutH() || n.W != cs.OutW() || n.DilationH != 1 || n.DilationW != 1 || n.CeilMode {
		return nil, fmt.Errorf("%v: cannot fuse the max pool %+v: it must pool the %d output planes of %dx%d, undilated, without ceil mode",
			cs, s, cs.Frames*cs.Cout, cs.OutH(), cs.OutW())
	}
	mp, err := NewMaxPool(n)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", cs, err)
	}
	pc := &PooledConv{c: c, mp: mp}
	if c.phase != nil || c.ruledAlgo && c.phaseStem(rules) && c.coutG <= max(rules.PhaseMaxCout, pooledPhaseMaxCout) {
		band := 0 // the rules' band, unless the plan gave one
		if !c.ruledBand {
			band = c.phase.band
		}
		r := rules
		r.BBudget *= pooledBandScale
		ph := newPhasePlan(c, band, r)
		if ph.band < n.KH {
			// pooled rows whose windows' rows fit the plan's band
			ph = newPhasePlan(c, n.KH, r)
		}
		c.wino, c.tc, c.phase = nil, nil, ph
		pc.pb = (ph.band-n.KH)/n.StrideH + 1
		pc.nPB = ceilDiv(mp.oh, pc.pb)
		pc.pb = ceilDiv(mp.oh, pc.nPB)
	}
	return pc, nil
}

// Plan returns the convolution's plan.
func (pc *PooledConv) Plan() Plan { return pc.c.Plan() }

func (pc *PooledConv) profileName() string   { return pc.c.profileName() + ", max pool fused" }
func (pc *PooledConv) profileFLOPs() float64 { return pc.c.profileFLOPs() }

// Run computes out = maxpool(act(conv(in) + bias)) with in the row table
// of the input and out [Frames][Cout][pooled OH x OW]. tmp has room for
// the convolution's output: plans other than the phase plan compute it
// there.
func (pc *PooledConv) Run(p *Pool, in Rows, out, tmp []float32) {
	defer profileDone(pc, profileStart())
	c, m := pc.c, pc.mp
	s := c.s
	checkIn(in, s.Frames*s.Cin, s.H*s.W, "pooled conv")
	ohw := m.oh * m.ow
	checkOut(out, nil, s.Frames*s.Cout*ohw, "pooled conv")
	if len(tmp) != s.OutLen() {
		panic(fmt.Sprintf("runtime: pooled conv temporary has %d floats, want %d", len(tmp), s.OutLen()))
	}
	if c.phase == nil {
		c.run(p, in, tmp, nil)
		m.run(p, tmp, out)
		return
	}
	ph, ps := c.phase, m.s
	p.For(s.Group*s.Frames*pc.nPB, func(worker, item int) {
		g, r := item/(s.Frames*pc.nPB), item%(s.Frames*pc.nPB)
		f, b := r/pc.nPB, r%pc.nPB
		py0 := b * pc.pb
		py1 := min(m.oh, py0+pc.pb)
		cy0 := max(0, py0*ps.StrideH-ps.PadTop)
		cy1 := min(ps.H, (py1-1)*ps.StrideH-ps.PadTop+ps.KH)
		obuf := c.phaseBand(p, worker, g, f, cy0, cy1-cy0, in, nil)
		var col []float32
		kern := maxPoolRow
		if kern == nil || !m.rows3x3s2 {
			kern, col = nil, p.Scratch(worker, m.colLen())
		}
		a := &p.ws[worker].maxPool
		for co := range c.coutG {
			plane := (f*s.Cout + g*c.coutG + co) * ohw
			x := obuf[co*ph.ldo:]
			if kern != nil {
				m.rowsPlane(kern, a, out[plane:plane+ohw], x, cy0, ph.wp, py0, py1)
			} else {
				m.plane(out[plane:plane+ohw], x, col, cy0, ph.wp, py0, py1)
			}
		}
	})
}
