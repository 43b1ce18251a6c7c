//go:build arm64 && !purego

package runtime

import (
	"os"
	"reflect"
	"slices"
	"testing"
)

// TestNEONSelected makes sure the arm64 runs (under qemu-aarch64 in CI)
// exercise the NEON kernels rather than silently the pure-Go ones: every
// arm64 CPU has Advanced SIMD, so the level is neon unless TSMC_ISA lowers
// it, and the drivers' packings pick the 12x8 kernel.
func TestNEONSelected(t *testing.T) {
	if os.Getenv("TSMC_ISA") != "" {
		t.Skip("TSMC_ISA chooses the level")
	}
	if ISA() != ISANEON {
		t.Fatalf("ISA() = %q on arm64, want %q", ISA(), ISANEON)
	}
	if got, want := GemmKernels(), []string{"f32_gemm_minmax_12x8__neon"}; !slices.Equal(got, want) {
		t.Errorf("GemmKernels() = %v, want %v", got, want)
	}
	if k := GemmKernelForA(PackMR); k != gemmF32Minmax12x8NEONKernel {
		t.Errorf("weights packed by %d rows run %s", PackMR, k.Name)
	}
	if k := GemmKernelForB(PackNR); k != gemmF32Minmax12x8NEONKernel {
		t.Errorf("dense weights packed by %d columns run %s", PackNR, k.Name)
	}
	if reflect.ValueOf(dwRow3x3).Pointer() != reflect.ValueOf(dwRow3x3NEON).Pointer() {
		t.Error("the depthwise rows do not run the NEON kernels")
	}
}
