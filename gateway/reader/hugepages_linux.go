package reader

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page on amd64 and arm64
// with 4 KiB base pages.
const hugePage = 2 << 20

// adviseHugePages asks the kernel to back a fresh buffer of the MiB
// classes, and the rest of the huge pages it touches, with transparent
// huge pages (MADV_HUGEPAGE) before anything is written to it: one fault
// per 2 MiB then maps what 512 faults would. Most kernels ship THP as
// "madvise", so the Go heap gets none unless asked.
//
// On the 2-vCPU VMs of the benchmarks a 4 KiB fault costs 12 µs of CPU:
// touching 256 MiB of fresh memory took 800 ms in 4 KiB pages and 17 ms in
// huge ones (more either way where the VM's memory is used for the first
// time). A cold read of 1 GiB took 3,197–8,427 faults in the gateway
// before, 117–1,428 after (BenchmarkColdFetchThroughput).
//
// The pages around the buffer are heap memory too, so the hint is harmless
// there; a huge page already partly mapped stays in small pages. What it
// costs: khugepaged may gather advised ranges the runtime has given back
// into huge pages again, so up to the high-water mark of these buffers can
// stay resident; the cache and the pools keep most of that in use anyway.
func adviseHugePages(b []byte) {
	if cap(b) <= mib {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := p &^ (hugePage - 1)
	end := (p + uintptr(cap(b)) + hugePage - 1) &^ (hugePage - 1)
	syscall.Syscall(syscall.SYS_MADVISE, start, end-start, 14) // MADV_HUGEPAGE; a kernel without THP says EINVAL
}
