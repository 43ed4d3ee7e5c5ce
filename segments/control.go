package segments

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ControlBatch is a transaction marker as Kafka writes it: a transactional
// control batch of one record whose key is (version 0, type: 0 ABORT,
// 1 COMMIT) and whose value is (version 0, coordinator epoch), stored from
// offset 0 like a client's batch. Consumers skip it; read_committed ones
// use an ABORT to drop its producer's records since the transaction began.
func ControlBatch(producerID int64, epoch int16, commit bool, timestamp int64) []byte {
	var key [4]byte
	if commit {
		key[3] = 1
	}
	var value [6]byte // version 0, coordinator epoch 0
	r := []byte{0}
	r = kbin.AppendVarlong(r, 0)
	r = kbin.AppendVarint(r, 0)
	r = kbin.AppendVarintBytes(r, key[:])
	r = kbin.AppendVarintBytes(r, value[:])
	r = kbin.AppendVarint(r, 0)
	recs := kbin.AppendVarint(nil, int32(len(r)))
	recs = append(recs, r...)
	rb := kmsg.RecordBatch{Magic: 2, Attributes: 0x30, FirstTimestamp: timestamp, MaxTimestamp: timestamp,
		ProducerID: producerID, ProducerEpoch: epoch, FirstSequence: -1, NumRecords: 1, Records: recs}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[posBatchLength:], uint32(len(b)-lengthOverhead))
	binary.BigEndian.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
	return b
}

// ControlCommit reports whether a control batch is a COMMIT marker (and
// not an ABORT), reading its first record's key.
func ControlCommit(batch []byte) (bool, error) {
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(batch); err != nil || rb.NumRecords < 1 {
		return false, ErrCorruptBatch
	}
	var rec kmsg.Record
	if err := rec.ReadFrom(rb.Records); err != nil || len(rec.Key) < 4 {
		return false, ErrCorruptBatch
	}
	return binary.BigEndian.Uint16(rec.Key[2:]) == 1, nil
}
