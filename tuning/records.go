// Package tuning holds tsmc tune's records, the plans measured fastest
// for the planned layers of models (convolutions, depthwise
// convolutions, fused blocks, dense layers) on a machine, and runs the
// measurements (Tune).
//
// A records file has one JSON object per line (README: tuning records):
// the plan version, the layer's signature (tunerun.Workload), the ISA
// level, thread count and CPU model it was measured on, the fastest plan
// and its time beside the default plan's. Files are written sorted, so
// the same records give the same bytes, and merge by concatenation: a
// later record of the same signature, ISA, threads and CPU replaces an
// earlier one.
package tuning

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/tunerun"
)

// Record is one tuning record.
type Record struct {
	// Version is the plan version the record was measured with
	// (runtime.PlanVersion); records of another version are not used.
	Version int `json:"version"`
	// Workload is the layer's signature.
	Workload tunerun.Workload `json:"workload"`
	tunerun.Measurement
}

// id is what makes two records the same measurement target.
type id struct {
	version  int
	key      string
	isa, cpu string
	threads  int
}

func (r Record) id() id {
	return id{version: r.Version, key: r.Workload.Key(), isa: r.ISA, cpu: r.CPU, threads: r.Threads}
}

// Read reads records, one JSON object a line (blank lines skipped); name
// is the file's name for errors.
func Read(rd io.Reader, name string) ([]Record, error) {
	var recs []Record
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var r Record
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s:%d: not a tuning record: %v", name, line, err)
		}
		if err := r.Workload.Validate(); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		if r.Threads <= 0 || r.ISA == "" {
			return nil, fmt.Errorf("%s:%d: a record needs an ISA level and a positive thread count", name, line)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return recs, nil
}

// ReadFile reads a records file.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path)
}

// Merge returns the records of all sets, a later record replacing an
// earlier one of the same version, signature, ISA level, thread count
// and CPU, sorted.
func Merge(sets ...[]Record) []Record {
	at := map[id]int{}
	var out []Record
	for _, set := range sets {
		for _, r := range set {
			if i, ok := at[r.id()]; ok {
				out[i] = r
				continue
			}
			at[r.id()] = len(out)
			out = append(out, r)
		}
	}
	sortRecords(out)
	return out
}

// sortRecords orders records by layer kind, signature, ISA level, thread
// count, CPU and version.
func sortRecords(recs []Record) {
	slices.SortStableFunc(recs, func(a, b Record) int {
		return cmp.Or(cmp.Compare(a.Workload.Op, b.Workload.Op), cmp.Compare(a.Workload.Key(), b.Workload.Key()),
			cmp.Compare(a.ISA, b.ISA), cmp.Compare(a.Threads, b.Threads), cmp.Compare(a.CPU, b.CPU), cmp.Compare(a.Version, b.Version))
	})
}

// Write writes records sorted, one JSON object a line.
func Write(w io.Writer, recs []Record) error {
	recs = slices.Clone(recs)
	sortRecords(recs)
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes records to path, replacing it whole (through a
// temporary file beside it, so a failed write leaves the old file).
func WriteFile(path string, recs []Record) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	w := bufio.NewWriter(f)
	err = Write(w, recs)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Planner gives generated code the tuned plans of records
// (codegen.Planner): for a layer's signature, one plan per ISA level and
// thread count, from the records of the current plan version. Where
// several CPUs measured the same target, the record of CPU (the machine
// the code is for, "" for none) is taken, else the one whose CPU name
// sorts first. A layer's results must not depend on the thread count
// (runtime.TunedPlans.For), so at each ISA level its convolution plans
// take Winograd or not, and its depthwise plans the tap kernel or not,
// as the plan of the most threads does: a plan of fewer threads that
// differs becomes that algorithm with the default blocking. Layers whose records all name the default plan get none.
type Planner struct {
	plans map[string]runtime.TunedPlans
}

// NewPlanner indexes records for code generation.
func NewPlanner(recs []Record, cpu string) *Planner {
	type target struct {
		key, isa string
		threads  int
	}
	chosen := map[target]Record{}
	for _, r := range recs {
		if r.Version != runtime.PlanVersion {
			continue
		}
		t := target{r.Workload.Key(), r.ISA, r.Threads}
		old, ok := chosen[t]
		switch {
		case !ok,
			r.CPU == old.CPU, // the later record of one target
			r.CPU == cpu && old.CPU != cpu,
			(r.CPU == cpu) == (old.CPU == cpu) && r.CPU < old.CPU:
			chosen[t] = r
		}
	}
	byKey := map[string][]Record{}
	for t, r := range chosen {
		byKey[t.key] = append(byKey[t.key], r)
	}
	p := &Planner{plans: map[string]runtime.TunedPlans{}}
	for key, rs := range byKey {
		slices.SortFunc(rs, func(a, b Record) int {
			return cmp.Or(cmp.Compare(a.ISA, b.ISA), cmp.Compare(b.Threads, a.Threads))
		})
		tuned := false
		var tps runtime.TunedPlans
		for i, r := range rs {
			plan := r.Plan
			// rs[j] is the record of the most threads at r's level
			j := slices.IndexFunc(rs, func(q Record) bool { return q.ISA == r.ISA })
			ref := rs[j]
			switch {
			case i == j:
			case r.Workload.Op == tunerun.OpConv && r.Winograd != ref.Winograd:
				plan = runtime.Plan{Algo: runtime.AlgoGEMM}
				if ref.Winograd {
					plan.Algo = runtime.AlgoWinograd
				}
			case r.Workload.Op == tunerun.OpDepthwise && dwTaps(r) != dwTaps(ref):
				plan = runtime.Plan{Algo: runtime.AlgoDirect}
				if dwTaps(ref) {
					plan.Algo = runtime.AlgoTaps
				}
			}
			tuned = tuned || plan != (runtime.Plan{})
			tps = append(tps, runtime.TunedPlan{ISA: r.ISA, Threads: r.Threads, Plan: plan})
		}
		if tuned {
			slices.SortFunc(tps, func(a, b runtime.TunedPlan) int {
				return cmp.Or(cmp.Compare(a.ISA, b.ISA), cmp.Compare(a.Threads, b.Threads))
			})
			p.plans[key] = tps
		}
	}
	return p
}

// dwTaps reports whether a depthwise record's plan runs on the tap
// kernel, which sums in another order than the direct 3x3 kernels (the
// default where they take the shape).
func dwTaps(r Record) bool {
	s := r.Workload.Shape
	direct := s != nil && s.KH == 3 && s.KW == 3 && s.DilationH <= 1 && s.DilationW <= 1
	return r.Plan.Algo == runtime.AlgoTaps || !direct
}

// Plans returns the tuned plans of w, sorted by ISA level and threads.
func (p *Planner) Plans(w tunerun.Workload) runtime.TunedPlans {
	return slices.Clone(p.plans[w.Key()])
}

// Len returns the number of signatures with tuned plans.
func (p *Planner) Len() int { return len(p.plans) }
