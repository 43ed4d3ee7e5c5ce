package segments

// Absolute batches: key compaction keeps every record at its original
// offset, so its output has gaps and cannot be stored with baseOffset 0 and
// patched from an index row's base (that arithmetic needs dense offsets).
// Such batches are stored with their real baseOffset, offset deltas relative
// to it, and lastOffsetDelta reaching the last kept record, as Kafka's log
// cleaner writes them; readers take each batch's offsets from its header.

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// IndexAbsolute lists the batches of b, stored with their real baseOffsets
// (an index row marked absolute), with the offsets their headers give. It
// checks framing and that offsets increase from batch to batch.
func IndexAbsolute(b []byte) ([]BatchSpan, error) {
	var spans []BatchSpan
	next := int64(math.MinInt64)
	err := walkBatches(b, func(pos int, h BatchHeader, _ []byte) error {
		if h.LastOffsetDelta < 0 || h.BaseOffset < 0 || h.BaseOffset > math.MaxInt64-int64(h.LastOffsetDelta) {
			return corrupt("batch at byte %d: baseOffset %d, lastOffsetDelta %d", pos, h.BaseOffset, h.LastOffsetDelta)
		}
		if h.BaseOffset < next {
			return corrupt("batch at byte %d: baseOffset %d before the previous batch's end %d", pos, h.BaseOffset, next)
		}
		last := h.BaseOffset + int64(h.LastOffsetDelta)
		spans = append(spans, BatchSpan{
			Span:         Span{Off: int64(pos), Len: int64(h.Size())},
			BaseOffset:   h.BaseOffset,
			LastOffset:   last,
			MaxTimestamp: h.MaxTimestamp,
		})
		next = last + 1
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index absolute batches: %w", err)
	}
	return spans, nil
}

// AbsRecord is one record of an absolute batch: its real offset and
// timestamp.
type AbsRecord struct {
	Offset    int64
	Timestamp int64
	Key       []byte // nil for null
	Value     []byte // nil for null (a tombstone)
	Headers   []Header
}

// AppendBatch appends one uncompressed RecordBatch v2 holding recs, which
// must be in increasing offset order, to dst: baseOffset is the first
// record's offset, offset deltas are relative to it, lastOffsetDelta is the
// last record's, timestamps are CreateTime relative to the smallest, and the
// producer fields say "no producer". The CRC is computed.
func AppendBatch(dst []byte, recs []AbsRecord) ([]byte, error) {
	if len(recs) == 0 {
		return dst, fmt.Errorf("append batch: no records")
	}
	base := recs[0].Offset
	minTS, maxTS := recs[0].Timestamp, recs[0].Timestamp
	for i, r := range recs {
		if i > 0 && r.Offset <= recs[i-1].Offset {
			return dst, fmt.Errorf("append batch: record %d offset %d not after %d", i, r.Offset, recs[i-1].Offset)
		}
		if r.Offset-base > math.MaxInt32 {
			return dst, fmt.Errorf("append batch: record %d offset %d too far from base %d", i, r.Offset, base)
		}
		minTS, maxTS = min(minTS, r.Timestamp), max(maxTS, r.Timestamp)
	}
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	var rec []byte
	for _, r := range recs {
		rec = rec[:0]
		rec = append(rec, 0) // attributes
		rec = binary.AppendVarint(rec, r.Timestamp-minTS)
		rec = binary.AppendVarint(rec, r.Offset-base)
		rec = appendVarBytes(rec, r.Key)
		rec = appendVarBytes(rec, r.Value)
		rec = binary.AppendVarint(rec, int64(len(r.Headers)))
		for _, h := range r.Headers {
			rec = appendVarBytes(rec, []byte(h.Key))
			rec = appendVarBytes(rec, h.Value)
		}
		dst = binary.AppendVarint(dst, int64(len(rec)))
		dst = append(dst, rec...)
	}
	b := dst[start:]
	if len(b)-lengthOverhead > math.MaxInt32 {
		return dst[:start], fmt.Errorf("append batch: %d bytes is too large", len(b))
	}
	be := binary.BigEndian
	be.PutUint64(b[0:], uint64(base))
	be.PutUint32(b[posBatchLength:], uint32(len(b)-lengthOverhead))
	be.PutUint32(b[posLeaderEpoch:], 0)
	b[posMagic] = 2
	be.PutUint16(b[posAttributes:], 0)
	be.PutUint32(b[23:], uint32(recs[len(recs)-1].Offset-base))
	be.PutUint64(b[27:], uint64(minTS))
	be.PutUint64(b[35:], uint64(maxTS))
	be.PutUint64(b[43:], math.MaxUint64) // producerId -1
	be.PutUint16(b[51:], math.MaxUint16) // producerEpoch -1
	be.PutUint32(b[53:], math.MaxUint32) // baseSequence -1
	be.PutUint32(b[57:], uint32(len(recs)))
	be.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
	return dst, nil
}

func appendVarBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// WriteAbsoluteObject is WriteObject for absolute batches: the batches keep
// the baseOffsets they carry instead of being zeroed.
func WriteAbsoluteObject(parts []Part) ([]byte, []PartSpan, error) {
	obj, spans, err := WriteObject(parts)
	if err != nil {
		return nil, nil, err
	}
	for i, p := range parts {
		for j, b := range p.Batches {
			copy(obj[spans[i].Batches[j].Off:], b[:8])
		}
	}
	return obj, spans, nil
}
