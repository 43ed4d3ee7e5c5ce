package objstore

import (
	"bytes"
	"io"
	"testing"
)

// A parts reader reads and seeks as a bytes.Reader over the joined parts
// does, empty parts included.
func TestPartsReader(t *testing.T) {
	t.Parallel()
	parts := [][]byte{[]byte("abc"), {}, []byte("defgh"), []byte("i"), {}}
	joined := bytes.Join(parts, nil)
	for _, tc := range []struct {
		name   string
		off    int64
		whence int
		buf    int
	}{
		{"from the start, small reads", 0, io.SeekStart, 2},
		{"from the start, one read", 0, io.SeekStart, 64},
		{"inside a part", 4, io.SeekStart, 3},
		{"at a part's end", 3, io.SeekStart, 1},
		{"from the end", -2, io.SeekEnd, 5},
		{"at the end", 0, io.SeekEnd, 5},
		{"past the end", 20, io.SeekStart, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, want := newPartsReader(parts), bytes.NewReader(joined)
			if _, err := io.ReadFull(r, make([]byte, 5)); err != nil { // move away first
				t.Fatal(err)
			}
			got, err := r.Seek(tc.off, tc.whence)
			wantOff, _ := want.Seek(tc.off, tc.whence)
			if err != nil || got != min(wantOff, int64(len(joined))) {
				t.Fatalf("seek to %d: %d, %v", wantOff, got, err)
			}
			var out []byte
			buf := make([]byte, tc.buf)
			for {
				n, err := r.Read(buf)
				out = append(out, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil || n == 0 {
					t.Fatalf("read: %d, %v", n, err)
				}
			}
			if rest, _ := io.ReadAll(want); !bytes.Equal(out, rest) {
				t.Fatalf("read %q, want %q", out, rest)
			}
		})
	}
	if _, err := newPartsReader(parts).Seek(-1, io.SeekStart); err == nil {
		t.Fatal("seek before the start")
	}
}
