// Command fitrules fits the default plan rules (runtime.Rules) to this
// machine: it times the plans the rules choose for the layers of a corpus
// of TSM networks (corpus.go: ResNet18 of two widths at four resolutions
// and three frame counts and batches, ResNet50 at three resolutions,
// MobileNetV2 offline in batches and online), then moves each threshold
// in turn to the value that makes the corpus fastest, and writes the
// result to runtime/rules_fitted_FAMILY.go, the table of this CPU's
// family (runtime.RulesFamily). Run it from the module root on an
// otherwise idle machine, and commit the file with the report it prints:
//
//	go run ./internal/cmd/fitrules [-threads 1,2] [-rounds 3] [-quick | -every N] [-only FIELDS] [-family amd|intel] [-o FILE]
//
// A model's time is the sum of its layers' (a chain fused into a block or
// run as its stages, by Rules.BlockMinBytes and BlockMinPixels); the fit
// minimises the mean over models and thread counts of a model's time
// relative to the rules it started from, moving a threshold to its best
// value only when that gains more than -margin. Each distinct plan a
// layer runs is timed once per thread count (its fastest of -rounds
// calls, with cold weights as in a run: tunerun.Bench), however many rule
// values choose it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// param is a threshold of runtime.Rules and the values the fit tries.
type param struct {
	field  string
	values []int
}

var params = []param{
	{"WinoMinFill", []int{0, 50, 60, 70, 80}},
	{"TCWeight", []int{70, 85, 100, 120, 150}},
	{"TCMaxPixels", []int{256, 1024, 4096}},
	{"BBudget", []int{16 << 10, 32 << 10, 64 << 10, 128 << 10}},
	{"TargetItems", []int{4, 8, 16, 32}},
	{"MinNCPanels", []int{1, 2, 4}},
	{"ReuseBudget", []int{32 << 10, 128 << 10, 512 << 10}},
	{"NarrowBudget", []int{0, 64 << 10, 256 << 10, 1 << 20}},
	{"WinoTileBlock", []int{32, 64, 128}},
	{"WinoNarrowMaxCout", []int{0, 64, 128, 256, 512, math.MaxInt32}},
	{"DWItemFLOPs", []int{1 << 14, 1 << 16, 1 << 18}},
	{"BlockBudget", []int{96 << 10, 192 << 10, 384 << 10, 768 << 10}},
	{"BlockMinBytes", []int{0, 128 << 10, 512 << 10, 2 << 20, math.MaxInt32}},
	{"BlockMinPixels", []int{0, 64, 128, 256, 1024}},
	{"BlockMinPartRows", []int{2, 4, 8}},
	{"PhaseMaxCin", []int{0, 4, 16, 32, 64}},
	{"PhaseMinK", []int{1, 64, 128, 256}},
	{"PhaseMaxCout", []int{16, 32, 64, math.MaxInt32}},
}

func main() {
	threadList := flag.String("threads", "1,2", "comma-separated thread counts the corpus is timed at")
	rounds := flag.Int("rounds", 3, "timed calls of each plan (its fastest counts)")
	quick := flag.Bool("quick", false, "a corpus of one configuration per family (a check that the fit runs)")
	every := flag.Int("every", 1, "fit to every `N`th model of the corpus only (a shorter fit)")
	margin := flag.Float64("margin", 0.003, "the least gain of the mean relative time for which a threshold moves")
	family := flag.String("family", runtime.CPURulesFamily(), "the rule `family` the fit is the table of (runtime.RulesFamily: amd or intel; default this CPU's)")
	out := flag.String("o", "", "the Go file to write the fitted rules to (default runtime/rules_fitted_FAMILY.go)")
	only := flag.String("only", "", "comma-separated `FIELDS` of runtime.Rules to fit, the others kept (a new threshold fitted alone)")
	flag.Parse()
	varName, ok := familyVars[*family]
	if !ok {
		fail(fmt.Errorf("-family %q: want amd or intel", *family))
	}
	if *out == "" {
		*out = "runtime/rules_fitted_" + *family + ".go"
	}
	var threads []int
	for _, f := range strings.Split(*threadList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-threads %q: want positive counts", *threadList))
		}
		threads = append(threads, n)
	}
	f := &fitter{rounds: *rounds, runs: map[string]*layerRuns{}, pools: map[int]*runtime.Pool{}}
	for _, t := range threads {
		f.pools[t] = runtime.NewPool(t)
	}
	if *every < 1 {
		fail(fmt.Errorf("-every %d: want a positive count", *every))
	}
	for i, m := range corpus(*quick) {
		if i%*every == 0 {
			f.models = append(f.models, m)
		}
	}
	start := time.Now()
	base := runtime.DefaultRules()
	for _, t := range threads {
		for _, m := range f.models {
			f.modelMs(m, base, t)
		}
	}
	fmt.Fprintf(os.Stderr, "corpus: %d models, timed at the starting rules in %v\n", len(f.models), time.Since(start).Round(time.Second))
	fit, err := selectParams(*only, *family)
	if err != nil {
		fail(err)
	}
	fitted, score := f.fit(base, fit, threads, *margin)
	fmt.Fprintf(os.Stderr, "fitted in %v: mean model time %.3f of the starting rules'\n", time.Since(start).Round(time.Second), score)
	if err := write(*out, varName, fitted, threads, len(f.models), score, *only); err != nil {
		fail(err)
	}
}

// compileTime are the thresholds the compiler decides with
// (passes.FuseInvertedResidual): only the amd table fits them and every
// other table keeps its values (TestCompileRulesAgree), so a model's
// generated code does not depend on the machine that compiles it.
var compileTime = []string{"BlockMinBytes", "BlockMinPixels"}

// selectParams returns the thresholds -only names (comma-separated), or
// for "" all of them the family's table fits.
func selectParams(only, family string) ([]param, error) {
	var fit []param
	if only == "" {
		for _, p := range params {
			if family == runtime.RulesAMD || !slices.Contains(compileTime, p.field) {
				fit = append(fit, p)
			}
		}
		return fit, nil
	}
	for _, name := range strings.Split(only, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(params, func(p param) bool { return p.field == name })
		if i < 0 {
			return nil, fmt.Errorf("-only %q: %q is not a threshold the fit moves", only, name)
		}
		if family != runtime.RulesAMD && slices.Contains(compileTime, name) {
			return nil, fmt.Errorf("-only %q: %s is a compile-time rule, fitted for the amd family only (generated code must not depend on the compiling machine)", only, name)
		}
		fit = append(fit, params[i])
	}
	return fit, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fitrules:", err)
	os.Exit(1)
}

// fitter times corpus layers under rules, each distinct run of a layer
// once, together with the runs of that layer timed before (each run's
// time is its fastest call over all its timings, so that runs compared
// with each other were timed side by side).
type fitter struct {
	models []model
	rounds int
	pools  map[int]*runtime.Pool // by thread count
	runs   map[string]*layerRuns // by thread count and workload
}

// layerRuns are the distinct runs of a layer at a thread count: what
// each runs (tunerun.Describe), rules that plan it, and its time.
type layerRuns struct {
	desc  []string
	rules []runtime.Rules
	ms    []float64
}

// layerMs times w at threads workers as the rules plan it.
func (f *fitter) layerMs(w tunerun.Workload, r runtime.Rules, threads int) float64 {
	old := runtime.SetDefaultRules(r)
	desc, err := tunerun.Describe(w, runtime.Plan{}, threads)
	runtime.SetDefaultRules(old)
	if err != nil {
		fail(fmt.Errorf("%v: %w", w, err))
	}
	id := fmt.Sprintf("%d %s", threads, w.Key())
	lr := f.runs[id]
	if lr == nil {
		lr = &layerRuns{}
		f.runs[id] = lr
	}
	for i, d := range lr.desc {
		if d == desc {
			return lr.ms[i]
		}
	}
	lr.desc, lr.rules = append(lr.desc, desc), append(lr.rules, r)
	b, err := tunerun.NewBench(w, 64<<20)
	if err != nil {
		fail(err)
	}
	ms, err := b.TimeRules(f.pools[threads], lr.rules, f.rounds)
	if err != nil {
		fail(fmt.Errorf("%v: %w", w, err))
	}
	for i, t := range ms {
		if i == len(lr.ms) {
			lr.ms = append(lr.ms, t)
		} else {
			lr.ms[i] = min(lr.ms[i], t)
		}
	}
	return lr.ms[len(lr.ms)-1]
}

// modelMs is a model's time under r at threads workers: its layers',
// chains fused or not.
func (f *fitter) modelMs(m model, r runtime.Rules, threads int) float64 {
	total := 0.0
	for _, g := range m.groups {
		switch {
		case g.chain == nil:
			total += f.layerMs(g.layer, r, threads)
		case g.chain.expanded >= r.BlockMinBytes && g.chain.pixels >= r.BlockMinPixels:
			total += f.layerMs(g.chain.block, r, threads)
		default:
			for _, st := range g.chain.stages {
				total += f.layerMs(st, r, threads)
			}
		}
	}
	return total
}

// score is the mean over models and thread counts of a model's time
// under r relative to its time under the starting rules base (both from
// the latest timings).
func (f *fitter) score(r, base runtime.Rules, threads []int) float64 {
	sum, n := 0.0, 0
	for _, t := range threads {
		for _, m := range f.models {
			mr := f.modelMs(m, r, t)
			sum += mr / f.modelMs(m, base, t)
			n++
		}
	}
	return sum / float64(n)
}

// fit moves each threshold in turn to its best value, the others fixed,
// in two sweeps: every value is scored, and the best one is taken when it
// beats the current value by more than margin (the first value to beat
// the current one would otherwise stand in for a better one further on).
func (f *fitter) fit(base runtime.Rules, params []param, threads []int, margin float64) (runtime.Rules, float64) {
	r := base
	best := f.score(r, base, threads)
	for sweep := range 2 {
		moved := false
		for _, p := range params {
			cur := get(r, p.field)
			top, topScore := cur, math.Inf(1)
			for _, v := range p.values {
				if v == cur {
					continue
				}
				s := f.score(set(r, p.field, v), base, threads)
				fmt.Fprintf(os.Stderr, "sweep %d: %s %d -> %d: %.4f\n", sweep+1, p.field, cur, v, s)
				if s < topScore {
					top, topScore = v, s
				}
			}
			best = f.score(r, base, threads) // the timings of the runs they share may have moved
			if topScore < best-margin {
				fmt.Fprintf(os.Stderr, "sweep %d: %s %d (%.4f) moves to %d (%.4f)\n", sweep+1, p.field, cur, best, top, topScore)
				r, best, moved = set(r, p.field, top), topScore, true
			} else {
				fmt.Fprintf(os.Stderr, "sweep %d: %s stays %d (%.4f)\n", sweep+1, p.field, cur, best)
			}
		}
		if !moved {
			break
		}
	}
	return r, best
}

func get(r runtime.Rules, field string) int {
	return int(reflect.ValueOf(r).FieldByName(field).Int())
}

func set(r runtime.Rules, field string, v int) runtime.Rules {
	reflect.ValueOf(&r).Elem().FieldByName(field).SetInt(int64(v))
	return r
}

// familyVars names the runtime's table of each rule family.
var familyVars = map[string]string{runtime.RulesAMD: "fittedRulesAMD", runtime.RulesIntel: "fittedRulesIntel"}

// write renders the rules as the table varName of the runtime.
func write(path, varName string, r runtime.Rules, threads []int, models int, score float64, only string) error {
	var b bytes.Buffer
	b.WriteString("// Code generated by internal/cmd/fitrules. DO NOT EDIT.\n\npackage runtime\n\n")
	fmt.Fprintf(&b, "// %s are the default rules fitted on %s over %d corpus models\n", varName, tunerun.CPUModel(), models)
	fmt.Fprintf(&b, "// at %v threads: their mean model time is %.3f of the rules the fit\n// started from", threads, score)
	if only != "" {
		fmt.Fprintf(&b, " (%s fitted, the others kept)", only)
	}
	b.WriteString(".\n")
	fmt.Fprintf(&b, "var %s = Rules{\n", varName)
	v := reflect.ValueOf(r)
	for i := range v.NumField() {
		fmt.Fprintf(&b, "\t%s: %s,\n", v.Type().Field(i).Name, size(int(v.Field(i).Int())))
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return err
	}
	return os.WriteFile(path, src, 0o644)
}

// size writes multiples of 1024 as n << 10 or n << 20.
func size(v int) string {
	switch {
	case v >= 1<<20 && v%(1<<20) == 0 && v != math.MaxInt32:
		return fmt.Sprintf("%d << 20", v>>20)
	case v >= 1<<10 && v%(1<<10) == 0:
		return fmt.Sprintf("%d << 10", v>>10)
	}
	return strconv.Itoa(v)
}
