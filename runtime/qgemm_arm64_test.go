//go:build arm64 && !purego

package runtime

import (
	"os"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestQNEONSelected makes sure the arm64 runs exercise the int8 kernel of
// the CPU's level: SDOT with the dot-product extension (qemu-aarch64 -cpu
// max), the SMULL fallback without it (-cpu cortex-a53).
func TestQNEONSelected(t *testing.T) {
	if os.Getenv("TSMC_ISA") != "" {
		t.Skip("TSMC_ISA chooses the level")
	}
	level, kern := ISANEON, "qu8_qc8w_gemm_minmax_fp32_4x8c4__neon"
	if cpu.ARM64.HasASIMDDP {
		level, kern = ISANEONDOT, "qu8_qc8w_gemm_minmax_fp32_12x8c4__neondot"
	}
	if QISA() != level {
		t.Fatalf("QISA() = %q, want %q (dot product: %v)", QISA(), level, cpu.ARM64.HasASIMDDP)
	}
	if k := qgemmFor(PackQMR, false); k.Name != kern {
		t.Errorf("int8 weights packed by %d rows run %s, want %s", PackQMR, k.Name, kern)
	}
	t.Logf("int8 level %s: %v", QISA(), QGemmKernels())
}
