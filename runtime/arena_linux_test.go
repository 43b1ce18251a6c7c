package runtime

import (
	"os"
	"syscall"
	"testing"
	"unsafe"
)

// TestAlignedGuardsMapped checks that the guard zones around aligned
// buffers lie on pages that are mapped in (mincore), for sizes from a
// few floats to many pages: a masked-off lane there costs no microcode
// assist (see guardFloats).
func TestAlignedGuardsMapped(t *testing.T) {
	page := uintptr(os.Getpagesize())
	resident := func(lo, hi uintptr) bool {
		lo &^= page - 1
		n := (hi - lo + page - 1) / page
		vec := make([]byte, n)
		if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, lo, n*page, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
			t.Fatalf("mincore: %v", errno)
		}
		for _, v := range vec {
			if v&1 == 0 {
				return false
			}
		}
		return true
	}
	var keep [][]float32 // live, so that their memory is not reused
	for _, n := range []int{1, 15, 1000, 1 << 14, 1<<20 + 3, 3 << 20} {
		f := AlignedFloats(n)
		b := alignedBytes(4*n + 1)
		keep = append(keep, f, unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), 1))
		for _, r := range []struct {
			what   string
			lo, hi uintptr
		}{
			{"floats", uintptr(unsafe.Pointer(&f[0])), uintptr(unsafe.Pointer(&f[0])) + uintptr(4*n)},
			{"bytes", uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&b[0])) + uintptr(len(b))},
		} {
			if !resident(r.lo-4*guardFloats, r.hi+4*guardFloats) {
				t.Errorf("%s of %d: a page within %d bytes of the buffer is not mapped in", r.what, n, 4*guardFloats)
			}
		}
	}
	_ = keep
}
