// Package testmodels finds the full-size TSM exports the tests run on when
// they are present: $TSMC_MODELS, else the shared/models folder beside the
// tsmc checkout (../shared/models from the module root).
package testmodels

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Env names the variable that overrides where the models are.
const Env = "TSMC_MODELS"

// Dir returns the models folder, whether or not it exists.
func Dir() string {
	if d := os.Getenv(Env); d != "" {
		return d
	}
	if root := moduleRoot(); root != "" {
		return filepath.Join(filepath.Dir(root), "shared", "models")
	}
	return filepath.Join("..", "shared", "models")
}

// moduleRoot walks up from the working directory (a test's package folder)
// to the folder of tsmc's go.mod; "" when there is none.
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/tsmc-go/tsmc\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Model returns the folder of the named model (holding model.onnx), or
// skips the test with a message saying where it looked.
func Model(tb testing.TB, name string) string {
	tb.Helper()
	dir := filepath.Join(Dir(), name)
	if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err != nil {
		tb.Skipf("model %s not found (%v); set %s to the folder of the shared models", name, err, Env)
	}
	return dir
}

// All returns the folders of every model under Dir by name, or skips the
// test when there are none.
func All(tb testing.TB) map[string]string {
	tb.Helper()
	root := Dir()
	entries, err := os.ReadDir(root)
	if err != nil {
		tb.Skipf("shared models not found (%v); set %s to their folder", err, Env)
	}
	dirs := map[string]string{}
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, "model.onnx")); err == nil {
			dirs[e.Name()] = dir
		}
	}
	if len(dirs) == 0 {
		tb.Skipf("no models in %s; set %s to their folder", root, Env)
	}
	return dirs
}
