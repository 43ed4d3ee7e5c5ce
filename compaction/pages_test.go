package compaction

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/metadatatest"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/objstore/objstoretest"
	"github.com/caudal/caudal/worker/job"
)

// pageStore records the most rows the merge asks the store for at once:
// per index read, per object lookup and per swap.
type pageStore struct {
	*metadatatest.IndexCounter
	maxKeys, maxOld int
}

func (s *pageStore) ObjectsByKey(ctx context.Context, keys []string) (map[string]metadata.Object, error) {
	s.maxKeys = max(s.maxKeys, len(keys))
	return s.Store.ObjectsByKey(ctx, keys)
}

func (s *pageStore) ReplaceIndex(ctx context.Context, r metadata.IndexReplacement, t time.Time) error {
	s.maxOld = max(s.maxOld, len(r.Old))
	return s.Store.ReplaceIndex(ctx, r, t)
}

// TestMergePages merges a partition of 2,500 one-record rows, more than
// two pages of the index, with groups of at most 600 rows: the store is
// never asked for more than a page of rows, the merge never holds more
// than a page and a group it may still grow, groups continue across page
// boundaries, and every record is still there, in order.
func TestMergePages(t *testing.T) {
	const rows, maxRows = 2500, 600
	ctx := context.Background()
	s := metadatatest.OpenSQLite(t, metadata.Options{UnsafeSQLiteNoSync: true})
	bucket := objstoretest.OpenFile(t)
	tp, err := s.CreateTopic(ctx, metadata.TopicSpec{Name: "long", Partitions: 1, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	for range rows {
		if _, err := s.CommitObject(ctx, putUncommitted(t, bucket, tp)); err != nil {
			t.Fatal(err)
		}
	}
	store := &pageStore{IndexCounter: &metadatatest.IndexCounter{Store: s}}
	broker, _ := topicconfig.NewBroker(nil)
	comp := New(Config{Config: job.Config{Store: store, Bucket: bucket, Broker: broker, Grace: grace,
		Now: func() time.Time { return time.Now().Add(time.Hour) }}, Merge: MergeOptions{MaxRows: maxRows}})
	res, err := comp.MergePartition(ctx, tp, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsMerged != rows || res.Groups != 5 {
		t.Errorf("merged %d rows in %d groups, want %d in 5", res.RowsMerged, res.Groups, rows)
	}
	if store.Reads < 3 || store.MaxRows > 1000 || store.maxKeys > maxRows-1+1000 || store.maxOld > maxRows {
		t.Errorf("%d index reads of at most %d rows, %d objects looked up at once, %d rows swapped at once; want pages of 1,000, at most %d held, groups of %d",
			store.Reads, store.MaxRows, store.maxKeys, store.maxOld, maxRows-1+1000, maxRows)
	}

	after, err := comp.partitionRows(ctx, tp, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lengths []int64
	next := int64(0)
	for _, r := range after {
		lengths = append(lengths, r.LastOffset-r.BaseOffset+1)
		b, err := comp.readRow(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		spans, err := rowBatches(r, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range spans {
			if sp.BaseOffset != next {
				t.Fatalf("batch at %d, want %d", sp.BaseOffset, next)
			}
			next++
		}
	}
	if want := []int64{600, 600, 600, 600, 100}; next != rows || !slices.Equal(lengths, want) {
		t.Errorf("read %d records in rows of %v offsets, want %d in rows of %v", next, lengths, rows, want)
	}
}
