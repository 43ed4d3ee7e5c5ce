package segments

import (
	"encoding/binary"
	"fmt"
)

// Part is one partition's batches for WriteObject, each exactly one batch.
type Part struct {
	Topic     [16]byte
	Partition int32
	Batches   [][]byte
}

// PartSpan says where WriteObject put a part: its contiguous range, each
// batch's range, and what the metadata commit needs (offsets taken, max
// timestamp).
type PartSpan struct {
	Topic     [16]byte
	Partition int32
	Span
	Batches      []Span
	OffsetCount  int64
	MaxTimestamp int64
}

// WriteObject packs parts, in the order given, into one segment object:
// each part's batches contiguous with baseOffset set to 0, then the footer.
// Batches are framing-checked only; validate them on produce. The input is
// not modified.
func WriteObject(parts []Part) ([]byte, []PartSpan, error) { return AppendObject(nil, parts) }

// ObjectSize is the size of the object WriteObject makes of parts.
func ObjectSize(parts []Part) int {
	size := 4 + len(parts)*entrySize + trailerSize
	for _, p := range parts {
		for _, b := range p.Batches {
			size += len(b)
		}
	}
	return size
}

// AppendObject is WriteObject into dst's storage when it holds
// ObjectSize(parts) bytes: writers reuse large buffers, since fresh pages
// cost more to touch than the copy into them.
func AppendObject(dst []byte, parts []Part) ([]byte, []PartSpan, error) {
	spans, entries, err := layout(parts)
	if err != nil {
		return nil, nil, err
	}
	obj := dst[:0]
	if size := ObjectSize(parts); cap(obj) < size {
		obj = make([]byte, 0, size)
	}
	for _, p := range parts {
		for _, b := range p.Batches {
			at := len(obj)
			obj = append(obj, b...)
			binary.BigEndian.PutUint64(obj[at:], 0)
		}
	}
	return appendFooter(obj, entries), spans, nil
}

// LayoutObject is WriteObject without the copy, for a writer that sends
// the batches as they are (a vectored PUT): the object is parts' batches,
// in the order given, then the footer it returns. It sets each batch's
// baseOffset to 0 in place, as objects store them.
func LayoutObject(parts []Part) (footer []byte, spans []PartSpan, err error) {
	spans, entries, err := layout(parts)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range parts {
		for _, b := range p.Batches {
			binary.BigEndian.PutUint64(b, 0)
		}
	}
	return appendFooter(nil, entries), spans, nil
}

// layout places parts' batches one after another from offset 0, checking
// each batch's framing, and returns where each part and batch lands and
// the footer's entries.
func layout(parts []Part) ([]PartSpan, []FooterEntry, error) {
	spans := make([]PartSpan, 0, len(parts))
	entries := make([]FooterEntry, 0, len(parts))
	seen := make(map[[20]byte]bool, len(parts))
	off := int64(0)
	for i, p := range parts {
		id := partitionID(p.Topic, p.Partition)
		if seen[id] || len(p.Batches) == 0 || p.Partition < 0 {
			return nil, nil, fmt.Errorf("write object: part %d (partition %d, %d batches): repeated, empty or negative partition", i, p.Partition, len(p.Batches))
		}
		seen[id] = true
		ps := PartSpan{Topic: p.Topic, Partition: p.Partition, Span: Span{Off: off}, Batches: make([]Span, len(p.Batches))}
		for j, b := range p.Batches {
			h, err := ParseBatchHeader(b)
			if err == nil && h.Size() != len(b) {
				err = corrupt("batchLength %d does not match %d bytes", h.BatchLength, len(b)-lengthOverhead)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("write object: part %d batch %d: %w", i, j, err)
			}
			ps.Batches[j] = Span{Off: off, Len: int64(len(b))}
			ps.OffsetCount += int64(h.LastOffsetDelta) + 1
			if j == 0 || h.MaxTimestamp > ps.MaxTimestamp {
				ps.MaxTimestamp = h.MaxTimestamp
			}
			off += int64(len(b))
		}
		ps.Len = off - ps.Off
		spans = append(spans, ps)
		entries = append(entries, FooterEntry{Topic: p.Topic, Partition: p.Partition, Span: ps.Span, Batches: len(p.Batches)})
	}
	return spans, entries, nil
}
