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
