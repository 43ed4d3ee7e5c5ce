package writer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/objstore/objstoretest"
	"github.com/caudal/caudal/segments/segmentstest"
)

type testEnv struct {
	store  metadata.Store
	bucket *objstoretest.Faults
	topic  metadata.Topic
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	bucket, err := objstore.Open(ctx, "file://"+filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := metadata.Open(ctx, "sqlite://"+filepath.Join(dir, "metadata.db"), metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		store.Close()
		bucket.Close()
	})
	topic, err := store.CreateTopic(ctx, metadata.TopicSpec{Name: "t", Partitions: 2, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{store: store, bucket: objstoretest.NewFaults(bucket), topic: topic}
}

// item is a batch of n records for a partition of env's topic.
func (env *testEnv) item(partition int32, n int) Item {
	values := make([]string, n)
	for i := range values {
		values[i] = "v"
	}
	return Item{Topic: env.topic.ID, Partition: partition, TopicName: env.topic.Name, Batch: segmentstest.Batch(values...),
		Meta: metadata.BatchAppend{Records: int64(n), MaxTimestamp: 1000, ProducerID: -1}}
}

func (env *testEnv) writer(t *testing.T, committed func(string, []byte)) *Writer {
	t.Helper()
	w, err := New(Config{Store: env.store, Bucket: env.bucket, FlushInterval: 5 * time.Millisecond,
		FlushBytes: 1 << 20, MaxBufferedBytes: 4 << 20, Committed: committed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	return w
}

func results(t *testing.T, ack *Ack) ([]metadata.BatchResult, error) {
	t.Helper()
	select {
	case <-ack.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the flush did not end")
	}
	return ack.Results()
}

// Batches appended together share one object and get offsets in the
// order they were appended, per partition; the object is in the bucket
// and handed to Committed before the Ack is done.
func TestAppendCommitsInOrder(t *testing.T) {
	env := newTestEnv(t)
	var keys []string
	w := env.writer(t, func(key string, data []byte) { keys = append(keys, key) })
	ack, err := w.Append([]Item{env.item(0, 2), env.item(1, 1), env.item(0, 3)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := results(t, ack)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{0, 0, 2} {
		if res[i].Err != nil || res[i].BaseOffset != want {
			t.Errorf("item %d: base offset %d, err %v; want %d", i, res[i].BaseOffset, res[i].Err, want)
		}
	}
	if len(keys) != 1 || !strings.HasPrefix(keys[0], "segments/") {
		t.Fatalf("committed objects %v, want one under segments/", keys)
	}
	if _, err := env.bucket.Stat(context.Background(), keys[0]); err != nil {
		t.Errorf("the committed object is not in the bucket: %v", err)
	}
	st, err := env.store.Partition(context.Background(), env.topic.ID, 0)
	if err != nil || st.NextOffset != 5 {
		t.Errorf("partition 0 next offset %d (%v), want 5", st.NextOffset, err)
	}
}

// A failed PUT fails every batch of its object and commits none; the
// next object commits normally.
func TestFailedPutCommitsNothing(t *testing.T) {
	env := newTestEnv(t)
	w := env.writer(t, nil)
	env.bucket.FailNext(objstore.OpPut, 1, objstore.ErrUnavailable)
	ack, err := w.Append([]Item{env.item(0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := results(t, ack); !errors.Is(err, objstore.ErrUnavailable) {
		t.Fatalf("results after a failed PUT: %v, want ErrUnavailable", err)
	}
	ack, err = w.Append([]Item{env.item(0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := results(t, ack); err != nil || res[0].BaseOffset != 0 {
		t.Fatalf("the retry got %+v, %v; want offset 0: nothing of the failed object may be committed", res, err)
	}
}

// Close flushes what is buffered, and appends after it are refused.
func TestCloseFlushesAndRefuses(t *testing.T) {
	env := newTestEnv(t)
	w, err := New(Config{Store: env.store, Bucket: env.bucket, FlushInterval: time.Hour, FlushBytes: 1 << 20, MaxBufferedBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := w.Append([]Item{env.item(1, 4)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res, err := results(t, ack); err != nil || res[0].Err != nil {
		t.Fatalf("buffered batch after Close: %+v, %v; want committed", res, err)
	}
	if _, err := w.Append([]Item{env.item(1, 1)}); !errors.Is(err, ErrClosed) {
		t.Errorf("append after Close: %v, want ErrClosed", err)
	}
}
