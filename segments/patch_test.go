package segments

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// storedBatches concatenates batches of the given record counts, each with a
// different codec and later timestamps, as a segment stores them.
func storedBatches(t *testing.T, counts ...int) []byte {
	t.Helper()
	var out []byte
	for i, n := range counts {
		b := buildBatch(t, codecCases[i%len(codecCases)], testRecords(n, false))
		binary.BigEndian.PutUint64(b[35:], uint64(1000*(i+1))) // maxTimestamp
		out = append(out, reseal(b)...)
	}
	return out
}

func TestPatchOffsets(t *testing.T) {
	t.Parallel()
	orig := storedBatches(t, 3, 1, 5, 2)
	b := bytes.Clone(orig)
	next, err := PatchOffsets(b, 100, 7)
	if err != nil || next != 111 {
		t.Fatalf("PatchOffsets = %d, %v; want 111", next, err)
	}
	batches, err := SplitBatches(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{100, 103, 104, 109} {
		h, err := ValidateBatch(batches[i], ValidateOptions{RequireKeys: true})
		if err != nil {
			t.Fatalf("batch %d after patch: %v", i, err)
		}
		if h.BaseOffset != want || h.PartitionLeaderEpoch != 7 {
			t.Fatalf("batch %d: base %d epoch %d, want %d 7", i, h.BaseOffset, h.PartitionLeaderEpoch, want)
		}
	}
	// Nothing but the two header fields changed.
	for _, batch := range batches {
		binary.BigEndian.PutUint64(batch, 0)
		binary.BigEndian.PutUint32(batch[posLeaderEpoch:], 0xffffffff)
	}
	if !bytes.Equal(b, orig) {
		t.Fatal("patching changed more than baseOffset and partitionLeaderEpoch")
	}
}

// A patched prefix followed by the rest of the stored batch, or a whole
// patched copy, is byte for byte what PatchOffsets writes, and the
// stored bytes stay untouched.
func TestAppendPatchedMatchesPatchOffsets(t *testing.T) {
	t.Parallel()
	orig := storedBatches(t, 3, 1, 5)
	want := bytes.Clone(orig)
	if _, err := PatchOffsets(want, 40, 0); err != nil {
		t.Fatal(err)
	}
	spans, err := BatchIndex(orig, 40)
	if err != nil {
		t.Fatal(err)
	}
	stored := bytes.Clone(orig)
	var got []byte
	for i, s := range spans {
		batch := stored[s.Off : s.Off+s.Len]
		if i%2 == 0 {
			got = AppendPatched(got, batch, PatchedLen, s.BaseOffset, 0)
			got = append(got, batch[PatchedLen:]...)
		} else {
			got = AppendPatched(got, batch, len(batch), s.BaseOffset, 0)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatal("patched prefixes and stored rests differ from PatchOffsets' result")
	}
	if !bytes.Equal(stored, orig) {
		t.Fatal("AppendPatched changed the stored bytes")
	}
}

func TestPatchOffsetsLeavesBadInputAlone(t *testing.T) {
	t.Parallel()
	b := storedBatches(t, 3, 2)
	bad := bytes.Clone(b[:len(b)-1])
	before := bytes.Clone(bad)
	if _, err := PatchOffsets(bad, 50, 1); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("PatchOffsets on truncated input = %v", err)
	}
	if !bytes.Equal(bad, before) {
		t.Fatal("truncated input was modified")
	}
	neg := bytes.Clone(b)
	binary.BigEndian.PutUint32(neg[23:], 0xffffffff)
	if _, err := PatchOffsets(neg, 50, 1); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("negative lastOffsetDelta = %v", err)
	}
	if _, err := PatchOffsets(bytes.Clone(b), 1<<63-2, 1); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("offset overflow = %v", err)
	}
}

func TestBatchIndexAndFindOffset(t *testing.T) {
	t.Parallel()
	b := storedBatches(t, 3, 1, 5)
	spans, err := BatchIndex(b, 10)
	if err != nil || len(spans) != 3 {
		t.Fatalf("BatchIndex: %d spans, %v", len(spans), err)
	}
	want := []struct{ base, last, maxTS int64 }{{10, 12, 1000}, {13, 13, 2000}, {14, 18, 3000}}
	var pos int64
	for i, s := range spans {
		if s.BaseOffset != want[i].base || s.LastOffset != want[i].last || s.MaxTimestamp != want[i].maxTS || s.Off != pos {
			t.Fatalf("span %d = %+v, want %+v at %d", i, s, want[i], pos)
		}
		pos += s.Len
	}
	if pos != int64(len(b)) {
		t.Fatalf("spans cover %d of %d bytes", pos, len(b))
	}
	for _, tc := range []struct {
		offset int64
		want   int64
	}{
		{0, 0}, {10, 0}, {12, 0}, {13, spans[1].Off}, {14, spans[2].Off}, {18, spans[2].Off}, {19, int64(len(b))}, {1 << 40, int64(len(b))},
	} {
		got, err := FindOffset(b, 10, tc.offset)
		if err != nil || int64(got) != tc.want {
			t.Errorf("FindOffset(%d) = %d, %v; want %d", tc.offset, got, err, tc.want)
		}
	}
	if _, err := FindOffset(b[:len(b)-1], 10, 18); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("FindOffset past a truncated batch = %v", err)
	}
	if _, err := BatchIndex(b[:70], 0); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("BatchIndex on truncated input = %v", err)
	}
}

// A row's batches are numbered from its base offset, unless the row is
// absolute: then their headers give their offsets and the base is ignored.
func TestRowBatches(t *testing.T) {
	t.Parallel()
	dense := storedBatches(t, 3, 1)
	spans, err := RowBatches(dense, 100, false)
	if err != nil || len(spans) != 2 || spans[0].BaseOffset != 100 || spans[0].LastOffset != 102 ||
		spans[1].BaseOffset != 103 || spans[1].LastOffset != 103 {
		t.Fatalf("dense row: %+v, %v", spans, err)
	}
	abs, err := AppendBatch(nil, []AbsRecord{{Offset: 7, Key: []byte("a")}, {Offset: 9, Key: []byte("b")}})
	if err != nil {
		t.Fatal(err)
	}
	spans, err = RowBatches(abs, 100, true)
	if err != nil || len(spans) != 1 || spans[0].BaseOffset != 7 || spans[0].LastOffset != 9 || spans[0].Len != int64(len(abs)) {
		t.Fatalf("absolute row: %+v, %v", spans, err)
	}
}
