package segments

import (
	"fmt"
	"hash/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ValidateOptions are the per-topic choices of ValidateBatch.
type ValidateOptions struct {
	// RequireKeys is set for cleanup.policy=compact: every record needs a
	// non-null key.
	RequireKeys bool
	// MaxDecompressed caps inflated records in bytes; 0 means
	// DecompressLimit.
	MaxDecompressed int
}

// ValidateBatch checks one batch (exactly the bytes of b) as a broker does
// on produce and returns its header. Every batch's records are walked,
// compressed or not and whatever the topic: a record count, offset deltas
// or a payload that consumers cannot read would make them skip records,
// see offsets twice or stop for good. Compressed records are checked as
// they inflate, through pooled buffers, and never kept.
//
// Errors wrap ErrCorruptBatch for framing, CRC and payloads that do not
// decompress, ErrTooLarge past the decompression cap, and ErrInvalidRecord
// (or ErrMissingKey) for records that break a rule of Kafka's LogValidator.
func ValidateBatch(b []byte, opts ValidateOptions) (BatchHeader, error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, fmt.Errorf("validate batch: %w", err)
	}
	if err := checkHeader(h, b); err != nil {
		return h, fmt.Errorf("validate batch: %w", err)
	}
	if err := checkRecords(h, b[HeaderSize:], opts); err != nil {
		return h, fmt.Errorf("validate batch: %w", err)
	}
	return h, nil
}

// checkHeader applies the header rules of Kafka's LogValidator for client
// batches, plus length and CRC.
func checkHeader(h BatchHeader, b []byte) error {
	if h.Size() != len(b) {
		return corrupt("batchLength %d does not match %d bytes", h.BatchLength, len(b)-lengthOverhead)
	}
	if sum := crc32.Checksum(b[posAttributes:], castagnoli); sum != h.CRC {
		return corrupt("crc 0x%08x, computed 0x%08x", h.CRC, sum)
	}
	if c := h.Codec(); c > CodecZstd {
		return fmt.Errorf("attribute codec %d: %w", int8(c), ErrUnsupportedCodec)
	}
	if h.RecordCount < 1 {
		return fmt.Errorf("record count %d: %w", h.RecordCount, ErrInvalidRecord)
	}
	// Kafka checks this for every v2 batch, compressed or not: the offsets
	// a batch takes must equal its record count.
	if int64(h.LastOffsetDelta)+1 != int64(h.RecordCount) {
		return fmt.Errorf("lastOffsetDelta %d with %d records: %w", h.LastOffsetDelta, h.RecordCount, ErrInvalidRecord)
	}
	if h.Control() {
		return fmt.Errorf("control batch from a client: %w", ErrInvalidRecord)
	}
	if h.ProducerID >= 0 && h.BaseSequence < 0 {
		return fmt.Errorf("producer id %d with base sequence %d: %w", h.ProducerID, h.BaseSequence, ErrInvalidRecord)
	}
	return nil
}
