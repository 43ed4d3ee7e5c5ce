package compaction

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/test/testenv"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestLegacyKeyLayout: a bucket written before segment keys got their
// hash prefix holds segments/UUIDv7 objects. Beside new segments/HH/UUIDv7
// ones, a committed old-layout object is fetched by consumers and merged,
// then deleted once dead for the grace period; an old-layout orphan is
// listed, aged from first sight and deleted.
func TestLegacyKeyLayout(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			e := newEnv(t, backend)
			ctx := context.Background()
			tp := e.createTopic(t, "legacy", 1, nil)
			committed := putLegacy(t, e.bucket, tp)
			if _, err := e.store.CommitObject(ctx, committed); err != nil {
				t.Fatal(err)
			}
			orphan := putLegacy(t, e.bucket, tp)
			for i := range 3 {
				e.produce(t, &kgo.Record{Topic: "legacy", Value: fmt.Appendf(nil, "new %d", i)})
			}
			want := []string{"v", "new 0", "new 1", "new 2"}
			if got := consume(t, e.c.Addr, "legacy", len(want)); !slices.Equal(got, want) {
				t.Fatalf("consumed %q, want %q", got, want)
			}
			if got := listLayouts(t, e.bucket); got != (layouts{legacy: 2, hashed: 3}) {
				t.Fatalf("bucket holds %+v, want 2 legacy and 3 hashed keys", got)
			}

			if n, err := e.comp.CollectOrphans(ctx); err != nil || n != 0 {
				t.Fatalf("first sight: collected %d orphans (%v), want 0", n, err)
			}
			e.advance(grace)
			if n, err := e.comp.CollectOrphans(ctx); err != nil || n != 1 {
				t.Fatalf("after the grace period: collected %d orphans (%v), want 1", n, err)
			}
			mustBeGone(t, e.bucket, orphan.Key)

			if res, err := e.comp.MergePartition(ctx, tp, 0); err != nil || res.RowsMerged != 4 {
				t.Fatalf("merge: %+v %v, want the 4 rows merged", res, err)
			}
			e.advance(2 * grace)
			if err := e.ret.DeleteObjects(ctx); err != nil {
				t.Fatal(err)
			}
			mustBeGone(t, e.bucket, committed.Key)
			if got := listLayouts(t, e.bucket); got != (layouts{hashed: 1}) {
				t.Fatalf("after merge and deletion the bucket holds %+v, want the merged object alone", got)
			}
			if got := consume(t, e.c.Addr, "legacy", len(want)); !slices.Equal(got, want) {
				t.Fatalf("consumed %q after the merge, want %q", got, want)
			}
		})
	}
}

// putLegacy puts a one-batch segment object under an old-layout key,
// segments/UUIDv7, and returns the commit that would index it.
func putLegacy(t *testing.T, bucket objstore.Bucket, tp metadata.Topic) metadata.ObjectCommit {
	t.Helper()
	ctx := context.Background()
	c := putUncommitted(t, bucket, tp)
	data, err := bucket.Get(ctx, c.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.Delete(ctx, c.Key); err != nil {
		t.Fatal(err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	c.Key = segments.KeyPrefix + id.String()
	if err := bucket.Put(ctx, c.Key, data); err != nil {
		t.Fatal(err)
	}
	return c
}

// layouts counts the segment keys of each layout in a bucket.
type layouts struct{ legacy, hashed int }

func listLayouts(t *testing.T, bucket objstore.Bucket) layouts {
	t.Helper()
	var l layouts
	err := bucket.List(context.Background(), segments.KeyPrefix, func(a objstore.Attrs) error {
		rest := strings.TrimPrefix(a.Key, segments.KeyPrefix)
		if _, err := uuid.Parse(rest); err == nil {
			l.legacy++
		} else if hh, id, ok := strings.Cut(rest, "/"); ok && len(hh) == 2 && uuid.Validate(id) == nil {
			l.hashed++
		} else {
			return fmt.Errorf("segment key %q of neither layout", a.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustBeGone(t *testing.T, bucket objstore.Bucket, key string) {
	t.Helper()
	if _, err := bucket.Stat(context.Background(), key); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("object %s: %v, want it deleted", key, err)
	}
}

// consume reads the values of topic's partition 0 from the start through
// the gateway at addr until it has n of them.
func consume(t *testing.T, addr, topic string, n int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []string
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %q of %d records: %v", got, n, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}
