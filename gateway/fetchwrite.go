package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"runtime"
	"sync"
	"syscall"
	"weak"

	"github.com/caudal/caudal/gateway/reader"
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
//
// The batches are not even in one buffer: the reader returns each
// partition's records as pieces (patched batch headers, slices of cached
// objects), held until the response is written. kmsg carries only bytes
// and the connection hands fetchPieces only the response, so a large
// records field holds a stand-in as long as its records, a slice of
// unwritten (for what counts their bytes: quotas, size hints), and its
// pieces wait in splices under the response.

// splicedMin is the smallest records field worth a write of its own.
const splicedMin = 4 << 10

const placeholderLen = 16

var placeholderSeed = func() (seed [8]byte) {
	rand.Read(seed[:])
	return seed
}()

// unwritten is a read-only mapping of zero pages that nothing reads or
// writes: its slices stand in for records written from pieces, with their
// length and none of their memory. Records longer than it (five times
// the 50 MiB a client asks of a whole fetch by default), or all records
// if it cannot be mapped, are copied into their fields.
var unwritten = func() []byte {
	b, err := syscall.Mmap(-1, 0, 256<<20, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil
	}
	return b
}()

// splices holds the pieces of the fetch responses built and not yet
// written, by response. Its keys are weak: a response dropped unwritten
// (its connection gone) lets go of its records when it is collected.
var splices = struct {
	sync.Mutex
	m map[weak.Pointer[kmsg.FetchResponse]]*splice
}{m: map[weak.Pointer[kmsg.FetchResponse]]*splice{}}

// splice is the pieces of one response's large records fields, and the
// release of the bytes they are in.
type splice struct {
	parts   map[*kmsg.FetchResponseTopicPartition][][]byte
	release func()
}

// recordsField returns what a partition's records field holds: the
// records themselves when small (kmsg encodes them), never nil since
// librdkafka rejects null records; or a stand-in as long as they are,
// their pieces put in parts for spliceRecords.
func recordsField(recs reader.Records, p *kmsg.FetchResponseTopicPartition, parts map[*kmsg.FetchResponseTopicPartition][][]byte) []byte {
	if recs.Len < splicedMin || recs.Len > len(unwritten) {
		return recs.AppendTo(make([]byte, 0, recs.Len))
	}
	parts[p] = recs.Pieces
	return unwritten[:recs.Len:recs.Len]
}

// spliceRecords files the pieces of f's large records fields for
// fetchPieces. It returns the release to call once f is written or
// superseded, which also lets go of the records' bytes (release).
func spliceRecords(f *kmsg.FetchResponse, parts map[*kmsg.FetchResponseTopicPartition][][]byte, release func()) func() {
	if len(parts) == 0 {
		return release
	}
	key := weak.Make(f)
	splices.Lock()
	splices.m[key] = &splice{parts: parts, release: release}
	splices.Unlock()
	runtime.AddCleanup(f, dropSplice, key)
	return func() { dropSplice(key) }
}

// dropSplice lets go of a response's pieces, once.
func dropSplice(key weak.Pointer[kmsg.FetchResponse]) {
	splices.Lock()
	s := splices.m[key]
	delete(splices.m, key)
	splices.Unlock()
	if s != nil {
		s.release()
	}
}

// splicedRecords returns the pieces of a partition's records field: its
// filed pieces if it holds their stand-in, or the field itself.
func splicedRecords(s *splice, p *kmsg.FetchResponseTopicPartition) [][]byte {
	if s != nil && standIn(p.RecordBatches) {
		if pieces, ok := s.parts[p]; ok {
			return pieces
		}
	}
	return [][]byte{p.RecordBatches}
}

// standIn reports whether a records field holds a stand-in.
func standIn(b []byte) bool { return len(b) > 0 && len(unwritten) > 0 && &b[0] == &unwritten[0] }

// fetchPieces encodes r (whose resp is f) into buf, leaving out the
// records fields of at least splicedMin bytes, and returns the pieces to
// write in order: the encoding around the records, and the records. It
// returns nil pieces if there are none to leave out or it cannot; the
// records fields then hold their records.
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
	splices.Lock()
	s := splices.m[weak.Make(f)]
	splices.Unlock()
	held := make([][]byte, len(spliced)) // the fields: records or stand-ins
	records := make([][][]byte, len(spliced))
	marks := make([]byte, 0, len(spliced)*placeholderLen)
	nPieces := 1
	for i, p := range spliced {
		held[i], records[i] = p.RecordBatches, splicedRecords(s, p)
		nPieces += 2 + len(records[i])
		marks = append(marks, placeholderSeed[:]...)
		marks = binary.BigEndian.AppendUint64(marks, uint64(i))
		p.RecordBatches = marks[i*placeholderLen : (i+1)*placeholderLen]
	}
	enc := appendResponse(buf[:0], r)
	flexible := f.IsFlexible()
	placeholderLength := appendRecordsLen(nil, placeholderLen, flexible)
	placeholderField := len(placeholderLength) + placeholderLen
	fields, ok := placeholderFields(enc, marks, placeholderLength)
	for i, p := range spliced {
		p.RecordBatches = held[i]
		if !ok && standIn(held[i]) { // to be encoded whole
			p.RecordBatches = bytes.Join(records[i], nil)
		}
	}
	if !ok {
		return enc, nil
	}
	lens := make([]byte, 0, len(spliced)*binary.MaxVarintLen32) // never regrown
	pieces := make([][]byte, 0, nPieces)
	size, pos := len(enc)-4, 0
	for i, rec := range records {
		n := len(lens)
		lens = appendRecordsLen(lens, len(held[i]), flexible)
		pieces = append(pieces, enc[pos:fields[i]], lens[n:])
		pieces = append(pieces, rec...)
		size += len(lens) - n + len(held[i]) - placeholderField
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
