package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"text/template"
)

// The generated model_test.go is fixed code around one table (the data
// set folders), so it is a template rather than jennifer calls: it reads
// like the file it produces. It imports only the standard library and the
// runtime, and reads the data sets as raw float32 files.
var testTemplate = template.Must(template.New("model_test.go").Parse(`// {{.Header}}

package {{.Package}}

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tsmc-go/tsmc/runtime"
)

// dataSets are the folders of testdata/ with inputs and expected outputs,
// raw little-endian float32: input_K.bin for InputSpecs[K], output_K.bin for
// OutputSpecs[K] (absent when the data set does not check that output).
var dataSets = []string{ {{- range .DataSets}}
	{{printf "%q" .}},{{end}}
}

// maxRelErr bounds max|got-want| / max|want| for every output.
const maxRelErr = 1e-4

// readFloats reads a raw float32 file of want values.
func readFloats(tb testing.TB, path string, want int) []float32 {
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

// testInputs returns the inputs of the first data set or, without data
// sets, deterministic values in [-0.5, 0.5).
func testInputs(tb testing.TB) map[string][]float32 {
	in := map[string][]float32{}
	for k, spec := range InputSpecs {
		if len(dataSets) > 0 {
			in[spec.Name] = readFloats(tb, filepath.Join("testdata", dataSets[0], fmt.Sprintf("input_%d.bin", k)), spec.Len())
			continue
		}
		v := make([]float32, spec.Len())
		for i := range v {
			v[i] = float32((i*7+k*3)%17)/17 - 0.5
		}
		in[spec.Name] = v
	}
	return in
}

// relativeError is max|got-want| / max|want| (+Inf for a NaN or a length
// mismatch).
func relativeError(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var diff, scale float64
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		diff = max(diff, d)
		scale = max(scale, math.Abs(float64(want[i])))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

// TestDataSets runs every data set and compares each expected output.
func TestDataSets(t *testing.T) {
	if len(dataSets) == 0 {
		t.Skip("compiled without -testdata")
	}
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, ds := range dataSets {
		t.Run(ds, func(t *testing.T) {
			in := map[string][]float32{}
			for k, spec := range InputSpecs {
				in[spec.Name] = readFloats(t, filepath.Join("testdata", ds, fmt.Sprintf("input_%d.bin", k)), spec.Len())
			}
			got, err := m.Infer(in)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for k, spec := range OutputSpecs {
				path := filepath.Join("testdata", ds, fmt.Sprintf("output_%d.bin", k))
				if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
					continue
				}
				e := relativeError(got[spec.Name], readFloats(t, path, spec.Len()))
				if !(e <= maxRelErr) {
					t.Errorf("output %q: relative error %.3g > %g", spec.Name, e, maxRelErr)
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

// TestConcurrentRuns checks what the Model documentation promises: runs
// from several goroutines are safe (run it with -race) and each gives
// exactly the outputs of a lone run.
func TestConcurrentRuns(t *testing.T) {
	m, err := New(WithThreads(2))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	in := testInputs(t)
	want, err := m.Infer(in)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, runs = 4, 2
	errs := make(chan error, goroutines*runs)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range runs {
				got, err := m.Infer(in)
				if err != nil {
					errs <- err
					return
				}
				for name, w := range want {
					if !sameBits(got[name], w) {
						errs <- fmt.Errorf("output %q differs from a lone run", name)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// sameBits reports whether a and b hold identical float32 bit patterns.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestInputErrors checks that wrongly sized, missing and unknown inputs
// are errors, not panics.
func TestInputErrors(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	in := testInputs(t)
	for _, spec := range InputSpecs {
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

// BenchmarkRun times one run on the first data set's inputs.
func BenchmarkRun(b *testing.B) {
	m, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	in := testInputs(b)
	for b.Loop() {
		if _, err := m.Infer(in); err != nil {
			b.Fatal(err)
		}
	}
}
`))

// renderTest renders model_test.go for the given data set folders.
func renderTest(pkg string, dataSets []string) ([]byte, error) {
	var buf bytes.Buffer
	err := testTemplate.Execute(&buf, struct {
		Header, Package string
		DataSets        []string
	}{header, pkg, dataSets})
	if err != nil {
		return nil, fmt.Errorf("rendering model_test.go: %w", err)
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting model_test.go: %w", err)
	}
	return src, nil
}
