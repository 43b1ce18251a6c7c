//go:build (amd64 || arm64) && !purego && unix

package runtime

import (
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns n floats ending right before a PROT_NONE page, and a
// function releasing them: a kernel reading or writing past the end
// faults.
func guarded(t *testing.T, n int) ([]float32, func()) {
	page := syscall.Getpagesize()
	size := (4*n+page-1)/page*page + page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mprotect(mem[size-page:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	all := unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), (size-page)/4)
	return all[len(all)-n:], func() { syscall.Munmap(mem) }
}
