package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caudal/caudal/compaction"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/worker/job"
)

// benchBatch builds one uncompressed batch of n records of size bytes.
func benchBatch(b *testing.B, n, size int) []byte {
	recs := make([]segments.AbsRecord, n)
	for i := range recs {
		recs[i] = segments.AbsRecord{Offset: int64(i), Timestamp: time.Now().UnixMilli(), Key: fmt.Appendf(nil, "k%d", i), Value: make([]byte, size)}
	}
	batch, err := segments.AppendBatch(nil, recs)
	if err != nil {
		b.Fatal(err)
	}
	return batch
}

// BenchmarkMergeCompaction writes small objects the way a lightly loaded
// gateway flushes them (one 64 KiB batch per partition per object, 4
// partitions per object) to MinIO with PostgreSQL, then merges them and
// reports the rewrite throughput, the object count before and after, the
// average object size and objects per GiB of data.
func BenchmarkMergeCompaction(b *testing.B) {
	ctx := context.Background()
	bucket, store := cloudStores(b)
	const parts, objects = 4, 256
	t, err := store.CreateTopic(ctx, metadata.TopicSpec{Name: "bench-merge", Partitions: parts, ReplicationFactor: 1})
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch(b, 64, 1000) // ≈ 66 KiB, 64 offsets
	var dataBytes int64
	for range objects {
		var ps []segments.Part
		for p := range int32(parts) {
			ps = append(ps, segments.Part{Topic: t.ID, Partition: p, Batches: [][]byte{batch}})
		}
		obj, spans, err := segments.WriteObject(ps)
		if err != nil {
			b.Fatal(err)
		}
		key, err := segments.NewObjectKey()
		if err != nil {
			b.Fatal(err)
		}
		if err := bucket.Put(ctx, key, obj); err != nil {
			b.Fatal(err)
		}
		c := metadata.ObjectCommit{Key: key, Size: int64(len(obj))}
		for _, s := range spans {
			c.Runs = append(c.Runs, metadata.PartitionRun{Topic: t.ID, Partition: s.Partition, Batches: []metadata.BatchAppend{{
				ByteOffset: s.Batches[0].Off, ByteLength: s.Batches[0].Len, Records: 64, MaxTimestamp: s.MaxTimestamp, ProducerID: -1}}})
		}
		if _, err := store.CommitObject(ctx, c); err != nil {
			b.Fatal(err)
		}
		dataBytes += int64(len(obj))
	}
	broker, _ := topicconfig.NewBroker(nil)
	comp := compaction.New(compaction.Config{Config: job.Config{Store: store, Bucket: bucket, Broker: broker, Grace: time.Minute,
		Now: func() time.Time { return time.Now().Add(time.Hour) }}})
	b.ResetTimer()
	start := time.Now()
	var written int64
	for p := range int32(parts) {
		res, err := comp.MergePartition(ctx, t, p)
		if err != nil {
			b.Fatal(err)
		}
		written += res.BytesWritten
	}
	elapsed := time.Since(start)
	b.StopTimer()
	live, size := 0, int64(0)
	store.Objects(ctx, func(o metadata.Object) error {
		if o.State == metadata.ObjectLive {
			live++
			size += o.Size
		}
		return nil
	})
	b.ReportMetric(float64(written)/elapsed.Seconds()/1e6, "MB/s-rewritten")
	b.ReportMetric(float64(objects), "objects-before")
	b.ReportMetric(float64(live), "objects-after")
	b.ReportMetric(float64(size)/float64(max(live, 1))/(1<<20), "MiB/object-after")
	b.ReportMetric(float64(objects)/(float64(dataBytes)/(1<<30)), "objects/GiB-before")
	b.ReportMetric(float64(live)/(float64(size)/(1<<30)), "objects/GiB-after")
}
