package segments

import (
	"encoding/binary"
	"math"
	"testing"
)

// The scanner's short varints decode as binary.Varint does, and none
// reads past the record's end.
func TestScannerVarlong(t *testing.T) {
	t.Parallel()
	enc := func(v int64) []byte { return binary.AppendVarint(nil, v) }
	for _, tc := range []struct {
		name string
		in   []byte
		left int // bytes left in the record; 0 means all of in
		want int64
		err  bool
	}{
		{name: "zero", in: enc(0), want: 0},
		{name: "minus one", in: enc(-1), want: -1},
		{name: "largest one-byte", in: enc(63), want: 63},
		{name: "smallest one-byte", in: enc(-64), want: -64},
		{name: "smallest two-byte", in: enc(64), want: 64},
		{name: "1 KiB value length", in: enc(1024), want: 1024},
		{name: "largest two-byte", in: enc(8191), want: 8191},
		{name: "smallest three-byte", in: enc(8192), want: 8192},
		{name: "negative two-byte", in: enc(-8192), want: -8192},
		{name: "int32 max", in: enc(math.MaxInt32), want: math.MaxInt32},
		{name: "int64 min", in: enc(math.MinInt64), want: math.MinInt64},
		{name: "non-minimal zero", in: []byte{0x80, 0x00}, want: 0},
		{name: "followed by more", in: append(enc(300), 0x01, 0x02), want: 300},
		{name: "two-byte cut by the record's end", in: enc(1024), left: 1, err: true},
		{name: "cut by the records' end", in: []byte{0x80}, err: true},
		{name: "nothing left", in: nil, err: true},
		{name: "too long", in: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := recordScanner{buf: tc.in, w: len(tc.in), eof: true, left: len(tc.in)}
			if tc.left > 0 {
				s.left = tc.left
			}
			got, err := s.varlong()
			if tc.err {
				if err == nil {
					t.Fatalf("varlong = %d, want an error", got)
				}
				return
			}
			want, n := binary.Varint(tc.in)
			if err != nil || got != tc.want || got != want || s.r != n {
				t.Fatalf("varlong = %d after %d bytes, %v; want %d after %d bytes", got, s.r, err, tc.want, n)
			}
		})
	}
}
