package objstore

import (
	"errors"
	"io"
	"net"
)

// partsReader reads the concatenation of parts without joining them. It
// seeks, so that the S3 client can rewind a PUT's body to retry it.
type partsReader struct {
	parts [][]byte
	size  int64
	off   int64 // in the concatenation
	i     int   // the part holding off
	in    int   // off's position in parts[i]
}

func newPartsReader(parts [][]byte) *partsReader {
	return &partsReader{parts: parts, size: int64(partsLen(parts))}
}

func partsLen(parts [][]byte) int {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	return n
}

func (r *partsReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b := r.next(len(p) - n)
		if b == nil {
			break
		}
		n += copy(p[n:], b)
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// take returns up to n of the bytes after the offset as slices of the
// parts, for a vectored write, and moves past them.
func (r *partsReader) take(n int) net.Buffers {
	var bufs net.Buffers
	for n > 0 {
		b := r.next(n)
		if b == nil {
			break
		}
		bufs = append(bufs, b)
		n -= len(b)
	}
	return bufs
}

// next returns up to max bytes after the offset from one part, and moves
// past them; nil at the end.
func (r *partsReader) next(max int) []byte {
	for r.i < len(r.parts) && r.in == len(r.parts[r.i]) {
		r.i, r.in = r.i+1, 0
	}
	if r.i == len(r.parts) {
		return nil
	}
	b := r.parts[r.i][r.in:]
	b = b[:min(len(b), max)]
	r.in += len(b)
	r.off += int64(len(b))
	return b
}

func (r *partsReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	}
	if offset < 0 {
		return r.off, errors.New("parts reader: seek before the start")
	}
	r.off, r.i = min(offset, r.size), 0
	rest := r.off
	for r.i < len(r.parts) && rest >= int64(len(r.parts[r.i])) {
		rest -= int64(len(r.parts[r.i]))
		r.i++
	}
	r.in = int(rest)
	return r.off, nil
}
