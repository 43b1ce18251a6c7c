package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/gotypes"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// clockChain is the number of dependent additions per clockLoop iteration.
const clockChain = 64

// buildClock emits the probes the kernel benchmarks report against: a
// dependent chain of one-cycle additions (its rate is the core clock,
// which /proc/cpuinfo does not give under a hypervisor or with boost) and
// a stream of independent FMAs per vector width (the FMA peak, measured
// rather than assumed).
func buildClock(g *gen) {
	sig, err := gotypes.ParseSignature("func(n int)")
	if err != nil {
		panic(err)
	}
	start := func(name string, doc ...string) {
		g.Function(name)
		g.Attributes(attr.NOSPLIT)
		g.Doc(doc...)
		g.Signature(sig)
		g.labels = 0
		g.Load(g.Param("n"), reg.RCX)
	}

	start("clockLoop", fmt.Sprintf("clockLoop runs n iterations of %d dependent one-cycle additions (AX, CX).", clockChain))
	g.XORQ(reg.RAX, reg.RAX)
	loop := g.label("loop")
	g.Label(loop)
	for range clockChain {
		g.ADDQ(reg.RCX, reg.RAX)
	}
	g.DECQ(reg.RCX)
	g.JNZ(operand.LabelRef(loop))
	g.RET()

	for _, p := range []struct {
		isa *vecISA
		acc int
	}{{avx2, 12}, {avx512, 24}} {
		name := "fmaLoop" + p.isa.Suffix()
		start(name, fmt.Sprintf("%s runs n iterations of %d independent %d-lane FMAs (%d accumulators).",
			name, 4*p.acc, p.isa.lanes, p.acc))
		src := p.isa.regs[p.acc]
		for i := range p.acc + 1 {
			g.zero(p.isa.regs[i])
		}
		loop := g.label("loop")
		g.Label(loop)
		for range 4 {
			for i := range p.acc {
				g.VFMADD231PS(src, src, p.isa.regs[i])
			}
		}
		g.DECQ(reg.RCX)
		g.JNZ(operand.LabelRef(loop))
		g.VZEROUPPER()
		g.RET()
	}

	// The vendor picks the default plan rules (runtime.RulesFamily):
	// CPUs of one vendor share the balance of FMA, load and cache
	// throughput the rules were fitted to.
	g.Function("cpuVendor")
	g.Attributes(attr.NOSPLIT)
	g.Doc("cpuVendor returns the 12-byte vendor string of CPUID leaf 0 in its three registers' order (EBX, EDX, ECX).")
	vsig, err := gotypes.ParseSignature("func() (ebx, edx, ecx uint32)")
	if err != nil {
		panic(err)
	}
	g.Signature(vsig)
	g.XORL(reg.EAX, reg.EAX)
	g.XORL(reg.ECX, reg.ECX)
	g.CPUID()
	g.Store(reg.EBX, g.Return("ebx"))
	g.Store(reg.EDX, g.Return("edx"))
	g.Store(reg.ECX, g.Return("ecx"))
	g.RET()
}
