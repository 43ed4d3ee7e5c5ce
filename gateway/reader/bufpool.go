package reader

import (
	"math/bits"
	"sync"
)

// Fetches go through large buffers: objects read whole into the cache,
// the records read for each partition and the encoded response, often
// many MiB each. Allocating them fresh costs more than the copies into
// them, because every new page is zeroed and mapped on first touch (about
// 13 µs per 4 KiB page on gVisor sandboxes, 2.2 µs on the Firecracker VMs
// of later benchmarks, 12 µs on the latest; adviseHugePages maps the MiB
// classes 2 MiB at a time). The pools recycle them once their response is
// written or their cache entry's last holder lets go: by power of two up
// to 1 MiB, then by whole MiB, so that a response just over 64 MiB does
// not take a buffer of 128 MiB.
const (
	minPooledShift = 16        // 64 KiB: smaller buffers are cheap to allocate
	mib            = 1 << 20   // class width above it
	maxPooled      = 128 * mib // above the largest fetch response
)

var (
	smallPools [bits.UintSize]sync.Pool
	mibPools   [maxPooled/mib + 1]sync.Pool
)

// bufClass is the pool and capacity for a buffer of at least n bytes, or
// nil if such buffers are not pooled.
func bufClass(n int) (*sync.Pool, int) {
	switch {
	case n > maxPooled:
		return nil, n
	case n > mib:
		c := (n + mib - 1) / mib
		return &mibPools[c], c * mib
	}
	shift := bits.Len(uint(max(n-1, 0)))
	if shift < minPooledShift {
		return nil, n
	}
	return &smallPools[shift], 1 << shift
}

// getBuf returns an empty buffer with room for n bytes (none if n < 0).
// Above 1 MiB, when n's class has no buffer, one of a class up to twice
// as large serves: objects vary in size around flush.bytes, and the
// buffers of evicted ones would otherwise sit idle in their classes while
// fresh memory is mapped for the next objects'. With objects of 8–9 and
// 12 MiB, lending up to a quarter larger left the 12 MiB ones to fresh
// memory: a 1 GiB cold read mapped 130 MiB of new pages, against 87 MiB
// lending up to twice. The cache charges an entry its buffer's capacity,
// so what lending wastes stays within the cache's size.
func getBuf(n int) []byte {
	n = max(n, 0)
	pool, size := bufClass(n)
	if pool == nil {
		return make([]byte, 0, n)
	}
	if b, ok := pool.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	if size > mib {
		for c := size/mib + 1; c <= size/mib*2 && c < len(mibPools); c++ {
			if b, ok := mibPools[c].Get().(*[]byte); ok {
				return (*b)[:0]
			}
		}
	}
	b := make([]byte, 0, size)
	adviseHugePages(b)
	return b
}

// putBuf recycles a buffer from getBuf; nothing may use it afterwards.
// A buffer that append grew past its class is left to the collector.
func putBuf(b []byte) {
	pool, size := bufClass(cap(b))
	if pool == nil || size != cap(b) {
		return
	}
	b = b[:0]
	pool.Put(&b)
}
