package writer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata/metadatatest"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/objstore/objstoretest"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/segments/segmentstest"
	"github.com/google/uuid"
)

type testEnv struct {
	store  metadata.Store
	bucket *objstoretest.Faults
	topic  metadata.Topic
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	ctx := context.Background()
	bucket := objstoretest.OpenFile(t)
	store := metadatatest.OpenSQLite(t, metadata.Options{})
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

// config is a writer's on env, flushing every 5 ms.
func (env *testEnv) config() Config {
	return Config{Store: env.store, Bucket: env.bucket, FlushInterval: 5 * time.Millisecond,
		FlushBytes: 1 << 20, MaxBufferedBytes: 4 << 20}
}

func (env *testEnv) writer(t *testing.T, committed func(string, []byte, metadata.CommitResult)) *Writer {
	t.Helper()
	c := env.config()
	c.Committed = committed
	return newWriter(t, c)
}

func newWriter(t *testing.T, c Config) *Writer {
	t.Helper()
	w, err := New(c)
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
	w := env.writer(t, func(key string, _ []byte, _ metadata.CommitResult) { keys = append(keys, key) })
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

// clock is the real time moved forward by jumps, so that a test can age a
// flush past segments.CommitTimeout without waiting for it.
type clock struct{ ahead atomic.Int64 }

func (c *clock) Now() time.Time       { return time.Now().Add(time.Duration(c.ahead.Load())) }
func (c *clock) jump(d time.Duration) { c.ahead.Add(int64(d)) }

// slowCommits makes the first CommitObject wait for release and then take
// the clock past segments.CommitTimeout before it commits.
type slowCommits struct {
	metadata.Store
	clock   *clock
	release chan struct{}
	once    sync.Once
}

func (s *slowCommits) CommitObject(ctx context.Context, c metadata.ObjectCommit) (metadata.CommitResult, error) {
	s.once.Do(func() {
		<-s.release
		s.clock.jump(segments.CommitTimeout)
	})
	return s.Store.CommitObject(ctx, c)
}

// orphans lists the bucket's objects that have no object row.
func (env *testEnv) orphans(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	if err := env.bucket.List(ctx, segments.KeyPrefix, func(a objstore.Attrs) error {
		keys = append(keys, a.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rows, err := env.store.ObjectsByKey(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range keys {
		if _, ok := rows[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// A flush that would commit segments.CommitTimeout or more after its PUT
// started gives up instead, because orphan GC may have deleted its object
// by then: its producers get a retriable timeout, nothing of it is
// committed, and the object is left an orphan. The delay comes from a slow
// PUT, or from waiting for an earlier object's slow commit.
func TestLateCommitGivesUp(t *testing.T) {
	t.Run("slow put", func(t *testing.T) {
		env := newTestEnv(t)
		var (
			clk  clock
			once sync.Once
		)
		env.bucket.SetHook(func(_ context.Context, op objstore.Op, _ string) error {
			if op == objstore.OpPut {
				once.Do(func() { clk.jump(segments.CommitTimeout) })
			}
			return nil
		})
		c := env.config()
		c.Now = clk.Now
		w := newWriter(t, c)
		ack, err := w.Append([]Item{env.item(0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := results(t, ack); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("late commit: results %+v, %v; want context.DeadlineExceeded", res, err)
		}
		env.checkGaveUp(t, w, 0)
	})
	t.Run("slow earlier commit", func(t *testing.T) {
		env := newTestEnv(t)
		var clk clock
		slow := &slowCommits{Store: env.store, clock: &clk, release: make(chan struct{})}
		c := env.config()
		c.Store, c.Now = slow, clk.Now
		w := newWriter(t, c)
		first, err := w.Append([]Item{env.item(0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		waitPuts(t, env.bucket, 1)
		second, err := w.Append([]Item{env.item(0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		// The second object is in the bucket, waiting for the first's
		// commit, when that commit takes the clock past the bound.
		waitPuts(t, env.bucket, 2)
		close(slow.release)
		if res, err := results(t, first); err != nil || res[0].BaseOffset != 0 {
			t.Fatalf("first object: %+v, %v; want committed at 0", res, err)
		}
		if res, err := results(t, second); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second object: results %+v, %v; want context.DeadlineExceeded", res, err)
		}
		env.checkGaveUp(t, w, 1)
	})
}

// checkGaveUp checks that one object was left an orphan with nothing of it
// committed: partition 0 still ends at next, and a retry commits there.
func (env *testEnv) checkGaveUp(t *testing.T, w *Writer, next int64) {
	t.Helper()
	if o := env.orphans(t); len(o) != 1 {
		t.Fatalf("orphans %v, want the late object alone", o)
	}
	ack, err := w.Append([]Item{env.item(0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := results(t, ack); err != nil || res[0].BaseOffset != next {
		t.Fatalf("the retry got %+v, %v; want offset %d: nothing of the late object may be committed", res, err, next)
	}
}

// waitPuts waits until the bucket has seen n PUTs.
func waitPuts(t *testing.T, b *objstoretest.Faults, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.Calls(objstore.OpPut) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d PUTs, want %d", b.Calls(objstore.OpPut), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// fencedCommits is a gateway stalled after its age check: before its
// commit reaches the store, orphan GC fences the key and time passes.
type fencedCommits struct {
	metadata.Store
	clock *clock
}

func (s *fencedCommits) CommitObject(ctx context.Context, c metadata.ObjectCommit) (metadata.CommitResult, error) {
	s.clock.jump(segments.MinDeleteGrace)
	if fenced, err := s.Store.ClaimOrphans(ctx, []string{c.Key}); err != nil || len(fenced) != 1 {
		return metadata.CommitResult{}, fmt.Errorf("fence %s: %v %v", c.Key, fenced, err)
	}
	return s.Store.CommitObject(ctx, c)
}

// A commit that reaches the store after orphan GC fenced its key is
// refused, whatever the stall, and its producers get the retriable
// timeout: the records never point at an object GC deletes.
func TestFencedCommitRefused(t *testing.T) {
	env := newTestEnv(t)
	var clk clock
	c := env.config()
	c.Store, c.Now = &fencedCommits{Store: env.store, clock: &clk}, clk.Now
	w := newWriter(t, c)
	ack, err := w.Append([]Item{env.item(0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := results(t, ack); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fenced commit: results %+v, %v; want context.DeadlineExceeded", res, err)
	}
	if st, err := env.store.Partition(context.Background(), env.topic.ID, 0); err != nil || st.NextOffset != 0 {
		t.Errorf("after the fenced commit the next offset is %d (%v), want 0", st.NextOffset, err)
	}
}

// An object goes to Committed whole only when this gateway reads one of
// its partitions; otherwise its batches go to the bucket where they
// arrived. Either way the bucket holds the object WriteObject lays out.
func TestKeepsObjectsOfReadPartitions(t *testing.T) {
	env := newTestEnv(t)
	var kept []bool
	c := env.config()
	c.Committed = func(_ string, data []byte, _ metadata.CommitResult) { kept = append(kept, data != nil) }
	c.Reads = func(topic uuid.UUID, p int32) bool { return topic == env.topic.ID && p == 1 }
	w := newWriter(t, c)
	for i, tc := range []struct {
		partitions []int32
		kept       bool
	}{{[]int32{0}, false}, {[]int32{0, 1}, true}, {[]int32{1}, true}} {
		var items []Item
		var parts []segments.Part
		for _, p := range tc.partitions {
			it := env.item(p, 3)
			binary.BigEndian.PutUint64(it.Batch, 99) // objects store 0
			items = append(items, it)
			parts = append(parts, segments.Part{Topic: it.Topic, Partition: p, Batches: [][]byte{bytes.Clone(it.Batch)}})
		}
		want, _, err := segments.WriteObject(parts)
		if err != nil {
			t.Fatal(err)
		}
		ack, err := w.Append(items)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := results(t, ack); err != nil {
			t.Fatal(err)
		}
		if len(kept) != i+1 || kept[i] != tc.kept {
			t.Fatalf("object %d (partitions %v): kept %v, want %v", i, tc.partitions, kept, tc.kept)
		}
		var got []byte
		err = env.bucket.List(context.Background(), "", func(a objstore.Attrs) error {
			data, err := env.bucket.Get(context.Background(), a.Key, nil)
			if err == nil && bytes.Equal(data, want) {
				got = data
			}
			return err
		})
		if err != nil || got == nil {
			t.Fatalf("object %d: not in the bucket as WriteObject lays it out (%v)", i, err)
		}
	}
}
