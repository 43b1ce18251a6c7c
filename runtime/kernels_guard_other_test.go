//go:build (amd64 || arm64) && !purego && !unix

package runtime

import "testing"

// guarded returns n floats (without a guard page on this OS) and a no-op
// release function.
func guarded(t *testing.T, n int) ([]float32, func()) {
	return make([]float32, n), func() {}
}
