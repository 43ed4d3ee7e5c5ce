package segments

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Span is a byte range: Off from the start of the object or slice, Len bytes.
type Span struct {
	Off, Len int64
}

// BatchSpan locates one stored batch and the offsets it holds.
type BatchSpan struct {
	Span
	BaseOffset   int64
	LastOffset   int64
	MaxTimestamp int64
}

// walkOffsets walks stored batches (baseOffset 0 on disk), giving each the
// real base offset it gets when the first starts at base: the next batch
// starts right after the previous one's last offset. It returns the offset
// after the last batch.
func walkOffsets(b []byte, base int64, fn func(pos int, h BatchHeader, base int64) error) (int64, error) {
	next := base
	err := walkBatches(b, func(pos int, h BatchHeader, _ []byte) error {
		if h.LastOffsetDelta < 0 {
			return corrupt("batch at byte %d: negative lastOffsetDelta %d", pos, h.LastOffsetDelta)
		}
		if next > math.MaxInt64-int64(h.LastOffsetDelta)-1 {
			return corrupt("batch at byte %d: offset %d+%d overflows", pos, next, h.LastOffsetDelta)
		}
		if err := fn(pos, h, next); err != nil {
			return err
		}
		next += int64(h.LastOffsetDelta) + 1
		return nil
	})
	return next, err
}

// PatchOffsets writes each batch's real baseOffset and the partition leader
// epoch into b in place, the first batch getting base, and returns the
// offset after the last batch. Both fields lie outside the CRC, so batches
// stay valid. b must be the caller's own copy (not a shared cache buffer);
// it is left untouched when its framing is bad.
func PatchOffsets(b []byte, base int64, leaderEpoch int32) (next int64, err error) {
	nop := func(int, BatchHeader, int64) error { return nil }
	if _, err := walkOffsets(b, base, nop); err != nil {
		return 0, fmt.Errorf("patch offsets: %w", err)
	}
	return walkOffsets(b, base, func(pos int, _ BatchHeader, base int64) error {
		binary.BigEndian.PutUint64(b[pos:], uint64(base))
		binary.BigEndian.PutUint32(b[pos+posLeaderEpoch:], uint32(leaderEpoch))
		return nil
	})
}

// BatchIndex lists the stored batches of b with the offsets they get when
// the first starts at base, so a caller can find, e.g., the first batch whose
// MaxTimestamp reaches a ListOffsets timestamp.
func BatchIndex(b []byte, base int64) ([]BatchSpan, error) {
	var spans []BatchSpan
	_, err := walkOffsets(b, base, func(pos int, h BatchHeader, base int64) error {
		spans = append(spans, BatchSpan{
			Span:         Span{Off: int64(pos), Len: int64(h.Size())},
			BaseOffset:   base,
			LastOffset:   base + int64(h.LastOffsetDelta),
			MaxTimestamp: h.MaxTimestamp,
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index batches: %w", err)
	}
	return spans, nil
}

// RowBatches lists the batches of one index row's stored bytes with their
// real offsets, without changing the bytes. Absolute batches (key-compacted
// rows) carry their offsets, with gaps; the others are stored from 0 and
// numbered from the row's base offset.
func RowBatches(b []byte, base int64, absolute bool) ([]BatchSpan, error) {
	if absolute {
		return IndexAbsolute(b)
	}
	return BatchIndex(b, base)
}

var errStop = errors.New("stop")

// FindOffset returns the byte position in b of the first batch holding
// offset (or any later one), the first starting at base; a fetch from the
// middle of an index row's range starts there. If every batch ends before
// offset it returns len(b).
func FindOffset(b []byte, base, offset int64) (int, error) {
	found := len(b)
	_, err := walkOffsets(b, base, func(pos int, h BatchHeader, base int64) error {
		if base+int64(h.LastOffsetDelta) >= offset {
			found = pos
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, fmt.Errorf("find offset %d: %w", offset, err)
	}
	return found, nil
}

// PatchedLen is how many leading bytes of a batch PatchOffsets rewrites:
// baseOffset, batchLength (unchanged) and partitionLeaderEpoch.
const PatchedLen = posLeaderEpoch + 4

// AppendPatched appends the first n bytes of a stored batch to dst with
// the real baseOffset and leader epoch written in, as PatchOffsets writes
// them; n is at least PatchedLen and at most the batch's length. With n
// = PatchedLen, a fetch writes the rest of the batch straight from the
// shared bytes it is stored in, which stay untouched.
func AppendPatched(dst, batch []byte, n int, base int64, leaderEpoch int32) []byte {
	start := len(dst)
	dst = append(dst, batch[:n]...)
	binary.BigEndian.PutUint64(dst[start:], uint64(base))
	binary.BigEndian.PutUint32(dst[start+posLeaderEpoch:], uint32(leaderEpoch))
	return dst
}
