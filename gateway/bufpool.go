package gateway

import (
	"math/bits"
	"sync"
)

// Fetch responses are built from large buffers: the records read for each
// partition and the encoded response, often many MiB each. Allocating
// them fresh costs more than the copies into them, because every new page
// is zeroed and mapped on first touch (about 13 µs per 4 KiB page on the
// sandboxed machines of our benchmarks, so ~300 MB/s). bufPool recycles
// them by power-of-two size class once their response is written.
const (
	minPooledShift = 16 // 64 KiB: smaller buffers are cheap to allocate
	maxPooledShift = 27 // 128 MiB: above the largest fetch response
)

var bufPools [maxPooledShift + 1]sync.Pool

// getBuf returns an empty buffer with room for n bytes.
func getBuf(n int) []byte {
	shift := bits.Len(uint(max(n-1, 0)))
	if shift < minPooledShift || shift > maxPooledShift {
		return make([]byte, 0, n)
	}
	if b, ok := bufPools[shift].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, 1<<shift)
}

// putBuf recycles a buffer from getBuf; nothing may use it afterwards.
func putBuf(b []byte) {
	shift := bits.Len(uint(cap(b))) - 1
	if shift < minPooledShift || shift > maxPooledShift || cap(b) != 1<<shift {
		return
	}
	b = b[:0]
	bufPools[shift].Put(&b)
}
