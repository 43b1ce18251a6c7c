//go:build amd64 && !purego

package runtime

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestQGemmAVXVNNIByEVEXTwins runs the AVX-VNNI kernels' code where the
// CPU lacks AVX-VNNI but has AVX-512 VNNI: through their twins, which
// differ only in VPDPBUSD's encoding (asm's TestEVEXTwinsMatchAVXVNNI
// checks the generated code), against the pure-Go kernel.
func TestQGemmAVXVNNIByEVEXTwins(t *testing.T) {
	skipWithoutEVEXTwins(t)
	twins := asmQGemmEVEXTwins()
	if len(twins) != 3 {
		t.Fatalf("%d AVX-VNNI kernels have twins, want 3 (6x16, 4x16, 2x16)", len(twins))
	}
	for orig, twin := range twins {
		if orig.MR != twin.MR || orig.NR != twin.NR || orig.SignedB != twin.SignedB {
			t.Fatalf("%s and its twin %s have other shapes", orig.Name, twin.Name)
		}
		checkQGemmKernel(t, twin, rand.New(rand.NewPCG(uint64(orig.MR), 77)))
	}
}

// skipWithoutEVEXTwins skips a test on a CPU that cannot run the twins.
func skipWithoutEVEXTwins(t *testing.T) {
	if x := cpu.X86; !x.HasAVX512VNNI || !x.HasAVX512VL || !x.HasAVX2 {
		t.Skip("the twins need AVX512_VNNI and AVX512VL")
	}
}

// TestQFGemmAVXVNNIByEVEXTwins runs the twin of the AVX-VNNI kernel
// with a float32 result (as TestQGemmAVXVNNIByEVEXTwins) against the
// pure-Go kernel.
func TestQFGemmAVXVNNIByEVEXTwins(t *testing.T) {
	skipWithoutEVEXTwins(t)
	twins := asmQFGemmEVEXTwins()
	if len(twins) != 1 {
		t.Fatalf("%d AVX-VNNI kernels with a float32 result have twins, want 1", len(twins))
	}
	for orig, twin := range twins {
		if orig != asmQFGemmKernel(ISAAVXVNNI) || orig.MR != twin.MR || orig.NR != twin.NR {
			t.Fatalf("%s's twin %s is not of the AVX-VNNI level's kernel", orig.Name, twin.Name)
		}
		checkQFGemmKernel(t, twin, rand.New(rand.NewPCG(5, 7)))
		t.Logf("%s: ok", twin.Name)
	}
}

// TestQConvAVXVNNIByEVEXTwins runs the convolution cases with the
// AVX-VNNI level's kernels replaced by their twins (as
// TestQGemmAVXVNNIByEVEXTwins), against the reference: the drivers'
// 6-row sub-panels and short kernels as the level runs them.
func TestQConvAVXVNNIByEVEXTwins(t *testing.T) {
	skipWithoutEVEXTwins(t)
	twins := asmQGemmEVEXTwins()
	var ks []*QGemmKernel
	for _, k := range asmQGemmKernels(ISAAVXVNNI) {
		tw, ok := twins[k]
		if !ok { // the level's AVX2 kernels
			ks = append(ks, k)
			continue
		}
		c := *tw
		for _, s := range k.Short {
			c.Short = append(c.Short, twins[s])
		}
		ks = append(ks, &c)
	}
	withQISA(ISAAVX2, func() { // the AVX2 packing and depthwise kernels, as an AVX-VNNI CPU runs them
		saved := qgemmKernels
		defer func() { qgemmKernels = saved }()
		qgemmKernels = ks
		p := NewPool(2)
		defer p.Close()
		seen := checkQConvCases(t, p, "AVX-VNNI twins", 23)
		if !seenSuffix(seen, "__avxvnnievex") {
			t.Errorf("the twins never ran: %v", seen)
		}
		t.Logf("kernels: %v", seen)
	})
}
