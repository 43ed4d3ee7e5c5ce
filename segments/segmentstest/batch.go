// Package segmentstest builds record batches for tests of the packages
// that store and serve them.
package segmentstest

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Batch is a valid RecordBatch v2 of one record per value, each with key
// "k", stored from offset 0 with timestamp 1000.
func Batch(values ...string) []byte {
	var recs []byte
	for i, v := range values {
		r := []byte{0}
		r = kbin.AppendVarlong(r, 0)
		r = kbin.AppendVarint(r, int32(i))
		r = kbin.AppendVarintBytes(r, []byte("k"))
		r = kbin.AppendVarintBytes(r, []byte(v))
		r = kbin.AppendVarint(r, 0)
		recs = kbin.AppendVarint(recs, int32(len(r)))
		recs = append(recs, r...)
	}
	rb := kmsg.RecordBatch{Magic: 2, LastOffsetDelta: int32(len(values) - 1), FirstTimestamp: 1000, MaxTimestamp: 1000,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(values)), Records: recs}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}
