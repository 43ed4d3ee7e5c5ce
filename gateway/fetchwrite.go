package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch responses are most of the bytes a gateway sends. Encoding one
// with kmsg copies every record batch into the encoded buffer, only for
// the buffer to be written and dropped. Instead, kmsg encodes the
// response with a 16-byte placeholder in each large records field, and
// the batches are written in the placeholders' stead, straight from the
// buffers they were read into. The placeholders start with 8 random bytes
// chosen at start-up, so nothing else in a response matches one; if one
// is not where it should be, the response is encoded whole instead.

// splicedMin is the smallest records field worth a write of its own.
const splicedMin = 4 << 10

const placeholderLen = 16

var placeholderSeed = func() (seed [8]byte) {
	rand.Read(seed[:])
	return seed
}()

// fetchPieces encodes r (whose resp is f) into buf, leaving out the
// records fields of at least splicedMin bytes, and returns the pieces to
// write in order: the encoding around the records, and the records. It
// returns nil pieces if there are none to leave out or it cannot.
func fetchPieces(buf []byte, r *reply, f *kmsg.FetchResponse) ([]byte, [][]byte) {
	var spliced []*kmsg.FetchResponseTopicPartition
	for i := range f.Topics {
		for j := range f.Topics[i].Partitions {
			if p := &f.Topics[i].Partitions[j]; len(p.RecordBatches) >= splicedMin {
				spliced = append(spliced, p)
			}
		}
	}
	if len(spliced) == 0 {
		return buf, nil
	}
	records := make([][]byte, len(spliced))
	marks := make([]byte, 0, len(spliced)*placeholderLen)
	for i, p := range spliced {
		records[i] = p.RecordBatches
		marks = append(marks, placeholderSeed[:]...)
		marks = binary.BigEndian.AppendUint64(marks, uint64(i))
		p.RecordBatches = marks[i*placeholderLen : (i+1)*placeholderLen]
	}
	enc := appendResponse(buf[:0], r)
	for i, p := range spliced {
		p.RecordBatches = records[i]
	}
	flexible := f.IsFlexible()
	placeholderLength := appendRecordsLen(nil, placeholderLen, flexible)
	placeholderField := len(placeholderLength) + placeholderLen
	fields, ok := placeholderFields(enc, marks, placeholderLength)
	if !ok {
		return enc, nil
	}
	lens := make([]byte, 0, len(spliced)*binary.MaxVarintLen32) // never regrown
	pieces := make([][]byte, 0, 3*len(spliced)+1)
	size, pos := len(enc)-4, 0
	for i, rec := range records {
		n := len(lens)
		lens = appendRecordsLen(lens, len(rec), flexible)
		pieces = append(pieces, enc[pos:fields[i]], lens[n:], rec)
		size += len(lens) - n + len(rec) - placeholderField
		pos = fields[i] + placeholderField
	}
	pieces = append(pieces, enc[pos:])
	binary.BigEndian.PutUint32(enc, uint32(size))
	return enc, pieces
}

// placeholderFields returns where each placeholder's records field (its
// length, then the placeholder) starts in enc. It fails unless the
// placeholders' random seed occurs in enc exactly where they are, in
// order, each after its length: the records fields of partitions are
// encoded in order, so then each occurrence is its placeholder.
func placeholderFields(enc, marks, length []byte) ([]int, bool) {
	n := len(marks) / placeholderLen
	fields := make([]int, 0, n)
	for from := 0; ; {
		i := bytes.Index(enc[from:], placeholderSeed[:])
		if i < 0 {
			break
		}
		at := from + i
		k := len(fields)
		if k == n || at < len(length) ||
			!bytes.Equal(enc[at:min(at+placeholderLen, len(enc))], marks[k*placeholderLen:(k+1)*placeholderLen]) ||
			!bytes.Equal(enc[at-len(length):at], length) {
			return nil, false
		}
		fields = append(fields, at-len(length))
		from = at + placeholderLen
	}
	return fields, len(fields) == n
}

// appendRecordsLen appends the length of a records field as the Fetch
// response of that flexibility encodes it.
func appendRecordsLen(dst []byte, n int, flexible bool) []byte {
	if flexible {
		return binary.AppendUvarint(dst, uint64(n)+1)
	}
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}
