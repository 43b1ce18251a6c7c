// Package streamtest holds the tests every generated package of an online
// model runs on its Stream: its stream_test.go describes the model to a
// Suite. Only test files import it.
package streamtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tsmc-go/tsmc/internal/floatcmp"
	"github.com/tsmc-go/tsmc/runtime"
	"github.com/tsmc-go/tsmc/runtime/modeltest"
)

// Model is the generic face of a generated Model of an online model.
type Model interface {
	Infer(inputs map[string][]float32) (map[string][]float32, error)
	NewStream() Stream
	Close()
}

// Stream is the generic face of a generated Stream: Step takes the frame
// inputs in the order of Suite.Frames and returns the results in the order
// of Suite.Results.
type Stream interface {
	Step(frames [][]float32) ([][]float32, error)
	Reset()
}

// State pairs a state input with the output that carries its next value.
type State struct {
	Input, Output int // indices into Suite.Inputs and Suite.Outputs
}

// Suite describes a generated online model package to its stream tests.
type Suite struct {
	Inputs, Outputs []runtime.TensorSpec
	// Frames are the inputs Step takes, Results the outputs it returns
	// (indices into Inputs and Outputs); States are the others, paired.
	Frames, Results []int
	States          []State
	// DataSets are folders under testdata/, as for modeltest.Suite. A data
	// set whose state inputs are zero starts a sequence; one whose state
	// inputs are the previous data set's expected state outputs continues it.
	DataSets []string
	// MaxRelErr bounds max|got-want| / max|want| for every checked output.
	MaxRelErr float64
	// New builds a Model with the given number of threads (0: default).
	New func(threads int) (Model, error)
}

func (s *Suite) newModel(tb testing.TB, threads int) Model {
	tb.Helper()
	return modeltest.NewModel(tb, s.New, threads)
}

// dataSet is one data set's tensors by input and output index; absent
// expected outputs are nil.
type dataSet struct {
	name    string
	inputs  [][]float32
	outputs [][]float32
}

func (s *Suite) readDataSet(tb testing.TB, name string) dataSet {
	ds := dataSet{name: name, outputs: make([][]float32, len(s.Outputs))}
	for k, spec := range s.Inputs {
		ds.inputs = append(ds.inputs, modeltest.ReadFloats(tb, filepath.Join("testdata", name, fmt.Sprintf("input_%d.bin", k)), spec.Len()))
	}
	for k, spec := range s.Outputs {
		path := filepath.Join("testdata", name, fmt.Sprintf("output_%d.bin", k))
		if _, err := os.Stat(path); err == nil {
			ds.outputs[k] = modeltest.ReadFloats(tb, path, spec.Len())
		}
	}
	return ds
}

// zeroState reports whether every state input of ds is zero.
func (s *Suite) zeroState(ds dataSet) bool {
	for _, st := range s.States {
		for _, v := range ds.inputs[st.Input] {
			if v != 0 {
				return false
			}
		}
	}
	return true
}

// continues reports whether the state inputs of ds are the expected state
// outputs of prev.
func (s *Suite) continues(prev *dataSet, ds dataSet) bool {
	if prev == nil {
		return false
	}
	for _, st := range s.States {
		want := prev.outputs[st.Output]
		if want == nil || !(floatcmp.Slices(ds.inputs[st.Input], want) <= s.MaxRelErr) {
			return false
		}
	}
	return true
}

// TestDataSets runs the data sets as sequences of frames through one
// Stream: a data set with zero state starts a sequence (Reset), one whose
// state inputs are the previous data set's state outputs continues it.
// Every expected result is compared; data sets that fit neither are
// skipped with a message.
func (s *Suite) TestDataSets(t *testing.T) {
	if len(s.DataSets) == 0 {
		t.Skip("compiled without -testdata")
	}
	m := s.newModel(t, 0)
	st := m.NewStream()
	var prev *dataSet
	checked := 0
	for _, name := range s.DataSets {
		ds := s.readDataSet(t, name)
		switch {
		case s.zeroState(ds):
			st.Reset()
			t.Logf("%s: zero state, starts a sequence", name)
		case s.continues(prev, ds):
			t.Logf("%s: continues the sequence from %s's state", name, prev.name)
		default:
			t.Logf("%s: its state inputs are neither zero nor the previous data set's state outputs; not a stream step", name)
			prev = nil
			continue
		}
		got, err := st.Step(s.pick(ds.inputs, s.Frames))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for r, o := range s.Results {
			want := ds.outputs[o]
			if want == nil {
				continue
			}
			e := floatcmp.Slices(got[r], want)
			if !(e <= s.MaxRelErr) {
				t.Errorf("%s: output %q: relative error %.3g > %g", name, s.Outputs[o].Name, e, s.MaxRelErr)
			} else {
				t.Logf("%s: output %q: relative error %.3g", name, s.Outputs[o].Name, e)
			}
			checked++
		}
		prev = &ds
	}
	if checked == 0 {
		t.Skip("no data set is a stream step with expected results")
	}
}

// pick returns the tensors at the given indices.
func (s *Suite) pick(all [][]float32, idx []int) [][]float32 {
	out := make([][]float32, len(idx))
	for k, i := range idx {
		out[k] = all[i]
	}
	return out
}

// SampleFrames returns n deterministic frames (each the Step inputs): the data
// sets' frames first, then synthetic values in [-0.5, 0.5).
func (s *Suite) SampleFrames(tb testing.TB, n int) [][][]float32 {
	var frames [][][]float32
	for _, name := range s.DataSets {
		if len(frames) == n {
			break
		}
		frames = append(frames, s.pick(s.readDataSet(tb, name).inputs, s.Frames))
	}
	for k := len(frames); k < n; k++ {
		var frame [][]float32
		for j, in := range s.Frames {
			v := make([]float32, s.Inputs[in].Len())
			for i := range v {
				v[i] = float32((i*7+k*13+j*5)%17)/17 - 0.5
			}
			frame = append(frame, v)
		}
		frames = append(frames, frame)
	}
	return frames
}

// run steps st through frames and returns every result.
func run(st Stream, frames [][][]float32) ([][][]float32, error) {
	var out [][][]float32
	for k, f := range frames {
		got, err := st.Step(f)
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", k, err)
		}
		out = append(out, got)
	}
	return out, nil
}

// compare reports the first difference between two runs' results, bit for
// bit.
func compare(got, want [][][]float32) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d frames of results, want %d", len(got), len(want))
	}
	for k := range want {
		for r := range want[k] {
			if !floatcmp.SameBits(got[k][r], want[k][r]) {
				return fmt.Errorf("frame %d, result %d: differs (relative error %.3g)", k, r, floatcmp.Slices(got[k][r], want[k][r]))
			}
		}
	}
	return nil
}

// reference steps one fresh Stream through frames.
func (s *Suite) reference(t *testing.T, m Model, frames [][][]float32) [][][]float32 {
	t.Helper()
	want, err := run(m.NewStream(), frames)
	if err != nil {
		t.Fatal(err)
	}
	return want
}

// TestMatchesRun checks a Stream against Run with the states passed by
// hand: zero at first, then each run's state outputs fed to the next. The
// results must be identical, bit for bit.
func (s *Suite) TestMatchesRun(t *testing.T) {
	m := s.newModel(t, 0)
	frames := s.SampleFrames(t, 3)
	got := s.reference(t, m, frames)
	state := make([][]float32, len(s.States))
	for k, st := range s.States {
		state[k] = make([]float32, s.Inputs[st.Input].Len())
	}
	var want [][][]float32
	for _, frame := range frames {
		in := map[string][]float32{}
		for j, k := range s.Frames {
			in[s.Inputs[k].Name] = frame[j]
		}
		for k, st := range s.States {
			in[s.Inputs[st.Input].Name] = state[k]
		}
		out, err := m.Infer(in)
		if err != nil {
			t.Fatal(err)
		}
		var results [][]float32
		for _, o := range s.Results {
			results = append(results, out[s.Outputs[o].Name])
		}
		want = append(want, results)
		for k, st := range s.States {
			state[k] = out[s.Outputs[st.Output].Name]
		}
	}
	if err := compare(got, want); err != nil {
		t.Errorf("Stream against Run with the states fed back: %v", err)
	}
}

// TestInterleaved steps two Streams of one Model in turns, on different
// sequences, and compares each with a Stream run alone.
func (s *Suite) TestInterleaved(t *testing.T) {
	m := s.newModel(t, 0)
	frames := s.SampleFrames(t, 3)
	seqA := frames
	seqB := [][][]float32{frames[2], frames[0], frames[1]}
	wantA, wantB := s.reference(t, m, seqA), s.reference(t, m, seqB)
	a, b := m.NewStream(), m.NewStream()
	var gotA, gotB [][][]float32
	for k := range seqA {
		ra, err := a.Step(seqA[k])
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.Step(seqB[k])
		if err != nil {
			t.Fatal(err)
		}
		gotA, gotB = append(gotA, ra), append(gotB, rb)
	}
	if err := compare(gotA, wantA); err != nil {
		t.Errorf("stream A interleaved with B: %v", err)
	}
	if err := compare(gotB, wantB); err != nil {
		t.Errorf("stream B interleaved with A: %v", err)
	}
}

// TestReset checks that Reset starts a new sequence: the frames after it
// give the results of a fresh Stream.
func (s *Suite) TestReset(t *testing.T) {
	m := s.newModel(t, 0)
	frames := s.SampleFrames(t, 3)
	want := s.reference(t, m, frames[:2])
	st := m.NewStream()
	if _, err := run(st, frames); err != nil {
		t.Fatal(err)
	}
	st.Reset()
	got, err := run(st, frames[:2])
	if err != nil {
		t.Fatal(err)
	}
	if err := compare(got, want); err != nil {
		t.Errorf("after Reset: %v", err)
	}
}

// TestConcurrentStreams runs Streams of one Model from several goroutines
// (run it with -race); each must give exactly a lone Stream's results.
func (s *Suite) TestConcurrentStreams(t *testing.T) {
	m := s.newModel(t, 2)
	frames := s.SampleFrames(t, 3)
	want := s.reference(t, m, frames)
	const goroutines = 4
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			got, err := run(m.NewStream(), frames)
			if err == nil {
				err = compare(got, want)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestInputErrors checks that a frame of the wrong length (one float too
// many or too few, or nil) is an error that says so, not a panic, and
// leaves the Stream's state as it was.
func (s *Suite) TestInputErrors(t *testing.T) {
	m := s.newModel(t, 0)
	frames := s.SampleFrames(t, 2)
	want := s.reference(t, m, frames)
	st := m.NewStream()
	if _, err := st.Step(frames[0]); err != nil {
		t.Fatal(err)
	}
	for j, in := range s.Frames {
		spec := s.Inputs[in]
		n := spec.Len()
		for _, c := range []struct {
			name  string
			frame []float32
		}{
			{"one too long", append(slices.Clip(frames[1][j]), 0)},
			{"one too short", frames[1][j][:n-1]},
			{"nil", nil},
		} {
			t.Run(spec.Name+"/"+c.name, func(t *testing.T) {
				bad := slices.Clone(frames[1])
				bad[j] = c.frame
				msg := fmt.Sprintf("input %s: got %d values, want %d for shape %v", spec.Name, len(c.frame), n, spec.Shape)
				if _, err := st.Step(bad); err == nil || !strings.Contains(err.Error(), msg) {
					t.Errorf("error %v; want one saying %q", err, msg)
				}
			})
		}
	}
	got, err := st.Step(frames[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := compare([][][]float32{got}, want[1:]); err != nil {
		t.Errorf("frame 1 after failed Steps: %v", err)
	}
}

// TestAfterClose checks that Streams outlive their Model's worker threads:
// after Close, a Stream begun before it and one begun after both step on,
// on the calling goroutine, with a lone Stream's results bit for bit.
func (s *Suite) TestAfterClose(t *testing.T) {
	m := s.newModel(t, 2)
	frames := s.SampleFrames(t, 3)
	want := s.reference(t, m, frames)
	early := m.NewStream()
	first, err := early.Step(frames[0])
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	rest, err := run(early, frames[1:])
	if err != nil {
		t.Fatal(err)
	}
	if err := compare(append([][][]float32{first}, rest...), want); err != nil {
		t.Errorf("a Stream stepped across Close: %v", err)
	}
	late, err := run(m.NewStream(), frames)
	if err != nil {
		t.Fatal(err)
	}
	if err := compare(late, want); err != nil {
		t.Errorf("a Stream of a closed Model: %v", err)
	}
}

// BenchmarkStep times one Step on the Model's default threads (GOMAXPROCS:
// set it with -cpu), the shift states carried from Step to Step. Beside
// the mean (ns/op) it reports the median and the fastest Step
// (median-ms/frame, min-ms/frame), which a busy machine disturbs less.
func (s *Suite) BenchmarkStep(b *testing.B) {
	m := s.newModel(b, 0)
	frames := s.SampleFrames(b, 2)
	st := m.NewStream()
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := st.Step(frames[len(times)%len(frames)]); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2])/1e6, "median-ms/frame")
	b.ReportMetric(float64(times[0])/1e6, "min-ms/frame")
}
