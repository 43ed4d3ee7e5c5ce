package compaction

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/objstore/objstoretest"
)

// TestSourcesReadObjectsWholeOnce reads rows through sources and counts
// the bucket's GETs: a small object is read by range once, then whole once
// for all its other rows; a large one always by range; and an object that
// left the cache is not read whole again in the same pass.
func TestSourcesReadObjectsWholeOnce(t *testing.T) {
	t.Parallel()
	type read struct {
		key      string
		off, len int64
	}
	tests := []struct {
		name             string
		maxBytes         int64
		reads            []read
		wantGets, ranged int
	}{
		{"rows of a small object", 1 << 20,
			[]read{{"a", 0, 10}, {"a", 10, 10}, {"a", 20, 10}, {"a", 20, 10}}, 1, 1},
		{"rows of an object over wholeMax", 1 << 20,
			[]read{{"big", 0, 10}, {"big", 10, 10}, {"big", 20, 10}}, 0, 3},
		{"objects taking turns in a cache of one", 150,
			[]read{{"a", 0, 10}, {"b", 0, 10}, {"a", 10, 10}, {"b", 10, 10}, {"a", 20, 10}, {"b", 20, 10}}, 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			bucket := objstoretest.NewFaults(objstoretest.OpenFile(t))
			objects := map[string][]byte{"a": pattern(100, 1), "b": pattern(100, 2), "big": pattern(1000, 3)}
			for k, data := range objects {
				if err := bucket.Put(ctx, k, data); err != nil {
					t.Fatal(err)
				}
			}
			s := newSources(bucket, 100, tt.maxBytes)
			for _, rd := range tt.reads {
				r := metadata.IndexEntry{ObjectKey: rd.key, ByteOffset: rd.off, ByteLength: rd.len, ObjectSize: int64(len(objects[rd.key]))}
				got, err := s.row(ctx, r)
				if err != nil {
					t.Fatalf("row %+v: %v", rd, err)
				}
				want := objects[rd.key][rd.off : rd.off+rd.len]
				if !bytes.Equal(got, want) {
					t.Fatalf("row %+v: got %v, want %v", rd, got, want)
				}
				clear(got) // callers patch the bytes they get
			}
			if gets, ranged := bucket.Calls(objstore.OpGet), bucket.Calls(objstore.OpGetRange); gets != tt.wantGets || ranged != tt.ranged {
				t.Errorf("%d whole and %d ranged GETs, want %d and %d", gets, ranged, tt.wantGets, tt.ranged)
			}
		})
	}
}

// TestSourcesFailedWholeRead: a whole read that fails leaves its rows to
// ranged reads, and the ranged read's error is the row's.
func TestSourcesFailedWholeRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bucket := objstoretest.NewFaults(objstoretest.OpenFile(t))
	data := pattern(100, 1)
	if err := bucket.Put(ctx, "a", data); err != nil {
		t.Fatal(err)
	}
	s := newSources(bucket, 100, 1<<20)
	row := metadata.IndexEntry{ObjectKey: "a", ByteOffset: 5, ByteLength: 10, ObjectSize: 100}
	if _, err := s.row(ctx, row); err != nil {
		t.Fatal(err)
	}
	bucket.FailNext(objstore.OpGet, 1, objstore.ErrUnavailable)
	got, err := s.row(ctx, row)
	if err != nil || !bytes.Equal(got, data[5:15]) {
		t.Fatalf("after a failed whole read: %v, %v", got, err)
	}
	bucket.FailNext(objstore.OpGetRange, 1, objstore.ErrUnavailable)
	if _, err := s.row(ctx, row); !errors.Is(err, objstore.ErrUnavailable) {
		t.Fatalf("ranged read failing: got %v, want %v", err, objstore.ErrUnavailable)
	}
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}
