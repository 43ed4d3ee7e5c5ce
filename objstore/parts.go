package objstore

import (
	"errors"
	"io"
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
	for n < len(p) && r.i < len(r.parts) {
		k := copy(p[n:], r.parts[r.i][r.in:])
		n += k
		r.in += k
		if r.in == len(r.parts[r.i]) {
			r.i, r.in = r.i+1, 0
		}
	}
	r.off += int64(n)
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
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
