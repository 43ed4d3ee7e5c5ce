package reader

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/segments/segmentstest"
)

// storedRow is an index row's stored bytes: batches of the given numbers
// of 1 KiB records, one after the other, from offset 0 as a flush stores
// them; absolute, each batch carries its offset with a gap of 10 before
// the next, as key compaction writes them.
func storedRow(t *testing.T, absolute bool, counts ...int) ([]byte, metadata.IndexEntry) {
	t.Helper()
	var stored []byte
	next := int64(100)
	for _, n := range counts {
		b := segmentstest.Batch(slices.Repeat([]string{strings.Repeat("v", 1024)}, n)...)
		if absolute {
			binary.BigEndian.PutUint64(b, uint64(next))
			next += int64(n) + 10
		} else {
			next += int64(n)
		}
		stored = append(stored, b...)
	}
	return stored, metadata.IndexEntry{BaseOffset: 100, LastOffset: next - 1, ByteLength: int64(len(stored)), Absolute: absolute}
}

// fetchRow picks and patches a row's batches as readBatches does, and
// trims them as Fetch does.
func fetchRow(t *testing.T, stored []byte, row metadata.IndexEntry, from int64, maxBytes int, atLeastOne bool) (Records, int) {
	t.Helper()
	p := picker{from: from, hw: row.LastOffset + 1, maxBytes: maxBytes, atLeastOne: atLeastOne}
	if _, err := p.row(stored, row); err != nil {
		t.Fatal(err)
	}
	batches, buf := patchBatches(p.picked)
	t.Cleanup(func() { putBuf(buf) })
	return trimBatches(batches, maxBytes, atLeastOne)
}

// within reports whether b is a slice of stored, not a copy.
func within(b, stored []byte) bool {
	for i := range len(stored) - len(b) + 1 {
		if len(b) > 0 && &stored[i] == &b[0] {
			return true
		}
	}
	return false
}

// Fetched records are byte for byte the stored batches with their real
// offsets written in, as PatchOffsets writes them into a copy, while
// the stored bytes stay untouched: small batches are copied, one piece
// for a run of them, and large ones are a patched header then the rest
// straight from the stored bytes.
func TestFetchedRecordsArePatchedStoredBatches(t *testing.T) {
	t.Parallel()
	stored, row := storedRow(t, false, 2, 3, 40, 1, 50)
	orig := bytes.Clone(stored)
	want := bytes.Clone(stored)
	if _, err := segments.PatchOffsets(want, row.BaseOffset, 0); err != nil {
		t.Fatal(err)
	}
	recs, count := fetchRow(t, stored, row, row.BaseOffset, 1<<20, true)
	if got := recs.AppendTo(nil); !bytes.Equal(got, want) || recs.Len != len(want) {
		t.Fatalf("fetched %d bytes (Len %d) that differ from the %d patched stored bytes", len(got), recs.Len, len(want))
	}
	if count != 2+3+40+1+50 {
		t.Errorf("count %d, want %d", count, 2+3+40+1+50)
	}
	if !bytes.Equal(stored, orig) {
		t.Fatal("fetching changed the stored bytes")
	}
	// Copies that follow each other are one piece: the two small batches
	// and the 40's header; its rest; the small one and the 50's header;
	// its rest.
	sizes := make([]int, len(recs.Pieces))
	for i, p := range recs.Pieces {
		sizes[i] = len(p)
	}
	spans, _ := segments.BatchIndex(stored, row.BaseOffset)
	h := segments.PatchedLen
	wantSizes := []int{int(spans[0].Len+spans[1].Len) + h, int(spans[2].Len) - h, int(spans[3].Len) + h, int(spans[4].Len) - h}
	if !slices.Equal(sizes, wantSizes) {
		t.Fatalf("pieces of %v bytes, want %v", sizes, wantSizes)
	}
	for _, i := range []int{1, 3} {
		if !within(recs.Pieces[i], stored) {
			t.Errorf("piece %d (a large batch's rest) is a copy, not the stored bytes", i)
		}
	}
}

// Fetching from the middle of a row, within max_bytes, returns the
// batches holding the offsets from there that fit, and the first one
// alone when it does not fit but the fetch must return one (KIP-74).
func TestFetchedRecordsTrimmed(t *testing.T) {
	t.Parallel()
	stored, row := storedRow(t, false, 2, 40, 3, 50)
	spans, _ := segments.BatchIndex(stored, row.BaseOffset)
	patched := bytes.Clone(stored)
	if _, err := segments.PatchOffsets(patched, row.BaseOffset, 0); err != nil {
		t.Fatal(err)
	}
	batches := func(from, to int) []byte { return patched[spans[from].Off : spans[to-1].Off+spans[to-1].Len] }
	for _, tc := range []struct {
		name       string
		from       int64
		maxBytes   int
		atLeastOne bool
		want       []byte
	}{
		{"from the second batch's last offset", spans[1].LastOffset, 1 << 20, false, batches(1, 4)},
		{"two batches fit", spans[1].BaseOffset, int(spans[1].Len + spans[2].Len + 10), false, batches(1, 3)},
		{"none fits", spans[1].BaseOffset, 100, false, nil},
		{"the first alone (KIP-74)", spans[1].BaseOffset, 100, true, batches(1, 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, _ := fetchRow(t, stored, row, tc.from, tc.maxBytes, tc.atLeastOne)
			if got := recs.AppendTo(nil); !bytes.Equal(got, tc.want) || recs.Len != len(tc.want) {
				t.Errorf("fetched %d bytes (Len %d), want %d", len(got), recs.Len, len(tc.want))
			}
		})
	}
}

// Absolute batches (key compaction's) keep their stored offsets and
// leader epochs, and a run of them is one piece of the stored bytes.
func TestFetchedAbsoluteRecordsAsStored(t *testing.T) {
	t.Parallel()
	stored, row := storedRow(t, true, 2, 40, 3)
	recs, count := fetchRow(t, stored, row, 0, 1<<20, true)
	if len(recs.Pieces) != 1 || !bytes.Equal(recs.Pieces[0], stored) || !within(recs.Pieces[0], stored) {
		t.Fatalf("%d pieces, want the stored bytes as one", len(recs.Pieces))
	}
	if count != 45 {
		t.Errorf("count %d, want 45", count)
	}
}

// A fetch's records stay the cache's bytes until its release: the cache
// cannot recycle them while the response is being written.
func TestFetchHoldsCachedObjectUntilRelease(t *testing.T) {
	env := newTestEnv(t)
	env.commit(t, map[int32][]string{0: kibRecords[:40]})
	r := env.reader(t, env.bucket, 1<<20)
	rows, err := env.store.Index(t.Context(), env.topic.ID, 0, 0, 1)
	if err != nil || len(rows) != 1 {
		t.Fatalf("index: %v, %v", rows, err)
	}
	refs := func() int32 {
		e, ok := r.objects.cache.get(wholeKey(rows[0].ObjectKey))
		if !ok {
			t.Fatal("object not cached whole")
		}
		defer e.release()
		return e.refs.Load() - 1 // not counting this look
	}
	got, _, release := r.Fetch(t.Context(), []Want{{Topic: env.topic, Partition: 0, MaxBytes: 1 << 20}}, 1<<20)
	if got[0].Err != nil || got[0].Count != 40 {
		t.Fatalf("fetch: %d records, %v", got[0].Count, got[0].Err)
	}
	if n := refs(); n != 2 {
		t.Errorf("while the records are unwritten, the object has %d holders, want the cache and the fetch", n)
	}
	release()
	if n := refs(); n != 1 {
		t.Errorf("after release, the object has %d holders, want the cache alone", n)
	}
}
