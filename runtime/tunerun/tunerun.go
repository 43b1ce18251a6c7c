// Package tunerun is the main program of the binaries tsmc tune builds:
// it reads a Request (a JSON file named on its command line) listing the
// planned layers of a model (Workload), times the candidate plans of each
// on this machine and prints Events as JSON lines: first the estimate,
// then one Result per layer as it is tuned. Built for another GOARCH and
// run through a command (ssh to a board, qemu), it tunes that machine.
//
// The compiler side (package tuning) writes the Request and reads the
// Events with these same types.
package tunerun

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/tsmc-go/tsmc/runtime"
)

// Request is what one run of the tuning program does.
type Request struct {
	// Threads is the worker count the layers run on (0: GOMAXPROCS).
	Threads int `json:"threads"`
	// BudgetMs is the time the tuning may take, in milliseconds; it sets
	// how many rounds each plan is timed (at least MinRounds, at most
	// MaxRounds).
	BudgetMs float64 `json:"budget_ms"`
	// FlushBytes is the data streamed through the caches before each
	// timed call (Bench).
	FlushBytes int `json:"flush_bytes"`
	// Workloads are the layers to tune.
	Workloads []Workload `json:"workloads"`
}

// Rounds of timed calls per plan.
const (
	MinRounds = 2
	MaxRounds = 7
)

// Event is one line of the program's output: the estimate (first), or
// one layer's result.
type Event struct {
	// Estimate is each workload's estimated tuning time in ms, and
	// Rounds the rounds per plan the budget allows.
	Estimate []float64 `json:"estimate_ms,omitempty"`
	Rounds   int       `json:"rounds,omitempty"`
	// Result is a tuned workload.
	Result *Result `json:"result,omitempty"`
}

// Measurement is what tuning a workload measured, as results and tuning
// records (package tuning) carry it.
type Measurement struct {
	// ISA, Threads and CPU say what it was measured at and on.
	ISA     string `json:"isa"`
	Threads int    `json:"threads"`
	CPU     string `json:"cpu"`
	// Plan is the fastest plan (the zero plan: the default rules'), Ms
	// its time and DefaultMs the default plan's, in ms per call with the
	// caches as a run leaves them; Measured counts the plans timed.
	Plan      runtime.Plan `json:"plan"`
	Ms        float64      `json:"ms"`
	DefaultMs float64      `json:"default_ms"`
	Measured  int          `json:"measured"`
	// Winograd says that the plan runs a convolution as Winograd
	// (runtime.Conv.Winograd), which sets the bits of its results.
	Winograd bool `json:"winograd,omitempty"`
}

// Result is the outcome of tuning one workload.
type Result struct {
	// Index is the workload's place in the Request.
	Index int `json:"index"`
	Measurement
	// Calls counts the timed calls, Disturbed those that ran with a
	// worker waiting for its CPU (another process ran there; they are timed
	// again, and a plan with no undisturbed call is not kept).
	// OnCPU is the share of their CPUs the workers had over the timing
	// (Bench.OnCPU); below MinOnCPU the zero plan is kept.
	Calls     int     `json:"calls,omitempty"`
	Disturbed int     `json:"disturbed,omitempty"`
	OnCPU     float64 `json:"on_cpu,omitempty"`
	// Error says why the workload could not be tuned.
	Error string `json:"error,omitempty"`
}

// Main runs the request named by the first command-line argument and
// prints its events on standard output; errors go to standard error with
// exit status 1.
func Main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: "+filepath.Base(os.Args[0])+" REQUEST.json")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err == nil {
		var req Request
		if err = json.Unmarshal(data, &req); err != nil {
			err = fmt.Errorf("request %s: %w", os.Args[1], err)
		} else {
			enc := json.NewEncoder(os.Stdout)
			err = Run(req, func(e Event) error { return enc.Encode(e) })
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Run tunes the request's workloads in order and passes each event to
// emit.
func Run(req Request, emit func(Event) error) error {
	if req.Threads < 0 {
		return fmt.Errorf("threads %d: want 0 (GOMAXPROCS) or more", req.Threads)
	}
	if req.Threads == 0 {
		req.Threads = goruntime.GOMAXPROCS(0)
	}
	for i, w := range req.Workloads {
		if err := w.Validate(); err != nil {
			return fmt.Errorf("workload %d (%v): %w", i, w, err)
		}
	}
	pool := runtime.NewPool(req.Threads)
	defer pool.Close()
	cpu := CPUModel()
	// Estimate each workload's time per round of its search: its
	// default plan's call plus the cache preparation, times the plans
	// the search times.
	est := make([]float64, len(req.Workloads))
	errs := make([]error, len(req.Workloads))
	total := 0.0
	for i, w := range req.Workloads {
		b, err := NewBench(w, req.FlushBytes)
		if err == nil {
			var ms []float64
			if ms, err = b.Time(pool, []runtime.Plan{{}}, 1); err == nil {
				est[i] = (ms[0] + b.flushMs(pool)) * float64(searchSize(w.Plans()))
			}
		}
		errs[i] = err
		total += est[i]
	}
	rounds := roundsFor(req.BudgetMs, total)
	if err := emit(Event{Estimate: est, Rounds: rounds}); err != nil {
		return err
	}
	start, left := time.Now(), total
	for i, w := range req.Workloads {
		res := &Result{Index: i, Measurement: Measurement{ISA: runtime.ISA(), Threads: req.Threads, CPU: cpu}}
		if errs[i] == nil {
			// the rounds the rest of the budget allows
			spent := float64(time.Since(start).Milliseconds())
			rounds = roundsFor(req.BudgetMs-spent, left)
			errs[i] = tune(w, pool, req.FlushBytes, rounds, res)
		}
		left -= est[i]
		if errs[i] != nil {
			res.Error = errs[i].Error()
		}
		if err := emit(Event{Result: res}); err != nil {
			return err
		}
	}
	return nil
}

// roundsFor returns the rounds per plan that fit budget ms when a round
// of every search takes perRound ms.
func roundsFor(budget, perRound float64) int {
	if perRound <= 0 {
		return MaxRounds
	}
	return max(MinRounds, min(MaxRounds, int(budget/perRound)))
}

// searchFields are the plan fields the search varies one at a time after
// choosing the algorithm and kernel, in order.
var searchFields = []func(*runtime.Plan) any{
	func(p *runtime.Plan) any { return &p.PixelBlock },
	func(p *runtime.Plan) any { return &p.ChannelBlocks },
	func(p *runtime.Plan) any { return &p.Pack },
	func(p *runtime.Plan) any { return &p.Tiles },
	func(p *runtime.Plan) any { return &p.Panels },
	func(p *runtime.Plan) any { return &p.Channels },
	func(p *runtime.Plan) any { return &p.Band },
	func(p *runtime.Plan) any { return &p.Parts },
	func(p *runtime.Plan) any { return &p.Columns },
}

// without returns p with the field f (of searchFields) zero.
func without(p runtime.Plan, f func(*runtime.Plan) any) runtime.Plan {
	switch v := f(&p).(type) {
	case *int:
		*v = 0
	case *runtime.PackMode:
		*v = ""
	}
	return p
}

// firstStage returns the plans that set at most the algorithm and
// kernel: the search's first stage.
func firstStage(plans []runtime.Plan) []runtime.Plan {
	var out []runtime.Plan
	for _, p := range plans {
		if p == (runtime.Plan{Algo: p.Algo, Kernel: p.Kernel}) {
			out = append(out, p)
		}
	}
	return out
}

// neighbours returns the plans that differ from p in field f only, p
// included.
func neighbours(plans []runtime.Plan, p runtime.Plan, f func(*runtime.Plan) any) []runtime.Plan {
	var out []runtime.Plan
	base := without(p, f)
	for _, q := range plans {
		if without(q, f) == base {
			out = append(out, q)
		}
	}
	return out
}

// searchSize is the number of plans the search times, about.
func searchSize(plans []runtime.Plan) int {
	n := len(firstStage(plans)) + 2
	for _, f := range searchFields {
		values := map[any]bool{}
		for _, p := range plans {
			switch v := f(&p).(type) {
			case *int:
				values[*v] = true
			case *runtime.PackMode:
				values[*v] = true
			}
		}
		if len(values) > 1 {
			n += len(values)
		}
	}
	return n
}

// tune searches the plans of w: first the algorithm and kernel (each
// with the rules' blocking), then each field of the plan in turn with
// the others fixed at the best so far; every plan's time in the search
// is its fastest call over all the rounds it was timed in. Then it
// confirms the best (confirm): the zero plan stays unless the best runs
// otherwise and wins there.
func tune(w Workload, pool *runtime.Pool, flushBytes, rounds int, res *Result) error {
	b, err := NewBench(w, flushBytes)
	if err != nil {
		return err
	}
	defer func() { res.Calls, res.Disturbed, res.OnCPU = b.calls, b.disturbed, roundShare(b.OnCPU()) }()
	plans := w.Plans()
	best := map[runtime.Plan]timing{}
	measure := func(cands []runtime.Plan) (runtime.Plan, error) {
		ts, err := b.timePlans(pool, cands, rounds)
		if err != nil {
			return runtime.Plan{}, err
		}
		for i, p := range cands {
			if old, ok := best[p]; !ok || ts[i].faster(old) {
				best[p] = ts[i]
			}
		}
		win := cands[0]
		for _, p := range cands[1:] {
			if best[p].faster(best[win]) {
				win = p
			}
		}
		return win, nil
	}
	first := firstStage(plans)
	cur, err := measure(first)
	if err != nil {
		return err
	}
	if cur == (runtime.Plan{}) && len(first) > 1 {
		// go on from the rules' algorithm, with the rules' blocking
		r, err := b.Resolved(cur, pool.Threads())
		if err != nil {
			return err
		}
		cur = runtime.Plan{Algo: r.Algo}
	}
	for _, f := range searchFields {
		if cands := neighbours(plans, cur, f); len(cands) > 1 {
			if cur, err = measure(cands); err != nil {
				return err
			}
		}
	}
	res.Measured = len(best)
	res.Plan = runtime.Plan{}
	same, err := samePlan(b, cur, runtime.Plan{}, pool.Threads())
	if err != nil {
		return err
	}
	ms, defaultMs := best[runtime.Plan{}].ms, best[runtime.Plan{}].ms
	if !same {
		var keep bool
		if keep, ms, defaultMs, err = confirm(b, pool, cur, max(rounds, confirmRounds)); err != nil {
			return err
		}
		if keep && b.OnCPU() >= MinOnCPU {
			res.Plan = cur
		} else {
			ms = defaultMs
		}
	}
	res.Ms, res.DefaultMs = roundMs(ms), roundMs(defaultMs)
	r, err := b.Resolved(res.Plan, pool.Threads())
	res.Winograd = r.Algo == runtime.AlgoWinograd
	return err
}

// confirm times plan p against the zero plan afresh, interleaved, the
// zero plan twice in each round (before and after p), and reports
// whether p wins: both have undisturbed calls and p's fastest beats the
// zero plan's (the faster of its two) by more than tuneMargin and by
// more than twice the two zero-plan timings differ (the noise of this
// comparison, measured). It returns p's time and the zero plan's.
func confirm(b *Bench, pool *runtime.Pool, p runtime.Plan, rounds int) (keep bool, ms, defaultMs float64, err error) {
	ts, err := b.timePlans(pool, []runtime.Plan{{}, p, {}}, rounds)
	if err != nil {
		return false, 0, 0, err
	}
	keep, ms, defaultMs = wins(ts[0], ts[1], ts[2])
	return keep, ms, defaultMs, nil
}

// wins is confirm's verdict on a plan's timing tuned between two of the
// zero plan's, before and after, and the plan's time and the zero
// plan's (the faster of its two).
func wins(before, tuned, after timing) (keep bool, ms, defaultMs float64) {
	def := before
	if after.faster(before) {
		def = after
	}
	noise := math.Abs(before.ms-after.ms) / math.Min(before.ms, after.ms)
	margin := max(tuneMargin, 2*noise)
	keep = before.clean && after.clean && tuned.clean && tuned.ms < (1-margin)*def.ms
	return keep, tuned.ms, def.ms
}

// MinOnCPU is the least share of their CPUs the workers must have had
// over a layer's timing (Bench.OnCPU) for a plan other than the zero
// plan to be kept: with less, another process took a worker's CPU for
// a good part of it, and the plans were timed on fewer CPUs than they
// are tuned for (plans of many small work items then win, which lose
// with all the workers).
const MinOnCPU = 0.9

// roundShare rounds a share to two digits.
func roundShare(x float64) float64 { return math.Round(x*100) / 100 }

// tuneMargin is how much faster than the default a plan must be to be
// kept at least, when the two timings of the default agree better than
// that: less is within the noise of a shared machine.
const tuneMargin = 0.03

// confirmRounds is the least number of rounds of confirm.
const confirmRounds = 3

// samePlan reports whether plans p and q run alike on b's layer (a plan
// that spells out the default's choices is the default).
func samePlan(b *Bench, p, q runtime.Plan, threads int) (bool, error) {
	dp, err := b.Runs(p, threads)
	if err != nil {
		return false, err
	}
	dq, err := b.Runs(q, threads)
	return dp == dq, err
}

// roundMs rounds a time to 0.1 µs, the precision records keep.
func roundMs(ms float64) float64 { return math.Round(ms*1e4) / 1e4 }

// CPUModel names this machine's CPU: /proc/cpuinfo's model name (or the
// first of its hardware lines), else GOARCH.
func CPUModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return goruntime.GOARCH
	}
	defer f.Close()
	return cpuModel(f)
}

func cpuModel(r io.Reader) string {
	fallback := goruntime.GOARCH
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "model name":
			if val != "" {
				return val
			}
		case "Hardware", "CPU part":
			if val != "" && fallback == goruntime.GOARCH {
				fallback = goruntime.GOARCH + " " + key + " " + val
			}
		}
	}
	return fallback
}
