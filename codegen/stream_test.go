package codegen

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc/interp"
	"github.com/tsmc-go/tsmc/ir"
)

// onlineGraph is a small online model in the form the passes leave it:
// T frames per call, two stateful shifts fused into convolutions, each
// state output sliced from the shifted activation (frame T-1 first when
// T > 1, then the shifted channels, as two Slices). Names are chosen to
// mislead: the state outputs are called "logits" and "out3", the logits
// "state_a", the frame "s0", so the pairing can only come from data flow.
// wrongChannel makes the first state output take a channel the shift
// does not move; features adds a second result, the features before the
// classifier, as the last output.
func onlineGraph(t *testing.T, frames int, wrongChannel, features bool) *ir.Graph {
	b := newBuilder(13)
	shift := func(conv ...any) map[string]ir.Attr {
		return attrs(append([]any{"segments", frames, "shift", []int64{0, 2, -1}, "dilations", []int64{1, 1}, "group", 1}, conv...)...)
	}
	x := b.Input("s0", frames, 3, 8, 8)
	s1 := b.Input("state1", 1, 2, 8, 8)
	s2 := b.Input("state2", 1, 2, 4, 4)
	y := b.op("stem", "tsmc.Conv", attrs("kernel_shape", []int64{3, 3}, "strides", []int64{1, 1}, "pads", []int64{1, 1, 1, 1},
		"dilations", []int64{1, 1}, "group", 1, "activation", "relu"), x, b.random("w0", 8, 3, 3, 3), b.random("b0", 8))
	// lastFrame takes frame T-1, as a stream keeps the last frame of a call.
	lastFrame := func(name string, v *ir.Value) *ir.Value {
		if frames == 1 {
			return v
		}
		return b.op(name, "Slice", nil, v, b.ints(name+"_s", int64(frames-1)), b.ints(name+"_e", int64(frames)), b.ints(name+"_a", 0))
	}
	first := int64(0)
	if wrongChannel {
		first = 1
	}
	next1 := b.op("out3", "Slice", nil, lastFrame("last1", y), b.ints("s1s", first), b.ints("s1e", first+2), b.ints("s1a", 1))
	c1 := b.op("shifted1", "tsmc.Conv", shift("kernel_shape", []int64{1, 1}, "strides", []int64{1, 1}, "pads", []int64{0, 0, 0, 0}, "activation", "relu"),
		y, b.random("w1", 8, 8, 1, 1), b.random("b1", 8), y, s1)
	d := b.op("down", "tsmc.Conv", attrs("kernel_shape", []int64{3, 3}, "strides", []int64{2, 2}, "pads", []int64{1, 1, 1, 1},
		"dilations", []int64{1, 1}, "group", 8, "activation", "clip", "clip_min", float32(0), "clip_max", float32(6)),
		c1, b.random("wd", 8, 1, 3, 3), b.random("bd", 8))
	next2 := b.op("logits", "Slice", nil, lastFrame("last2", d), b.ints("s2s", 0), b.ints("s2e", 2), b.ints("s2a", 1))
	c2 := b.op("shifted2", "tsmc.Conv", shift("kernel_shape", []int64{3, 3}, "strides", []int64{1, 1}, "pads", []int64{1, 1, 1, 1}),
		d, b.random("w2", 8, 8, 3, 3), b.random("b2", 8), nil, s2)
	logits := b.op("state_a", "tsmc.Dense", nil, c2, b.random("wf", 5, 8), b.random("bf", 5))
	b.Output(next2, logits, next1)
	if features {
		b.Output(c2)
	}
	return b.Graph(t)
}

func TestPlanStreamPairsByDataFlow(t *testing.T) {
	for _, frames := range []int{1, 2} {
		p, err := lower(onlineGraph(t, frames, false, false), nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.stream == nil {
			t.Fatalf("%d frames: no stream: %s", frames, p.streamWhy)
		}
		sp := p.stream
		// Inputs: s0 (frame), state1, state2; outputs: logits (state 2),
		// state_a (the classes), out3 (state 1).
		if len(sp.states) != 2 || sp.states[0].in != 1 || sp.states[0].out != 2 || sp.states[1].in != 2 || sp.states[1].out != 0 {
			t.Errorf("%d frames: states %+v, want state1 -> out3 and state2 -> logits", frames, sp.states)
		}
		if len(sp.frames) != 1 || sp.frames[0] != 0 || len(sp.results) != 1 || sp.results[0] != 1 {
			t.Errorf("%d frames: frames %v results %v, want [0] and [1]", frames, sp.frames, sp.results)
		}
		for _, st := range sp.states {
			if st.offset%alignFloats != 0 || st.offset+st.size > sp.stateLen {
				t.Errorf("state %+v does not fit an aligned state buffer of %d", st, sp.stateLen)
			}
		}
	}
}

func TestPlanStreamRejects(t *testing.T) {
	p, err := lower(onlineGraph(t, 1, true, false), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.stream != nil || !strings.Contains(p.streamWhy, `next value of state input "state1"`) {
		t.Errorf("state output of the wrong channels: stream %+v, reason %q", p.stream, p.streamWhy)
	}
	// The all-ops graph's state output holds every frame, not the last of
	// each clip: no Stream, and the package doc says why.
	all := allOpsGraph(t)
	if p, err = lower(all, nil); err != nil {
		t.Fatal(err)
	}
	if p.stream != nil || p.streamWhy == "" {
		t.Errorf("all-ops graph: stream %+v, reason %q", p.stream, p.streamWhy)
	}
	pkg, err := Generate(all, Options{Package: "allops"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pkg.Files["stream_test.go"]; ok || !strings.Contains(string(pkg.Files["model.go"]), "but no Stream") {
		t.Error("all-ops package: want no stream_test.go and a doc line saying why there is no Stream")
	}
	// A model without state has no Stream and nothing to say about it.
	b := newBuilder(13)
	b.Output(b.op("relu", "Relu", nil, b.Input("x", 1, 4)))
	if p, err = lower(b.Graph(t), nil); err != nil {
		t.Fatal(err)
	}
	if p.stream != nil || p.streamWhy != "" {
		t.Errorf("stateless graph: stream %+v, reason %q", p.stream, p.streamWhy)
	}
}

// onlineDataSets runs g through the interpreter: a sequence of two frames
// from zero state, then a data set whose states come from elsewhere (the
// stream tests must skip it, the model tests check it through Run).
func onlineDataSets(t *testing.T, g *ir.Graph, states []int) []DataSet {
	rng := rand.New(rand.NewPCG(5, 8))
	var sets []DataSet
	var carried map[int]*ir.Tensor
	for k, name := range []string{"frame_0", "frame_1", "unrelated"} {
		ds := DataSet{Name: name}
		in := map[string]*ir.Tensor{}
		for i, v := range g.Inputs {
			tensor := randomTensor(rng, v.Shape)
			if isState := states[i] >= 0; isState && k == 0 {
				tensor = ir.Float32s(v.Shape, make([]float32, v.Shape.Size()))
			} else if isState && k == 1 {
				tensor = carried[i]
			}
			ds.Inputs = append(ds.Inputs, tensor)
			in[v.Name] = tensor
		}
		want, err := interp.Run(g, in)
		if err != nil {
			t.Fatal(err)
		}
		carried = map[int]*ir.Tensor{}
		for i, o := range states {
			if o >= 0 {
				carried[i] = want[g.Outputs[o].Name]
			}
		}
		for _, v := range g.Outputs {
			ds.Outputs = append(ds.Outputs, want[v.Name])
		}
		sets = append(sets, ds)
	}
	return sets
}

// WriteGenerated (exported for codegen_test) writes pkg into a folder of
// the module that ./... patterns skip, removed when the test ends, and
// returns its package path relative to the module root.
func WriteGenerated(tb testing.TB, pkg *Package) string {
	tb.Helper()
	dir, err := os.MkdirTemp(".", "_"+pkg.Name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := pkg.Write(filepath.Join(dir, pkg.Name)); err != nil {
		tb.Fatal(err)
	}
	return "./" + filepath.ToSlash(filepath.Join(dir, pkg.Name))
}

// goTestPackage writes pkg out and runs go test on it (the tests it
// generates: data sets, thread counts, bad inputs), failing t with the
// output if they fail; it returns that output.
func goTestPackage(t *testing.T, pkg *Package, args ...string) string {
	t.Helper()
	target := WriteGenerated(t, pkg)
	out, err := exec.Command("go", append(append([]string{"test", "-count=1"}, args...), target)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	return string(out)
}

// GoTestGenerated (exported for codegen_test) writes pkg with
// WriteGenerated, vets it and runs its tests (under -race where cgo
// allows) with the given extra arguments, and returns the test output.
func GoTestGenerated(t *testing.T, pkg *Package, args ...string) string {
	t.Helper()
	target := WriteGenerated(t, pkg)
	test := append([]string{"test", "-v", "-count=1"}, args...)
	if cgo, err := exec.Command("go", "env", "CGO_ENABLED").Output(); err == nil && strings.TrimSpace(string(cgo)) == "1" {
		test = append(test, "-race")
	}
	var out []byte
	for _, cmd := range [][]string{{"vet", target}, append(test, target)} {
		var err error
		if out, err = exec.Command("go", cmd...).CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", cmd, err, out)
		}
	}
	return string(out)
}

// TestGeneratedStream generates the small online model for one frame per
// call, and for two frames with a second result (Step then returns
// StreamOutputs), with data sets from the interpreter, and runs the
// generated package's tests: its Stream over the sequence within 1e-4,
// equal to Run fed its own states, interleaved, reset and concurrent
// Streams, bad frames.
func TestGeneratedStream(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests generated packages")
	}
	for _, c := range []struct {
		frames   int
		features bool
		step     string
	}{
		{1, false, "func (s *Stream) Step(frame []float32) ([]float32, error)"},
		{2, true, "func (s *Stream) Step(frame []float32) (StreamOutputs, error)"},
	} {
		frames := c.frames
		g := onlineGraph(t, frames, false, c.features)
		states := []int{-1, 2, 0} // input -> its state output, from the graph's construction
		pkg, err := Generate(g, Options{Package: "online" + string(rune('0'+frames)), DataSets: onlineDataSets(t, g, states)})
		if err != nil {
			t.Fatal(err)
		}
		if want := []StreamState{{"state1", "out3"}, {"state2", "logits"}}; !slices.Equal(pkg.Stream, want) {
			t.Errorf("Package.Stream = %v, want %v", pkg.Stream, want)
		}
		src := string(pkg.Files["model.go"])
		for _, want := range []string{"func (m *Model) NewStream() *Stream", c.step, "func (s *Stream) Reset()"} {
			if !strings.Contains(src, want) {
				t.Errorf("model.go lacks %q", want)
			}
		}
		out := GoTestGenerated(t, pkg)
		want := []string{
			"frame_0: zero state, starts a sequence",
			`frame_0: output "state_a": relative error`,
			"frame_1: continues the sequence from frame_0's state",
			`frame_1: output "state_a": relative error`,
			"unrelated: its state inputs are neither zero",
			"--- PASS: TestStreamMatchesRun", "--- PASS: TestStreamsInterleaved", "--- PASS: TestStreamReset",
			"--- PASS: TestConcurrentStreams", "--- PASS: TestStreamInputErrors",
		}
		if c.features {
			want = append(want, `frame_1: output "shifted2": relative error`)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%d frames: the generated tests did not say %q:\n%s", frames, w, out)
			}
		}
	}
}
