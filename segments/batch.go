package segments

import (
	"encoding/binary"
	"fmt"
)

// HeaderSize is the fixed size of a RecordBatch v2 header; records follow it.
const HeaderSize = 61

// Byte positions inside the header that this package reads or rewrites.
const (
	posBatchLength = 8
	posLeaderEpoch = 12
	posMagic       = 16
	posCRC         = 17
	posAttributes  = 21 // the CRC covers everything from here on
	// lengthOverhead is what batchLength does not count: baseOffset and
	// batchLength itself.
	lengthOverhead = 12
)

// Codec is the compression named by the low three attribute bits.
type Codec int8

const (
	CodecNone Codec = iota
	CodecGzip
	CodecSnappy
	CodecLZ4
	CodecZstd
)

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", int8(c))
}

// BatchHeader is the parsed 61-byte header of a RecordBatch v2.
type BatchHeader struct {
	BaseOffset           int64
	BatchLength          int32
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

func (h BatchHeader) Codec() Codec        { return Codec(h.Attributes & 0x07) }
func (h BatchHeader) Transactional() bool { return h.Attributes&0x10 != 0 }
func (h BatchHeader) Control() bool       { return h.Attributes&0x20 != 0 }

// Size is the whole batch's length in bytes, header included.
func (h BatchHeader) Size() int { return int(h.BatchLength) + lengthOverhead }

// ParseBatchHeader parses the header at the start of b. It checks only what
// is needed to trust Size: the magic and a batchLength that covers the header.
// b may hold more bytes than the batch.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	if len(b) > posMagic && b[posMagic] != 2 {
		return BatchHeader{}, fmt.Errorf("parse batch header: magic %d: %w", int8(b[posMagic]), ErrUnsupportedMagic)
	}
	if len(b) < HeaderSize {
		return BatchHeader{}, corrupt("parse batch header: %d bytes, need %d", len(b), HeaderSize)
	}
	be := binary.BigEndian
	h := BatchHeader{
		BaseOffset:           int64(be.Uint64(b[0:])),
		BatchLength:          int32(be.Uint32(b[8:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[12:])),
		Magic:                int8(b[16]),
		CRC:                  be.Uint32(b[17:]),
		Attributes:           int16(be.Uint16(b[21:])),
		LastOffsetDelta:      int32(be.Uint32(b[23:])),
		BaseTimestamp:        int64(be.Uint64(b[27:])),
		MaxTimestamp:         int64(be.Uint64(b[35:])),
		ProducerID:           int64(be.Uint64(b[43:])),
		ProducerEpoch:        int16(be.Uint16(b[51:])),
		BaseSequence:         int32(be.Uint32(b[53:])),
		RecordCount:          int32(be.Uint32(b[57:])),
	}
	if h.BatchLength < HeaderSize-lengthOverhead {
		return BatchHeader{}, corrupt("parse batch header: batchLength %d shorter than the header", h.BatchLength)
	}
	return h, nil
}

// walkBatches calls fn for each batch laid end to end in b, with the batch's
// byte position and its bytes (capacity clipped so appends cannot clobber the
// next batch). A batch running past the end of b is an error.
func walkBatches(b []byte, fn func(pos int, h BatchHeader, batch []byte) error) error {
	for pos := 0; pos < len(b); {
		h, err := ParseBatchHeader(b[pos:])
		if err != nil {
			return fmt.Errorf("batch at byte %d: %w", pos, err)
		}
		end := pos + h.Size()
		if end > len(b) {
			return corrupt("batch at byte %d: claims %d bytes, %d remain", pos, h.Size(), len(b)-pos)
		}
		if err := fn(pos, h, b[pos:end:end]); err != nil {
			return err
		}
		pos = end
	}
	return nil
}

// SplitBatches splits a produce request's records field into its batches,
// checking only framing (call ValidateBatch on each). The batches alias
// records. Empty input gives no batches and no error: whether a partition
// may send none is the caller's rule.
func SplitBatches(records []byte) ([][]byte, error) {
	var out [][]byte
	err := walkBatches(records, func(_ int, _ BatchHeader, batch []byte) error {
		out = append(out, batch)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("split record batches: %w", err)
	}
	return out, nil
}
