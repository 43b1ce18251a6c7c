package tsmc_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tsmc-go/tsmc"
	"github.com/tsmc-go/tsmc/codegen"
	"github.com/tsmc-go/tsmc/ir"
	"github.com/tsmc-go/tsmc/onnx"
)

const tinyOfficial = "testdata/tsm_tiny_official/model.onnx"

// copyTiny copies the tiny official model and its first data set into a
// temporary folder, leaving out the data set files drop names; it returns
// the model path.
func copyTiny(t *testing.T, drop ...string) string {
	t.Helper()
	dir := t.TempDir()
	copyFile := func(from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(tinyOfficial, filepath.Join(dir, "model.onnx"))
	ds := filepath.Join(dir, "test_data_set_0")
	if err := os.Mkdir(ds, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"input_0.pb", "output_0.pb"} {
		if !strings.Contains(strings.Join(drop, " "), f) {
			copyFile(filepath.Join(filepath.Dir(tinyOfficial), "test_data_set_0", f), filepath.Join(ds, f))
		}
	}
	return filepath.Join(dir, "model.onnx")
}

// TestVerifyComparingNothingFails: a data set without expected outputs
// would pass having compared nothing; it fails instead, saying why.
func TestVerifyComparingNothingFails(t *testing.T) {
	path := copyTiny(t, "output_0.pb")
	results, err := tsmc.Verify(path, tsmc.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Passed || results[0].Err == nil || !strings.Contains(results[0].Err.Error(), "no expected outputs") {
		t.Fatalf("results %+v; want one failed data set with no expected outputs", results)
	}
}

// TestVerifyRejectsBadTolerances: 0 means the default, anything else must
// be a finite number above 0.
func TestVerifyRejectsBadTolerances(t *testing.T) {
	for _, rtol := range []float64{-1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err := tsmc.Verify(tinyOfficial, tsmc.VerifyOptions{RTol: rtol})
		if err == nil || !strings.Contains(err.Error(), "want a finite number above 0") {
			t.Errorf("rtol %v: error %v", rtol, err)
		}
	}
}

// TestVerifyStopsWhenCancelled: a cancelled context stops Verify before
// the next data set, with the context's error.
func TestVerifyStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	runs := 0
	engine := func(g *ir.Graph) (tsmc.Engine, error) {
		e, _ := tsmc.InterpEngine(g)
		return tsmc.EngineFunc(func(in map[string]*ir.Tensor) (map[string]*ir.Tensor, error) {
			runs++
			cancel()
			return e.Run(in)
		}), nil
	}
	results, err := tsmc.VerifyContext(ctx, tinyOfficial, tsmc.VerifyOptions{Engine: engine})
	if !errors.Is(err, context.Canceled) || runs != 1 || len(results) != 0 {
		t.Errorf("%d runs, results %+v, error %v; want one run cut short and context.Canceled", runs, results, err)
	}
}

// TestNonFiniteWeightsNamed: NaN and infinite weights compile, with a
// warning naming the tensor and counting its bad values.
func TestNonFiniteWeightsNamed(t *testing.T) {
	g, err := onnx.Load(tinyOfficial)
	if err != nil {
		t.Fatal(err)
	}
	if w := tsmc.NonFiniteWeights(g); len(w) != 0 {
		t.Fatalf("the tiny model's weights are finite, but: %v", w)
	}
	var name string
	for _, v := range g.Constants() {
		if v.Const.DType == ir.Float32 && len(v.Const.F32) >= 3 {
			name = v.Name
			v.Const.F32[0] = float32(math.NaN())
			v.Const.F32[1] = float32(math.Inf(1))
			v.Const.F32[2] = float32(math.NaN())
			break
		}
	}
	w := tsmc.NonFiniteWeights(g)
	if len(w) != 1 || !strings.Contains(w[0], `"`+name+`"`) || !strings.Contains(w[0], "2 NaN, 1 +Inf") {
		t.Errorf("warnings %q; want one naming %q with 2 NaN, 1 +Inf", w, name)
	}
}

// TestCompileWithoutOutputs: a graph with no outputs would give a package
// that computes nothing (and does not build); it is an error.
func TestCompileWithoutOutputs(t *testing.T) {
	g, err := tsmc.Optimize(tinyOfficial, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Outputs = nil
	if _, err := codegen.Generate(g, codegen.Options{Package: "m"}); err == nil || !strings.Contains(err.Error(), "has no outputs") {
		t.Errorf("error %v; want one saying the graph has no outputs", err)
	}
}

// TestCompileStopsWhenCancelled: CompileContext returns the context's
// error once it is done.
func TestCompileStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tsmc.CompileContext(ctx, tinyOfficial, tsmc.CompileOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
