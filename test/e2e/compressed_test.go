package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"testing"
	"time"

	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// recordRefusals are the answers to a batch refused for its records:
// INVALID_RECORD, as Kafka answers, which clients do not retry.
var recordRefusals = []*kerr.Error{kerr.InvalidRecord}

// gzipBatch is a batch flagged gzip around payload whose header counts
// count records, with a correct length and CRC: only its records can
// tell that it is wrong.
func gzipBatch(count int32, payload []byte) []byte {
	rb := kmsg.RecordBatch{
		Magic:           2,
		Attributes:      1, // gzip
		LastOffsetDelta: count - 1,
		FirstTimestamp:  1000,
		MaxTimestamp:    1000,
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      count,
		Records:         payload,
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// recordsOf is the records section of an uncompressed batch of values.
func recordsOf(values ...string) []byte {
	ts := make([]int64, len(values))
	vs := make([][]byte, len(values))
	for i, v := range values {
		ts[i], vs[i] = 1000, []byte(v)
	}
	return rawBatch(ts, vs...)[segments.HeaderSize:]
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCompressedBatchesChecked sends the three gzip batches that caudal
// once stored (more records than the header counts, fewer, and a payload
// that is not gzip), one partition each between two good batches, and
// checks that each is refused as Kafka refuses it, takes no offsets, and
// leaves the partition readable. Validation does not depend on the
// stores, so one backend is enough.
func TestCompressedBatchesChecked(t *testing.T) {
	c := testenv.StartCaudal(t, testenv.Dev, fastConfig())
	cl := newClient(t, c.Addr)
	testenv.CreateTopics(t, c.Addr, 3, "gz")
	cases := []struct {
		name  string
		batch []byte
		want  []*kerr.Error
	}{
		{"header counts 1, holds 5", gzipBatch(1, gzipped(t, recordsOf("a", "b", "c", "d", "e"))), recordRefusals},
		{"header counts 5, holds 1", gzipBatch(5, gzipped(t, recordsOf("a"))), recordRefusals},
		{"flagged gzip, not gzip", gzipBatch(2, recordsOf("a", "b")), []*kerr.Error{kerr.CorruptMessage}},
	}
	for p, tc := range cases {
		good := func(i int) []byte {
			return gzipBatch(2, gzipped(t, recordsOf(fmt.Sprintf("p%d-%d", p, i), fmt.Sprintf("p%d-%d", p, i+1))))
		}
		if r := produceRaw(t, cl, "gz", int32(p), good(0)); r.ErrorCode != 0 || r.BaseOffset != 0 {
			t.Fatalf("%s: first good batch: %v at %d", tc.name, kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
		}
		code := produceRaw(t, cl, "gz", int32(p), tc.batch).ErrorCode
		if !slices.ContainsFunc(tc.want, func(e *kerr.Error) bool { return e.Code == code }) {
			t.Errorf("%s: %v, want one of %v", tc.name, kerr.ErrorForCode(code), tc.want)
		}
		if r := produceRaw(t, cl, "gz", int32(p), good(2)); r.ErrorCode != 0 || r.BaseOffset != 2 {
			t.Fatalf("%s: good batch after: %v at %d, want offset 2", tc.name, kerr.ErrorForCode(r.ErrorCode), r.BaseOffset)
		}
	}

	got := consumeAll(t, c.Addr, []string{"gz"}, 4*len(cases))
	for p := range cases {
		recs := got["gz"][int32(p)]
		if len(recs) != 4 {
			t.Fatalf("partition %d: %d records, want 4", p, len(recs))
		}
		for i, r := range recs {
			if want := fmt.Sprintf("p%d-%d", p, i); r.Offset != int64(i) || string(r.Value) != want {
				t.Errorf("partition %d record %d: %q at offset %d, want %q at %d", p, i, r.Value, r.Offset, want, i)
			}
		}
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(testCtx(t, 30*time.Second), "gz")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset != 4 {
			t.Errorf("partition %d ends at %d (%v), want 4", o.Partition, o.Offset, o.Err)
		}
	})
}
