package segments

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/snappy/xerial"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// codecCase is one way a client may compress records; snappy comes twice
// because Java clients frame it (xerial) and others do not.
type codecCase struct {
	name   string
	codec  Codec
	xerial bool
}

var codecCases = []codecCase{
	{"none", CodecNone, false},
	{"gzip", CodecGzip, false},
	{"snappy", CodecSnappy, false},
	{"snappy-xerial", CodecSnappy, true},
	{"lz4", CodecLZ4, false},
	{"zstd", CodecZstd, false},
}

// testRecords makes n records with varied keys, values and headers; with
// nullKey one record has a null key.
func testRecords(n int, nullKey bool) []kmsg.Record {
	recs := make([]kmsg.Record, n)
	for i := range recs {
		r := &recs[i]
		r.OffsetDelta = int32(i)
		r.TimestampDelta64 = int64(i * 7)
		r.Key = fmt.Appendf(nil, "key-%d", i)
		r.Value = bytes.Repeat([]byte{byte('a' + i%26)}, 10+i*3)
		switch i % 4 {
		case 1:
			r.Key = []byte{}
			r.Value = nil
		case 2:
			r.Headers = []kmsg.Header{{Key: "h1", Value: []byte("v1")}, {Key: "", Value: nil}}
		}
	}
	if nullKey && n > 0 {
		recs[n-1].Key = nil
	}
	return recs
}

func encodeRecords(recs []kmsg.Record) []byte {
	var out []byte
	for _, r := range recs {
		r.Length = 0
		r.Length = int32(len(r.AppendTo(nil)) - 1) // a zero varint takes one byte
		out = r.AppendTo(out)
	}
	return out
}

func compressRecords(tb testing.TB, c codecCase, raw []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	switch {
	case c.codec == CodecNone:
		return raw
	case c.codec == CodecGzip:
		w := gzip.NewWriter(&buf)
		w.Write(raw)
		w.Close()
	case c.codec == CodecSnappy && c.xerial:
		return xerial.Encode(nil, raw)
	case c.codec == CodecSnappy:
		return snappy.Encode(nil, raw)
	case c.codec == CodecLZ4:
		w := lz4.NewWriter(&buf)
		w.Write(raw)
		w.Close()
	case c.codec == CodecZstd:
		w, err := zstd.NewWriter(nil)
		if err != nil {
			tb.Fatal(err)
		}
		defer w.Close()
		return w.EncodeAll(raw, nil)
	}
	return buf.Bytes()
}

// buildBatch makes a valid client batch of recs with kmsg.
func buildBatch(tb testing.TB, c codecCase, recs []kmsg.Record) []byte {
	tb.Helper()
	rb := kmsg.RecordBatch{
		FirstOffset:          0,
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           int16(c.codec),
		LastOffsetDelta:      int32(len(recs) - 1),
		FirstTimestamp:       1_700_000_000_000,
		MaxTimestamp:         1_700_000_000_000 + int64(len(recs)*7),
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(len(recs)),
		Records:              compressRecords(tb, c, encodeRecords(recs)),
	}
	return reseal(rb.AppendTo(nil))
}

// reseal fixes batchLength and the CRC after a test changed a batch, so the
// check under test is the one that fires.
func reseal(b []byte) []byte {
	if len(b) < HeaderSize {
		return b
	}
	binary.BigEndian.PutUint32(b[posBatchLength:], uint32(len(b)-lengthOverhead))
	binary.BigEndian.PutUint32(b[posCRC:], crc32.Checksum(b[posAttributes:], castagnoli))
	return b
}

func collectRecords(tb testing.TB, batch []byte, limit int) []Record {
	tb.Helper()
	var got []Record
	if err := ForEachRecord(batch, limit, func(r Record) error { got = append(got, r); return nil }); err != nil {
		tb.Fatalf("ForEachRecord: %v", err)
	}
	return got
}

// eachCodec runs fn as a parallel subtest per codec case.
func eachCodec(t *testing.T, cases []codecCase, fn func(*testing.T, codecCase)) {
	t.Parallel()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fn(t, c)
		})
	}
}
