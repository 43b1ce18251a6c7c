// Package modeltest holds the tests every generated model package runs: its
// model_test.go is a few lines that describe the model to a Suite. Only test
// files import it.
package modeltest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/runtime"
)

// Model is the generic face of a generated Model.
type Model interface {
	Infer(inputs map[string][]float32) (map[string][]float32, error)
	Close()
}

// Suite describes a generated model package to its tests.
type Suite struct {
	Inputs, Outputs []runtime.TensorSpec
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
	v, err := runtime.DecodeFloats(b)
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

// TestInputErrors checks that wrongly sized, missing and unknown inputs
// are errors, not panics.
func (s *Suite) TestInputErrors(t *testing.T) {
	m := s.newModel(t, 0)
	in := s.SampleInputs(t)
	for _, spec := range s.Inputs {
		bad := maps.Clone(in)
		bad[spec.Name] = append(in[spec.Name][:len(in[spec.Name]):len(in[spec.Name])], 0)
		if _, err := m.Infer(bad); err == nil {
			t.Errorf("input %q one float too long: no error", spec.Name)
		}
		delete(bad, spec.Name)
		if _, err := m.Infer(bad); err == nil {
			t.Errorf("input %q missing: no error", spec.Name)
		}
	}
	bad := maps.Clone(in)
	bad["no such input"] = nil
	if _, err := m.Infer(bad); err == nil {
		t.Error("unknown input: no error")
	}
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
