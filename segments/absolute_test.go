package segments

import (
	"bytes"
	"errors"
	"hash/crc32"
	"testing"
)

func TestAppendBatchAbsolute(t *testing.T) {
	recs := []AbsRecord{
		{Offset: 100, Timestamp: 5000, Key: []byte("a"), Value: []byte("1")},
		{Offset: 103, Timestamp: 4000, Key: []byte("b"), Value: nil, Headers: []Header{{Key: "h", Value: []byte("v")}}},
		{Offset: 110, Timestamp: 6000, Key: []byte("c"), Value: []byte{}},
	}
	b1, err := AppendBatch(nil, recs)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := AppendBatch(nil, []AbsRecord{{Offset: 200, Timestamp: 1, Key: []byte("d"), Value: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseBatchHeader(b1)
	if err != nil {
		t.Fatal(err)
	}
	if h.BaseOffset != 100 || h.LastOffsetDelta != 10 || h.RecordCount != 3 || h.MaxTimestamp != 6000 || h.BaseTimestamp != 4000 || h.Size() != len(b1) {
		t.Fatalf("header %+v", h)
	}
	if crc32.Checksum(b1[posAttributes:], castagnoli) != h.CRC {
		t.Fatal("bad crc")
	}
	var got []AbsRecord
	err = ForEachRecord(b1, 0, func(r Record) error {
		got = append(got, AbsRecord{Offset: h.BaseOffset + int64(r.OffsetDelta), Timestamp: h.BaseTimestamp + r.TimestampDelta, Key: r.Key, Value: r.Value, Headers: r.Headers})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if got[i].Offset != recs[i].Offset || got[i].Timestamp != recs[i].Timestamp || !bytes.Equal(got[i].Key, recs[i].Key) ||
			!bytes.Equal(got[i].Value, recs[i].Value) || (got[i].Value == nil) != (recs[i].Value == nil) || len(got[i].Headers) != len(recs[i].Headers) {
			t.Fatalf("record %d: got %+v want %+v", i, got[i], recs[i])
		}
	}

	obj, spans, err := WriteAbsoluteObject([]Part{{Partition: 3, Batches: [][]byte{b1, b2}}})
	if err != nil {
		t.Fatal(err)
	}
	body := obj[spans[0].Off : spans[0].Off+spans[0].Len]
	idx, err := IndexAbsolute(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(idx) != 2 || idx[0].BaseOffset != 100 || idx[0].LastOffset != 110 || idx[1].BaseOffset != 200 || idx[1].LastOffset != 200 {
		t.Fatalf("index %+v", idx)
	}
	// Out of order batches are corrupt.
	bad := append(append([]byte(nil), b2...), b1...)
	if _, err := IndexAbsolute(bad); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("out of order: %v", err)
	}
	if _, err := AppendBatch(nil, []AbsRecord{{Offset: 2}, {Offset: 1}}); err == nil {
		t.Fatal("decreasing offsets accepted")
	}
}
