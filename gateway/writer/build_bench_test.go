package writer

import (
	"testing"

	"github.com/caudal/caudal/gateway/reader"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments/segmentstest"
	"github.com/google/uuid"
)

// BenchmarkBuild lays out an 8 MiB object of 1 KiB batches (about) over 16
// partitions, in fresh memory and in buffers recycled through the read
// path's pool, as the gateway does once the cache evicts its objects, and
// in place, as it does for objects nobody here reads.
func BenchmarkBuild(b *testing.B) {
	batch := segmentstest.Batch(string(make([]byte, 960)))
	obj := &pendingObject{}
	for p := range 16 {
		pp := &pendingPart{key: partKey{topic: uuid.New(), partition: int32(p)}}
		for range 512 {
			pp.batches = append(pp.batches, batch)
			pp.metas = append(pp.metas, metadata.BatchAppend{Records: 1, ProducerID: -1})
		}
		obj.parts = append(obj.parts, pp)
	}
	unread := func(uuid.UUID, int32) bool { return false }
	for _, tc := range []struct {
		name    string
		buffers Buffers
		reads   func(uuid.UUID, int32) bool
	}{{"fresh", nil, nil}, {"pooled", reader.Buffers{}, nil}, {"in place", nil, unread}} {
		b.Run(tc.name, func(b *testing.B) {
			w := &Writer{c: Config{Buffers: tc.buffers, Reads: tc.reads}}
			b.SetBytes(int64(16 * 512 * len(batch)))
			for b.Loop() {
				built, err := w.build(obj)
				if err != nil {
					b.Fatal(err)
				}
				if tc.buffers != nil {
					tc.buffers.Put(built.data)
				}
			}
		})
	}
}
