package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/test/testenv"
)

// BenchmarkPutCommitVsPut is the storage layer's produce cost: 8 MiB
// objects PUT to MinIO by 4 writers, first alone (the raw baseline), then
// each followed by its metadata commit on PostgreSQL for 16 partitions, as
// a gateway flush does. The ratio says how much the commit costs on top of
// the bucket's physical limit.
func BenchmarkPutCommitVsPut(b *testing.B) {
	const size, concurrency, parts = 8 << 20, 4, 16
	ctx := context.Background()
	bucket, store := cloudStores(b)
	topic, err := store.CreateTopic(ctx, metadata.TopicSpec{Name: "bench", Partitions: parts, ReplicationFactor: 1})
	if err != nil {
		b.Fatal(err)
	}

	raw := putThroughput(b, bucket, b.N, size, concurrency)
	withCommit := putLoop(b, b.N, size, concurrency, func(ctx context.Context, key string, data []byte) error {
		if err := bucket.Put(ctx, key, data); err != nil {
			return err
		}
		_, err := store.CommitObject(ctx, flushCommit(topic, key, len(data), parts))
		return err
	})
	b.ReportMetric(raw, "put-MB/s")
	b.ReportMetric(withCommit, "put+commit-MB/s")
	b.ReportMetric(withCommit/raw, "ratio")
	fmt.Printf("storage: raw PUT %.1f MB/s, PUT+commit %.1f MB/s, ratio %.3f (%d objects of 8 MiB, %d writers)\n",
		raw, withCommit, withCommit/raw, b.N, concurrency)
}

// flushCommit describes an object of size bytes split evenly over the
// topic's first parts partitions, one batch of 1 KiB records each.
func flushCommit(t metadata.Topic, key string, size, parts int) metadata.ObjectCommit {
	c := metadata.ObjectCommit{Key: key, Size: int64(size)}
	per := int64(size / parts)
	for p := range int32(parts) {
		c.Runs = append(c.Runs, metadata.PartitionRun{Topic: t.ID, Partition: p, Batches: []metadata.BatchAppend{{
			ByteOffset: int64(p) * per, ByteLength: per, Records: per / 1024, MaxTimestamp: time.Now().UnixMilli(), ProducerID: -1,
		}}})
	}
	return c
}

// cloudStores opens a fresh MinIO bucket and PostgreSQL database, closed
// when the benchmark ends.
func cloudStores(b *testing.B) (objstore.Bucket, metadata.Store) {
	b.Helper()
	ctx := context.Background()
	srv := testenv.MinIO(b)
	bucket := openBucket(b, srv.URL(srv.NewBucket(b), "bench"))
	b.Cleanup(func() { bucket.Close() })
	store, err := metadata.Open(ctx, testenv.Postgres(b), metadata.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return bucket, store
}
