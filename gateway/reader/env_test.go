package reader

import (
	"context"
	"testing"

	"github.com/caudal/caudal/metadata/metadatatest"
	"github.com/caudal/caudal/objstore/objstoretest"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/segments/segmentstest"
	"github.com/prometheus/client_golang/prometheus"
)

// testEnv is a SQLite store and a file bucket in a temp directory, with a
// topic "fuzz" of two partitions.
type testEnv struct {
	store  metadata.Store
	bucket objstore.Bucket
	topic  metadata.Topic
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	ctx := context.Background()
	bucket := objstoretest.OpenFile(t)
	store := metadatatest.OpenSQLite(t, metadata.Options{})
	topic, err := store.CreateTopic(ctx, metadata.TopicSpec{Name: "fuzz", Partitions: 2, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{store: store, bucket: bucket, topic: topic}
}

// reader is a Reader over env's store and bucket, closed with t.
func (env *testEnv) reader(t testing.TB, bucket objstore.Bucket, cacheBytes int64) *Reader {
	r, err := New(Config{Store: env.store, Bucket: bucket, CacheBytes: cacheBytes, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// commit writes one object holding one batch of the given values for each
// given partition, and commits it, as a gateway's flush does.
func (env *testEnv) commit(t testing.TB, batches map[int32][]string) {
	t.Helper()
	ctx := context.Background()
	var parts []segments.Part
	for p, values := range batches {
		parts = append(parts, segments.Part{Topic: env.topic.ID, Partition: p, Batches: [][]byte{segmentstest.Batch(values...)}})
	}
	data, spans, err := segments.WriteObject(parts)
	if err != nil {
		t.Fatal(err)
	}
	key, err := segments.NewObjectKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := env.bucket.Put(ctx, key, data); err != nil {
		t.Fatal(err)
	}
	commit := metadata.ObjectCommit{Key: key, Size: int64(len(data))}
	for i, p := range parts {
		n := len(batches[p.Partition])
		commit.Runs = append(commit.Runs, metadata.PartitionRun{Topic: p.Topic, Partition: p.Partition, Batches: []metadata.BatchAppend{{
			ByteOffset: spans[i].Batches[0].Off, ByteLength: spans[i].Batches[0].Len, Records: int64(n), MaxTimestamp: 1000, ProducerID: -1,
		}}})
	}
	if _, err := env.store.CommitObject(ctx, commit); err != nil {
		t.Fatal(err)
	}
}

// fetch reads the given partitions of "fuzz" from offset 0 and fails t if
// any partition failed.
func (env *testEnv) fetch(t testing.TB, r *Reader, maxBytes, partitionMaxBytes int, partitions ...int32) []Got {
	t.Helper()
	wants := make([]Want, len(partitions))
	for i, p := range partitions {
		wants[i] = Want{Topic: env.topic, Partition: p, MaxBytes: min(partitionMaxBytes, maxBytes)}
	}
	got, _, release := r.Fetch(t.Context(), wants, maxBytes)
	t.Cleanup(release)
	for i, g := range got {
		if g.Err != nil {
			t.Fatalf("fetch of partition %d failed: %v", partitions[i], g.Err)
		}
	}
	return got
}
