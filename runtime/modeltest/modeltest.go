// Package modeltest holds the tests every generated model package runs: its
// model_test.go is a few lines that describe the model to a Suite. Only test
// files import it.
package modeltest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	tsmcruntime "github.com/tsmc-go/tsmc/runtime"
)

// Model is the generic face of a generated Model.
type Model interface {
	Infer(inputs map[string][]float32) (map[string][]float32, error)
	Close()
}

// Suite describes a generated model package to its tests.
type Suite struct {
	Inputs, Outputs []tsmcruntime.TensorSpec
	// DataSets are folders under testdata/ with input_K.bin for Inputs[K]
	// and output_K.bin for Outputs[K] (absent when not checked), raw
	// little-endian float32.
	DataSets []string
	// MaxRelErr bounds max|got-want| / max|want| for every output.
	MaxRelErr float64
	// New builds a Model with the given number of threads (0: default).
	New func(threads int) (Model, error)
}

// ReadFloats reads a raw float32 file that must hold want values.
func ReadFloats(tb testing.TB, path string, want int) []float32 {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := tsmcruntime.DecodeFloats(b)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if len(v) != want {
		tb.Fatalf("%s holds %d floats, want %d", path, len(v), want)
	}
	return v
}

func (s *Suite) newModel(tb testing.TB, threads int) Model {
	tb.Helper()
	return NewModel(tb, s.New, threads)
}

// NewModel builds a model with newModel(threads), failing tb on an error,
// and closes it when the test ends.
func NewModel[M interface{ Close() }](tb testing.TB, newModel func(threads int) (M, error), threads int) M {
	tb.Helper()
	m, err := newModel(threads)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(m.Close)
	return m
}

// dataSetInputs reads the inputs of one data set.
func (s *Suite) dataSetInputs(tb testing.TB, ds string) map[string][]float32 {
	in := map[string][]float32{}
	for k, spec := range s.Inputs {
		in[spec.Name] = ReadFloats(tb, filepath.Join("testdata", ds, fmt.Sprintf("input_%d.bin", k)), spec.Len())
	}
	return in
}

// SampleInputs returns the first data set's inputs or, without data sets,
// deterministic values in [-0.5, 0.5).
func (s *Suite) SampleInputs(tb testing.TB) map[string][]float32 {
	if len(s.DataSets) > 0 {
		return s.dataSetInputs(tb, s.DataSets[0])
	}
	in := map[string][]float32{}
	for k, spec := range s.Inputs {
		v := make([]float32, spec.Len())
		for i := range v {
			v[i] = float32((i*7+k*3)%17)/17 - 0.5
		}
		in[spec.Name] = v
	}
	return in
}

// TestDataSets runs every data set and compares each expected output.
func (s *Suite) TestDataSets(t *testing.T) {
	if len(s.DataSets) == 0 {
		t.Skip("compiled without -testdata")
	}
	m := s.newModel(t, 0)
	for _, ds := range s.DataSets {
		t.Run(ds, func(t *testing.T) {
			got, err := m.Infer(s.dataSetInputs(t, ds))
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for k, spec := range s.Outputs {
				path := filepath.Join("testdata", ds, fmt.Sprintf("output_%d.bin", k))
				if _, err := os.Stat(path); err != nil {
					continue
				}
				e := floatcmp.Slices(got[spec.Name], ReadFloats(t, path, spec.Len()))
				if !(e <= s.MaxRelErr) {
					t.Errorf("output %q: relative error %.3g > %g", spec.Name, e, s.MaxRelErr)
				} else {
					t.Logf("output %q: relative error %.3g", spec.Name, e)
				}
				checked++
			}
			if checked == 0 {
				t.Fatal("the data set has no expected outputs")
			}
		})
	}
}

// TestThreadCounts checks that the outputs do not depend on the thread
// count: the sample inputs' outputs at 1, 2 and 3 threads are the same
// bits (every plan fixes its summation order, and the tuned plans of a
// layer agree on its algorithm).
func (s *Suite) TestThreadCounts(t *testing.T) {
	in := s.SampleInputs(t)
	var want map[string][]float32
	for _, threads := range []int{1, 2, 3} {
		got, err := s.newModel(t, threads).Infer(in)
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = got
			continue
		}
		for name, w := range want {
			if !floatcmp.SameBits(got[name], w) {
				t.Errorf("output %q at %d threads differs from 1 thread's", name, threads)
			}
		}
	}
}

// TestConcurrentRuns checks what the Model documentation promises: runs
// from several goroutines are safe (run it with -race) and each gives
// exactly the outputs of a lone run.
func (s *Suite) TestConcurrentRuns(t *testing.T) {
	m := s.newModel(t, 2)
	in := s.SampleInputs(t)
	want, err := m.Infer(in)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, runs = 4, 2
	errs := make(chan error, goroutines*runs)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range runs {
				got, err := m.Infer(in)
				if err != nil {
					errs <- err
					return
				}
				for name, w := range want {
					if !floatcmp.SameBits(got[name], w) {
						errs <- fmt.Errorf("output %q differs from a lone run", name)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestInputErrors checks that wrongly sized, nil, missing and unknown
// inputs are errors that say what is wrong, not panics, and that the
// Model runs as before after them.
func (s *Suite) TestInputErrors(t *testing.T) {
	m := s.newModel(t, 0)
	in := s.SampleInputs(t)
	want, err := m.Infer(in)
	if err != nil {
		t.Fatal(err)
	}
	expect := func(t *testing.T, inputs map[string][]float32, msg string) {
		t.Helper()
		if _, err := m.Infer(inputs); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("error %v; want one saying %q", err, msg)
		}
	}
	for _, spec := range s.Inputs {
		n := spec.Len()
		wrongLen := func(values int) string {
			return fmt.Sprintf("input %s: got %d values, want %d for shape %v", spec.Name, values, n, spec.Shape)
		}
		with := func(v []float32) map[string][]float32 {
			bad := maps.Clone(in)
			bad[spec.Name] = v
			return bad
		}
		t.Run(spec.Name+"/one too long", func(t *testing.T) { expect(t, with(append(slices.Clip(in[spec.Name]), 0)), wrongLen(n+1)) })
		t.Run(spec.Name+"/one too short", func(t *testing.T) { expect(t, with(in[spec.Name][:n-1]), wrongLen(n-1)) })
		t.Run(spec.Name+"/nil", func(t *testing.T) { expect(t, with(nil), wrongLen(0)) })
		t.Run(spec.Name+"/missing", func(t *testing.T) {
			bad := maps.Clone(in)
			delete(bad, spec.Name)
			expect(t, bad, fmt.Sprintf("missing input %q", spec.Name))
		})
	}
	t.Run("unknown", func(t *testing.T) {
		bad := maps.Clone(in)
		bad["no such input"] = nil
		expect(t, bad, `unknown input "no such input"`)
	})
	t.Run("no inputs", func(t *testing.T) { expect(t, nil, fmt.Sprintf("missing input %q", s.Inputs[0].Name)) })
	got, err := m.Infer(in)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		if !floatcmp.SameBits(got[name], w) {
			t.Errorf("output %q after the failed runs differs from before them", name)
		}
	}
}

// TestClose checks what the Model documentation says of Close: it stops
// the worker threads (the goroutine count returns to what it was before
// New), may be called twice and while other goroutines run the Model, and
// a closed Model still runs, giving the same outputs bit for bit.
func (s *Suite) TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	m, err := s.New(4)
	if err != nil {
		t.Fatal(err)
	}
	in := s.SampleInputs(t)
	want, err := m.Infer(in)
	if err != nil {
		t.Fatal(err)
	}
	same := func(got map[string][]float32) error {
		for name, w := range want {
			if !floatcmp.SameBits(got[name], w) {
				return fmt.Errorf("output %q differs from the open Model's", name)
			}
		}
		return nil
	}
	const goroutines, runs = 4, 3
	errs := make(chan error, goroutines*runs+1)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for r := range runs {
				got, err := m.Infer(in)
				if err == nil {
					err = same(got)
				}
				if err != nil {
					errs <- err
				}
				if g == 0 && r == 1 {
					m.Close()
				}
			}
		})
	}
	wg.Go(m.Close)
	wg.Wait()
	m.Close()
	close(errs)
	for err := range errs {
		t.Errorf("with Close alongside: %v", err)
	}
	got, err := m.Infer(in)
	if err == nil {
		err = same(got)
	}
	if err != nil {
		t.Errorf("closed: %v", err)
	}
	if after := SettledGoroutines(before); after > before {
		t.Errorf("%d goroutines after Close, %d before New: the worker threads did not stop", after, before)
	}
}

// SettledGoroutines waits, yielding, for the goroutine count to come down
// to want (goroutines that were told to stop take a moment to end), and
// returns it; it gives up after many tries.
func SettledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 10000 && n > want; i++ {
		time.Sleep(time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// BenchmarkRun times one run on the sample inputs.
func (s *Suite) BenchmarkRun(b *testing.B) {
	m := s.newModel(b, 0)
	in := s.SampleInputs(b)
	for b.Loop() {
		if _, err := m.Infer(in); err != nil {
			b.Fatal(err)
		}
	}
}
