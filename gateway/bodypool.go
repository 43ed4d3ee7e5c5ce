package gateway

import (
	"math/bits"
	"sync"
)

// Request bodies of minChunk bytes or more are read into pooled buffers,
// and a produce request's body goes back to its pool once its batches are
// in an object (conn.writeLoop). Fresh buffers cost the gateway more than
// the bytes they hold: the runtime zeroes them, their first touch faults
// pages in (~13 µs a page here), and the collector runs more often.
// Growing fresh buffers was 30% of the gateway's produce CPU
// (BenchmarkProduceThroughput's profile: slices.Grow under readBody).
//
// Capacities come in classes of four steps per power of two (4, 5, 6 and
// 7 KiB, 8, 10, 12, 14 KiB, ...): a buffer holds at most a quarter more
// than it was asked for.
const (
	minBodyShift = 12 // minChunk, the smallest class
	maxBodyShift = 27 // the largest class is 112 MiB, past maxRequestBytes
	bodyClasses  = 4 * (maxBodyShift - minBodyShift)
)

var bodyPools [bodyClasses]sync.Pool

// bodyClass is the smallest class with room for n bytes, and its
// capacity; false when n is outside the classes.
func bodyClass(n int) (int, int, bool) {
	if n < minChunk || n > bodyClassCap(bodyClasses-1) {
		return 0, 0, false
	}
	shift := bits.Len(uint(n-1)) - 1 // 2^shift < n <= 2^(shift+1)
	step := (n-1)>>(shift-2) - 4 + 1 // the quarter of 2^shift that holds n
	i := 4*(shift-minBodyShift) + step
	return i, bodyClassCap(i), true
}

// bodyClassCap is class i's capacity.
func bodyClassCap(i int) int {
	shift, step := minBodyShift+i/4, i%4
	return (4 + step) << (shift - 2)
}

// bodyCap is the capacity of the buffer getBody(n) returns.
func bodyCap(n int) int {
	if _, capacity, ok := bodyClass(n); ok {
		return capacity
	}
	return n
}

// getBody returns an empty buffer with room for n bytes, from its class's
// pool when n is within the classes.
func getBody(n int) []byte {
	i, capacity, ok := bodyClass(n)
	if !ok {
		return make([]byte, 0, n)
	}
	if b, ok := bodyPools[i].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, capacity)
}

// putBody recycles a buffer from getBody. Nothing may refer to its bytes
// any more: the next request's body is read into it.
func putBody(b []byte) {
	i, capacity, ok := bodyClass(cap(b))
	if !ok || capacity != cap(b) {
		return
	}
	b = b[:0]
	bodyPools[i].Put(&b)
}
