//go:build amd64 && !purego

package runtime

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// Kernel benchmarks of the generated amd64 kernels, on L1-resident
// operands, in GFLOP/s and in percent of the FMA peak the issue sets:
// 32 FP32 FLOP per cycle per core at the measured clock. The clock is
// measured, not read from /proc/cpuinfo: under a hypervisor "cpu MHz" is
// the TSC rate (2096 MHz on the development machine) while the core runs
// boosted (about 3.5 GHz). clockLoop runs chains of dependent one-cycle
// additions, so its rate is the clock; the best of several short runs is
// taken, as other processes only slow it down.

// clockHz returns the measured core clock.
var clockHz = sync.OnceValue(func() float64 {
	best := 0.0
	for range 7 {
		const n = 100_000
		t0 := time.Now()
		clockLoop(n)
		if hz := float64(n*64) / time.Since(t0).Seconds(); hz > best {
			best = hz
		}
	}
	return best
})

// fmaFLOPsPerCycle measures the FMA throughput of one vector width in
// FLOP per cycle: loop runs n iterations of fmas FMAs of lanes floats.
func fmaFLOPsPerCycle(loop func(int), fmas, lanes int) float64 {
	best := 0.0
	for range 5 {
		const n = 20_000
		t0 := time.Now()
		loop(n)
		if f := float64(n*fmas*lanes*2) / time.Since(t0).Seconds(); f > best {
			best = f
		}
	}
	return best / clockHz()
}

// peakFLOPsPerCycle is the yardstick: 2 FMA pipes x 8 lanes x 2.
const peakFLOPsPerCycle = 32

func reportKernelFLOPs(b *testing.B, flopsPerOp float64) {
	rate := flopsPerOp * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate/1e9, "GFLOP/s")
	b.ReportMetric(100*rate/(peakFLOPsPerCycle*clockHz()), "%peak")
	b.ReportMetric(rate/clockHz(), "FLOP/cycle")
}

// BenchmarkCPUPeak reports the measured clock and the FMA throughput of
// YMM and ZMM registers: on Zen 5 the 512-bit pipes give 64 FLOP/cycle,
// twice the 32 of AVX2.
func BenchmarkCPUPeak(b *testing.B) {
	for range b.N {
		clockLoop(1000)
	}
	b.ReportMetric(clockHz()/1e9, "GHz")
	for _, l := range asmLevels() {
		switch l {
		case ISAAVX2:
			b.ReportMetric(fmaFLOPsPerCycle(fmaLoopAVX2, 48, 8), "FLOP/cycle-ymm")
		case ISAAVX512:
			b.ReportMetric(fmaFLOPsPerCycle(fmaLoopAVX512, 96, 16), "FLOP/cycle-zmm")
		}
	}
}

// BenchmarkAsmGemmKernel runs each GEMM kernel on one tile with K = KC,
// the panels in L1 as in the conv driver's inner loop: A with the packed
// 12-row stride, full epilogue.
func BenchmarkAsmGemmKernel(b *testing.B) {
	for _, k := range asmGemmOnThisCPU() {
		for _, mode := range []string{"packed", "rows"} {
			b.Run(fmt.Sprintf("%s/%s", k.Name, mode), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				K := k.KC
				tl := Tile{
					A: AlignedFloats(K * PackMR), B: AlignedFloats(K * k.NR), C: AlignedFloats(k.MR * k.NR),
					Bias: randFloats(rng, k.MR), K: K, LDA: PackMR, LDB: k.NR, LDC: k.NR,
					Lo: 0, Hi: 6, Flags: TileEpilogue,
				}
				copy(tl.A, randFloats(rng, len(tl.A)))
				copy(tl.B, randFloats(rng, len(tl.B)))
				if mode == "rows" {
					tl.Flags |= TileRowsB
					tl.BRows = make([][]float32, K)
					for kk := range K {
						tl.BRows[kk] = tl.B[kk*k.NR : (kk+1)*k.NR]
					}
				}
				b.ResetTimer()
				for range b.N {
					k.Tile(&tl)
				}
				reportKernelFLOPs(b, float64(2*k.MR*k.NR*K))
			})
		}
	}
}

// BenchmarkAsmDWRow runs the depthwise row kernels of each level on rows
// of MobileNetV2 widths (plus a residual), 18 FLOP per output.
func BenchmarkAsmDWRow(b *testing.B) {
	levels := append(asmLevels(), ISAGeneric)
	for _, level := range levels {
		kern := asmDWRow3x3(level)
		if level == ISAGeneric {
			kern = dwRow3x3Go
		}
		for _, stride := range []int{1, 2} {
			for _, n := range []int{7, 14, 28, 56, 112} {
				b.Run(fmt.Sprintf("%s/s%d/n=%d", level, stride, n), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(1, 1))
					rowLen := (n-1)*stride + 3
					a := DWRow{O: make([]float32, n), R0: randFloats(rng, rowLen), R1: randFloats(rng, rowLen),
						R2: randFloats(rng, rowLen), Res: randFloats(rng, n), W: (*[9]float32)(randFloats(rng, 9)),
						Stride: stride, Lo: 0, Hi: 6}
					b.ResetTimer()
					for range b.N {
						kern(&a)
					}
					reportKernelFLOPs(b, float64(18*n))
				})
			}
		}
	}
}
