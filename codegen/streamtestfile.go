package codegen

import (
	"bytes"
	"fmt"
	"go/format"
	"strings"
	"text/template"
)

// The generated stream_test.go, written for online models only, describes
// the Stream to the shared suite of runtime/streamtest, through a small
// adapter from the package's typed Step to the suite's generic one.
var streamTestTemplate = template.Must(template.New("stream_test.go").Parse(`// {{.Header}}

package {{.Package}}

import (
	"testing"

	"github.com/tsmc-go/tsmc/runtime/streamtest"
)

// streamSuite describes this package's Stream to the shared stream tests.
var streamSuite = streamtest.Suite{
	Inputs:  InputSpecs,
	Outputs: OutputSpecs,
	Frames:  []int{ {{- .Frames}} },
	Results: []int{ {{- .Results}} },
	States: []streamtest.State{ {{- range .States}}
		{Input: {{.In}}, Output: {{.Out}}},{{end}}
	},
	DataSets: []string{ {{- range .DataSets}}
		{{printf "%q" .}},{{end}}
	},
	MaxRelErr: 1e-4,
	New: func(threads int) (streamtest.Model, error) {
		m, err := New(WithThreads(threads))
		if err != nil {
			return nil, err
		}
		return streamModel{m}, nil
	},
}

// streamModel and streamAdapter give the Model and Stream the suite's
// generic faces.
type streamModel struct{ *Model }

func (m streamModel) NewStream() streamtest.Stream { return streamAdapter{m.Model.NewStream()} }

type streamAdapter struct{ s *Stream }

func (a streamAdapter) Step(frames [][]float32) ([][]float32, error) {
	out, err := a.s.Step({{.Args}})
	return [][]float32{ {{- .Outs}} }, err
}

func (a streamAdapter) Reset() { a.s.Reset() }

// TestStreamDataSets runs the data sets that form sequences through a Stream.
func TestStreamDataSets(t *testing.T) { streamSuite.TestDataSets(t) }

// TestStreamMatchesRun compares a Stream with Run fed its own states.
func TestStreamMatchesRun(t *testing.T) { streamSuite.TestMatchesRun(t) }

// TestStreamsInterleaved steps two Streams of one Model in turns.
func TestStreamsInterleaved(t *testing.T) { streamSuite.TestInterleaved(t) }

// TestStreamReset checks that Reset starts a new sequence.
func TestStreamReset(t *testing.T) { streamSuite.TestReset(t) }

// TestConcurrentStreams runs Streams from several goroutines (use -race).
func TestConcurrentStreams(t *testing.T) { streamSuite.TestConcurrentStreams(t) }

// TestStreamInputErrors checks that bad frames are errors, not panics.
func TestStreamInputErrors(t *testing.T) { streamSuite.TestInputErrors(t) }

// TestStreamAfterClose checks that Streams step on after Close.
func TestStreamAfterClose(t *testing.T) { streamSuite.TestAfterClose(t) }

// BenchmarkStep times one Step (threads: GOMAXPROCS, set with -cpu).
func BenchmarkStep(b *testing.B) { streamSuite.BenchmarkStep(b) }
`))

// renderStreamTest renders stream_test.go for an online model.
func renderStreamTest(p *program, pkg string, dataSets []string) ([]byte, error) {
	sp := p.stream
	ints := func(v []int) string {
		var s []string
		for _, x := range v {
			s = append(s, fmt.Sprint(x))
		}
		return strings.Join(s, ", ")
	}
	var args, outs []string
	for j := range sp.frames {
		args = append(args, fmt.Sprintf("frames[%d]", j))
	}
	if len(sp.results) == 1 {
		outs = []string{"out"}
	} else {
		for _, o := range sp.results {
			outs = append(outs, "out."+p.outputs[o].field)
		}
	}
	type pair struct{ In, Out int }
	var states []pair
	for _, st := range sp.states {
		states = append(states, pair{st.in, st.out})
	}
	var buf bytes.Buffer
	err := streamTestTemplate.Execute(&buf, struct {
		Header, Package string
		Frames, Results string
		States          []pair
		DataSets        []string
		Args, Outs      string
	}{header, pkg, ints(sp.frames), ints(sp.results), states, dataSets, strings.Join(args, ", "), strings.Join(outs, ", ")})
	if err != nil {
		return nil, fmt.Errorf("rendering stream_test.go: %w", err)
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting stream_test.go: %w", err)
	}
	return src, nil
}
