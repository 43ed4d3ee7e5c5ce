package compaction

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/caudal/caudal/segments"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Byte positions in a RecordBatch v2 header that compaction rewrites.
const (
	posBatchLength   = 8
	posCRC           = 17
	posAttributes    = 21 // the CRC covers everything from here on
	posProducerID    = 43
	posProducerEpoch = 51
	posBaseSequence  = 53
	// lengthOverhead is what batchLength does not count.
	lengthOverhead = 12
)

// Attribute bits compaction reads or sets.
const (
	attrCodec         = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	// attrDeleteHorizon: the batch's base timestamp is its delete
	// horizon, and its records' timestamp deltas are relative to it
	// (KIP-534).
	attrDeleteHorizon = 0x40
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchSource is what a rewritten batch keeps of the batch its records
// came from: its producer and whether it is transactional, which
// read_committed consumers match against the aborted transactions. A
// batch rewritten from a run of one producer's batches keeps the first
// one's base sequence: nothing reads sequences back from stored batches,
// producer state lives in the metadata store.
type batchSource struct {
	transactional bool
	producerID    int64
	epoch         int16
	baseSequence  int32
}

func sourceOf(h segments.BatchHeader) batchSource {
	return batchSource{transactional: h.Transactional(), producerID: h.ProducerID, epoch: h.ProducerEpoch, baseSequence: h.BaseSequence}
}

// withSource writes src into b, a batch segments.AppendBatch made with no
// producer and attributes 0, and seals it again.
func withSource(b []byte, src batchSource) {
	be := binary.BigEndian
	if src.transactional {
		be.PutUint16(b[posAttributes:], be.Uint16(b[posAttributes:])|attrTransactional)
	}
	be.PutUint64(b[posProducerID:], uint64(src.producerID))
	be.PutUint16(b[posProducerEpoch:], uint16(src.epoch))
	be.PutUint32(b[posBaseSequence:], uint32(src.baseSequence))
	be.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
}

// deleteHorizon returns a batch's delete horizon, or 0 when it has none.
func deleteHorizon(h segments.BatchHeader) int64 {
	if h.Attributes&attrDeleteHorizon == 0 {
		return 0
	}
	return h.BaseTimestamp
}

// stampHorizon returns batch (a marker) rewritten as Kafka's cleaner
// writes a marker whose transaction's records are gone: the delete
// horizon in its base timestamp, its records' timestamps unchanged.
func stampHorizon(batch []byte, horizon int64) ([]byte, error) {
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(batch); err != nil {
		return nil, fmt.Errorf("stamp marker: %w", segments.ErrCorruptBatch)
	}
	var recs []byte
	err := segments.ForEachRecord(batch, 0, func(r segments.Record) error {
		kr := kmsg.Record{Attributes: r.Attributes, TimestampDelta64: rb.FirstTimestamp + r.TimestampDelta - horizon,
			OffsetDelta: r.OffsetDelta, Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		kr.Length = int32(len(kr.AppendTo(nil)) - 1) // less the one-byte varint of Length 0
		recs = kr.AppendTo(recs)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stamp marker: %w", err)
	}
	rb.Attributes = rb.Attributes&^attrCodec | attrDeleteHorizon
	rb.FirstTimestamp, rb.Records = horizon, recs
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[posBatchLength:], uint32(len(b)-lengthOverhead))
	binary.BigEndian.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
	return b, nil
}
