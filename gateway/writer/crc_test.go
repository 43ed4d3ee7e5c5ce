package writer

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/segments/segmentstest"
	"github.com/google/uuid"
)

// An object's CRC-32C assembled from its batches' CRC fields is the one of
// its bytes: small batches and large ones (combined), several partitions,
// and a batch that arrived with a base offset the object stores as 0.
func TestObjectCRC(t *testing.T) {
	moved := segmentstest.Batch("moved", strings.Repeat("m", 40<<10))
	binary.BigEndian.PutUint64(moved, 77) // outside the batch's CRC
	batches := [][]byte{
		segmentstest.Batch("small"),
		segmentstest.Batch(strings.Repeat("x", combineMin-100)),
		segmentstest.Batch(strings.Repeat("y", combineMin)),
		segmentstest.Batch(strings.Repeat("z", 1<<20), "and another record"),
		moved,
	}
	obj := &pendingObject{}
	for p := range 3 {
		pp := &pendingPart{key: partKey{topic: uuid.New(), partition: int32(p)}}
		for _, b := range batches[p:] {
			pp.batches = append(pp.batches, b)
			pp.metas = append(pp.metas, metadata.BatchAppend{Records: 1, ProducerID: -1})
		}
		obj.parts = append(obj.parts, pp)
	}
	for _, w := range []*Writer{{}, {c: Config{Reads: func(uuid.UUID, int32) bool { return false }}}} {
		b, err := w.build(obj)
		if err != nil {
			t.Fatal(err)
		}
		data := bytes.Join(b.pieces, nil)
		if want := crc32.Checksum(data, castagnoli); b.crc != want || int64(len(data)) != b.commit.Size {
			t.Fatalf("object in %d pieces, %d bytes (commit says %d): CRC-32C 0x%08x, want 0x%08x", len(b.pieces), len(data), b.commit.Size, b.crc, want)
		}
	}
}

func TestCRC32CCombine(t *testing.T) {
	data := make([]byte, 3<<20)
	rand.Read(data)
	for _, cut := range []int{0, 1, 21, 16 << 10, 1 << 20, len(data) - 1, len(data)} {
		a, b := data[:cut], data[cut:]
		got := crc32cCombine(crc32.Checksum(a, castagnoli), crc32.Checksum(b, castagnoli), int64(len(b)))
		if want := crc32.Checksum(data, castagnoli); got != want {
			t.Errorf("cut at %d: combined 0x%08x, want 0x%08x", cut, got, want)
		}
	}
}

// BenchmarkObjectCRC compares assembling an 8 MiB object's CRC-32C with
// reading all of it, for batches of 1 KiB and of 256 KiB.
func BenchmarkObjectCRC(b *testing.B) {
	for _, size := range []int{1 << 10, 256 << 10} {
		batch := segmentstest.Batch(strings.Repeat("v", size-100))
		obj := &pendingObject{}
		for p := range 16 {
			pp := &pendingPart{key: partKey{topic: uuid.New(), partition: int32(p)}}
			for range (8 << 20) / 16 / len(batch) {
				pp.batches = append(pp.batches, batch)
				pp.metas = append(pp.metas, metadata.BatchAppend{Records: 1, ProducerID: -1})
			}
			obj.parts = append(obj.parts, pp)
		}
		parts := make([]segments.Part, len(obj.parts))
		for i, p := range obj.parts {
			parts[i] = segments.Part{Topic: p.key.topic, Partition: p.key.partition, Batches: p.batches}
		}
		data, spans, err := segments.AppendObject(nil, parts)
		if err != nil {
			b.Fatal(err)
		}
		batches, footer := storedBatches(data, spans)
		b.Run(fmt.Sprintf("batch=%dKiB/assembled", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				objectCRC(batches, footer)
			}
		})
		b.Run(fmt.Sprintf("batch=%dKiB/read", size>>10), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				crc32.Checksum(data, castagnoli)
			}
		})
	}
}
