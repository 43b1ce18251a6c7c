package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"text/template"
)

// The generated model_test.go describes the model to the shared test suite
// of runtime/modeltest, so every generated package runs the same, reviewed
// tests (data sets, concurrent runs, input errors, Close, a benchmark)
// without carrying a copy of them. It is a template: it reads like the
// file it produces.
var testTemplate = template.Must(template.New("model_test.go").Parse(`// {{.Header}}

package {{.Package}}

import (
	"testing"

	"github.com/tsmc-go/tsmc/runtime/modeltest"
)

// suite describes this package to the shared model tests. Data sets are
// folders of testdata/ with raw little-endian float32 files: input_K.bin for
// InputSpecs[K], output_K.bin for OutputSpecs[K].
var suite = modeltest.Suite{
	Inputs:  InputSpecs,
	Outputs: OutputSpecs,
	DataSets: []string{ {{- range .DataSets}}
		{{printf "%q" .}},{{end}}
	},
	MaxRelErr: 1e-4,
	New: func(threads int) (modeltest.Model, error) {
		return New(WithThreads(threads))
	},
}

// TestDataSets compares every output of every data set.
func TestDataSets(t *testing.T) { suite.TestDataSets(t) }

// TestThreadCounts checks that the outputs are the same at every thread count.
func TestThreadCounts(t *testing.T) { suite.TestThreadCounts(t) }

// TestConcurrentRuns runs the Model from several goroutines (use -race).
func TestConcurrentRuns(t *testing.T) { suite.TestConcurrentRuns(t) }

// TestInputErrors checks that bad inputs are errors, not panics.
func TestInputErrors(t *testing.T) { suite.TestInputErrors(t) }

// TestClose checks that Close stops the threads and a closed Model runs.
func TestClose(t *testing.T) { suite.TestClose(t) }

// BenchmarkRun times one run on the first data set's inputs.
func BenchmarkRun(b *testing.B) { suite.BenchmarkRun(b) }
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
