package tuning

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/program"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// Options configures Tune.
type Options struct {
	// Context, when set, stops the build and the tuning runs.
	Context context.Context
	// Builder builds the tuning program: the tsmc module, GOARCH and the
	// command that runs it (Exec), Keep.
	Builder *program.Builder
	// Threads is the worker count the layers are tuned for (0: the
	// tuning program's GOMAXPROCS).
	Threads int
	// Budget is the time the measurements may take (0: DefaultBudget).
	Budget time.Duration
	// Progress, when set, receives a progress bar: one line redrawn in
	// place when Terminal, else a line per tuned layer.
	Progress io.Writer
	Terminal bool
}

// DefaultBudget is Tune's measuring time when Options.Budget is 0.
const DefaultBudget = 2 * time.Minute

// maxFlushBytes bounds the data streamed through the caches between two
// timed calls of a layer: twice the 32 MB L3 of the machines tsmc is
// tuned on, enough to evict any layer's weights.
const maxFlushBytes = 64 << 20

// Report is the outcome of Tune.
type Report struct {
	// Records are the new records, one per distinct signature but
	// those timed on a busy machine (Busy).
	Records []Record
	// Layers counts the model's planned layers, Signatures the distinct
	// ones among them.
	Layers, Signatures int
	// Build is the go build of the tuning program, Measure the tuning.
	Build, Measure time.Duration
	// TunedMs and DefaultMs sum the tuned and the default plans' times
	// over the model's planned layers: the run time the tuning saves.
	TunedMs, DefaultMs float64
	// Calls counts the timed calls, Disturbed those that ran with a
	// worker waiting for its CPU; Busy counts the signatures whose workers had
	// too little of their CPUs to be tuned (tunerun.Result), which get
	// no record.
	Calls, Disturbed, Busy int
}

// Tune measures the plans of every planned layer of the optimised graph
// g (each distinct signature once) with the tuning program on the
// machine it runs on, and returns a record per signature.
func Tune(g *ir.Graph, o Options) (*Report, error) {
	layers, footprint, err := codegen.Layers(g)
	if err != nil {
		return nil, err
	}
	rep := &Report{Layers: len(layers)}
	index := map[string]int{}
	uses := []int{}
	req := tunerun.Request{Threads: o.Threads, FlushBytes: int(min(footprint, maxFlushBytes))}
	for _, l := range layers {
		key := l.Workload.Key()
		if i, ok := index[key]; ok {
			uses[i]++
			continue
		}
		index[key] = len(req.Workloads)
		req.Workloads = append(req.Workloads, l.Workload)
		uses = append(uses, 1)
	}
	rep.Signatures = len(req.Workloads)
	if len(req.Workloads) == 0 {
		return rep, nil
	}
	budget := o.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	req.BudgetMs = float64(budget.Milliseconds())
	b := o.Builder
	if b == nil {
		b = &program.Builder{}
	}
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	tuner, err := b.BuildTuner(ctx)
	if err != nil {
		return nil, err
	}
	defer tuner.Close()
	rep.Build = tuner.Build
	bar := &progress{w: o.Progress, terminal: o.Terminal, start: time.Now(), workloads: req.Workloads}
	err = tuner.Run(req, func(e tunerun.Event) error {
		if e.Estimate != nil {
			bar.estimate(e.Estimate)
			return nil
		}
		r := e.Result
		if r == nil || r.Index < 0 || r.Index >= len(req.Workloads) {
			return fmt.Errorf("the tuning program sent %+v", e)
		}
		w := req.Workloads[r.Index]
		if r.Error != "" {
			return fmt.Errorf("tuning %v: %s", w, r.Error)
		}
		rec := Record{Version: runtime.PlanVersion, Workload: w, Measurement: r.Measurement}
		rep.Calls += r.Calls
		rep.Disturbed += r.Disturbed
		if r.OnCPU > 0 && r.OnCPU < tunerun.MinOnCPU {
			// timed on a busy machine: no record, so that merging
			// keeps an earlier one
			rep.Busy++
		} else {
			rep.Records = append(rep.Records, rec)
		}
		rep.TunedMs += float64(uses[r.Index]) * r.Ms
		rep.DefaultMs += float64(uses[r.Index]) * r.DefaultMs
		bar.done(r.Index, rec, r.OnCPU)
		return nil
	})
	bar.finish()
	rep.Measure = time.Since(bar.start)
	if err != nil {
		return nil, err
	}
	sortRecords(rep.Records)
	return rep, nil
}

// progress draws Tune's progress bar: the share of the estimated
// tuning time done.
type progress struct {
	w         io.Writer
	terminal  bool
	start     time.Time
	workloads []tunerun.Workload
	est       []float64
	total     float64
	doneMs    float64
	n         int
}

func (p *progress) estimate(est []float64) {
	p.est = est
	for _, e := range est {
		p.total += e
	}
	p.draw("")
}

func (p *progress) done(i int, r Record, onCPU float64) {
	p.n++
	if i < len(p.est) {
		p.doneMs += p.est[i]
	}
	gain := ""
	switch {
	case onCPU > 0 && onCPU < tunerun.MinOnCPU:
		gain = fmt.Sprintf(" (busy: the workers had %.0f%% of their CPUs; no record)", 100*onCPU)
	case r.Plan != (runtime.Plan{}) && r.Ms > 0:
		gain = fmt.Sprintf(" (%.0f%% faster)", 100*(r.DefaultMs/r.Ms-1))
	}
	p.draw(fmt.Sprintf("%v: %v%s", p.workloads[i], r.Plan, gain))
}

func (p *progress) draw(last string) {
	if p.w == nil {
		return
	}
	frac := 0.0
	if p.total > 0 {
		frac = min(1, p.doneMs/p.total)
	}
	const width = 30
	full := int(frac * width)
	bar := strings.Repeat("#", full) + strings.Repeat(".", width-full)
	el := time.Since(p.start).Round(time.Second)
	line := fmt.Sprintf("tuning [%s] %3.0f%% %d/%d layers %v", bar, 100*frac, p.n, len(p.workloads), el)
	if p.terminal {
		fmt.Fprintf(p.w, "\r%s", line)
		return
	}
	if last != "" {
		line += "  " + last
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) finish() {
	if p.w != nil && p.terminal {
		fmt.Fprintln(p.w)
	}
}
