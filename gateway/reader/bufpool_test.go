package reader

import "testing"

func TestBufPoolClasses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ n, cap int }{
		{100, 100},                // not pooled
		{64 << 10, 64 << 10},      // smallest class
		{64<<10 + 1, 128 << 10},   // next power of two
		{1 << 20, 1 << 20},        // largest power-of-two class
		{64<<20 + 3000, 65 << 20}, // whole MiB above that
		{200 << 20, 200 << 20},    // too large to pool
	} {
		b := getBuf(tc.n)
		if len(b) != 0 || cap(b) != tc.cap {
			t.Errorf("getBuf(%d): len %d cap %d, want 0 and %d", tc.n, len(b), cap(b), tc.cap)
		}
		putBuf(b)
	}
	// A buffer that grew past its class is not pooled as if it were one.
	grown := append(getBuf(64<<10), make([]byte, 100<<10)...)
	putBuf(grown)
	if b := getBuf(200 << 10); cap(b) != 256<<10 {
		t.Errorf("after putting a grown buffer of cap %d, getBuf(200 KiB) has cap %d", cap(grown), cap(b))
	}
}

// A buffer of a class up to twice as large serves when n's class has
// none; a larger one does not.
func TestBufPoolLendsFromLargerClasses(t *testing.T) {
	// Not parallel: it empties and fills the MiB pools.
	for _, tc := range []struct{ want, have, cap int }{
		{8 << 20, 10 << 20, 10 << 20}, // a quarter larger
		{8 << 20, 16 << 20, 16 << 20}, // twice
		{8 << 20, 17 << 20, 8 << 20},  // too large: fresh
		{3 << 20, 7 << 20, 3 << 20},   // 3 MiB: no class within twice
	} {
		for c := tc.want / mib; c <= tc.have/mib; c++ {
			for mibPools[c].Get() != nil {
			}
		}
		for range 8 { // the race detector drops some of what is put
			putBuf(make([]byte, 0, tc.have))
		}
		if b := getBuf(tc.want - 100); cap(b) != tc.cap {
			t.Errorf("with a %d MiB buffer pooled, getBuf(%d MiB - 100) has cap %d, want %d", tc.have/mib, tc.want/mib, cap(b), tc.cap)
		}
	}
}
