package segments

import (
	"hash/crc32"
	"testing"
)

func TestControlBatch(t *testing.T) {
	t.Parallel()
	for _, commit := range []bool{true, false} {
		b := ControlBatch(42, 3, commit, 1000)
		h, err := ParseBatchHeader(b)
		if err != nil || h.Size() != len(b) {
			t.Fatalf("commit=%v: header %+v, %v for %d bytes", commit, h, err, len(b))
		}
		if crc32.Checksum(b[posAttributes:], castagnoli) != h.CRC {
			t.Fatalf("commit=%v: bad CRC", commit)
		}
		if !h.Control() || !h.Transactional() || h.ProducerID != 42 || h.ProducerEpoch != 3 || h.RecordCount != 1 {
			t.Fatalf("commit=%v: header %+v", commit, h)
		}
		got, err := ControlCommit(b)
		if err != nil || got != commit {
			t.Fatalf("ControlCommit = %v, %v; want %v", got, err, commit)
		}
	}
}
