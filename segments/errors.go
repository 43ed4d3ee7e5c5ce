package segments

import (
	"errors"
	"fmt"
)

// Sentinels the gateway maps to Kafka error codes; compare with errors.Is.
// Every error this package returns for bad bytes wraps exactly one of them.
var (
	// ErrCorruptBatch: the bytes are not a well-formed RecordBatch (bad
	// lengths, CRC mismatch, truncation, undecodable compressed data).
	// Kafka: CORRUPT_MESSAGE.
	ErrCorruptBatch = errors.New("segments: corrupt record batch")

	// ErrUnsupportedMagic: the batch is not magic 2 (old message formats).
	ErrUnsupportedMagic = errors.New("segments: unsupported record batch magic")

	// ErrUnsupportedCodec: the compression attribute names no codec Kafka
	// defines. Kafka: UNSUPPORTED_COMPRESSION_TYPE.
	ErrUnsupportedCodec = errors.New("segments: unsupported compression codec")

	// ErrInvalidRecord: the batch is well framed and its CRC holds, but
	// its records break a produce rule (record count, offset deltas,
	// records that do not parse or leave bytes over, control batch from
	// a client, ...). Kafka: INVALID_RECORD.
	ErrInvalidRecord = errors.New("segments: invalid record")

	// ErrMissingKey: a record without a key was sent to a compacted topic.
	// Kafka: INVALID_RECORD.
	ErrMissingKey = errors.New("segments: record without key on compacted topic")

	// ErrTooLarge: decompressing the records would exceed the caller's cap
	// (or a zstd frame asks for a larger window than the decoder keeps).
	ErrTooLarge = errors.New("segments: decompressed records exceed limit")

	// ErrCorruptObject: a segment object or its footer is malformed or
	// truncated. Returned as *CorruptObjectError, which names the object.
	ErrCorruptObject = errors.New("segments: corrupt segment object")

	// ErrPartitionNotFound: the object holds no batches of that partition.
	ErrPartitionNotFound = errors.New("segments: partition not in object")
)

// CorruptObjectError says which object is bad and why, so an operator can
// find it in the bucket; errors.Is(err, ErrCorruptObject) holds for it.
type CorruptObjectError struct {
	Object string
	Reason string
}

func (e *CorruptObjectError) Error() string {
	return fmt.Sprintf("segments: corrupt segment object %q: %s", e.Object, e.Reason)
}

func (e *CorruptObjectError) Is(target error) bool { return target == ErrCorruptObject }

func corruptObject(key, format string, args ...any) error {
	return &CorruptObjectError{Object: key, Reason: fmt.Sprintf(format, args...)}
}

// corrupt builds an ErrCorruptBatch error saying what was being checked.
func corrupt(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrCorruptBatch)
}

// invalid builds an ErrInvalidRecord error saying what was being checked.
// Validation uses it for records inside a batch whose CRC held: the client
// wrote them so, which Kafka answers with INVALID_RECORD.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalidRecord)
}
