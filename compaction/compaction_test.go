package compaction

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/objstore/objstoretest"
	"github.com/caudal/caudal/retention"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/segments/segmentstest"
	"github.com/caudal/caudal/test/testenv"
	"github.com/caudal/caudal/worker/job"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

type env struct {
	c      *testenv.Caudal
	store  metadata.Store
	bucket *objstoretest.Faults
	cl     *kgo.Client
	adm    *kadm.Client
	now    atomic.Int64 // unix ms
	comp   *Compactor
	ret    *retention.Retainer
}

const grace = time.Minute

func newEnv(t *testing.T, backend testenv.Backend) *env {
	t.Helper()
	c := testenv.StartCaudal(t, backend, gateway.Config{FlushInterval: 5 * time.Millisecond})
	store, b := c.OpenStores(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addr), kgo.ProducerLinger(0), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	e := &env{c: c, store: store, bucket: objstoretest.NewFaults(b), cl: cl, adm: kadm.NewClient(cl)}
	e.now.Store(time.Now().UnixMilli())
	now := func() time.Time { return time.UnixMilli(e.now.Load()) }
	broker, _ := topicconfig.NewBroker(nil)
	jc := job.Config{Store: store, Bucket: e.bucket, Broker: broker, Grace: grace, Now: now}
	e.comp = New(Config{Config: jc, Merge: MergeOptions{MinAge: time.Millisecond}})
	e.ret = retention.New(jc)
	return e
}

func (e *env) advance(d time.Duration) { e.now.Add(d.Milliseconds()) }

// catchUp moves the clock to the real time unless it is already past it.
func (e *env) catchUp() {
	for {
		cur, real := e.now.Load(), time.Now().UnixMilli()
		if cur >= real || e.now.CompareAndSwap(cur, real) {
			return
		}
	}
}

func (e *env) createTopic(t *testing.T, name string, partitions int32, configs map[string]*string) metadata.Topic {
	t.Helper()
	if _, err := e.adm.CreateTopic(context.Background(), partitions, 1, configs, name); err != nil {
		t.Fatal(err)
	}
	tp, err := e.store.Topic(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func (e *env) produce(t *testing.T, recs ...*kgo.Record) {
	t.Helper()
	if err := e.cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	e.catchUp()
}

type readRecord struct {
	offset     int64
	key, value []byte
}

// readAll reads a partition the way the fetch path does (absolute rows
// taken from their batch headers), checking offsets strictly increase and
// every row's object is live.
func (e *env) readAll(t *testing.T, tp metadata.Topic, partition int32) []readRecord {
	t.Helper()
	ctx := context.Background()
	rows, err := e.comp.partitionRows(ctx, tp, partition)
	if err != nil {
		t.Fatal(err)
	}
	var out []readRecord
	next := int64(-1)
	for _, r := range rows {
		o, err := e.store.Object(ctx, r.ObjectKey)
		if err != nil || o.State != metadata.ObjectLive {
			t.Fatalf("row %d-%d points at object %s: %+v %v", r.BaseOffset, r.LastOffset, r.ObjectKey, o, err)
		}
		b, err := e.comp.readRow(ctx, r)
		if err != nil {
			t.Fatalf("dangling row %+v: %v", r, err)
		}
		spans, err := rowBatches(r, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range spans {
			err := segments.ForEachRecord(b[s.Off:s.Off+s.Len], 0, func(rec segments.Record) error {
				off := s.BaseOffset + int64(rec.OffsetDelta)
				if off <= next || off < r.BaseOffset || off > r.LastOffset {
					return fmt.Errorf("offset %d after %d in row %d-%d", off, next, r.BaseOffset, r.LastOffset)
				}
				next = off
				out = append(out, readRecord{off, rec.Key, rec.Value})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func TestKeyCompaction(t *testing.T) {
	e := newEnv(t, testenv.Dev)
	tp := e.createTopic(t, "compacted", 1, map[string]*string{"cleanup.policy": ptr("compact"), "delete.retention.ms": ptr("1000")})
	const keys, versions = 10000, 10
	for v := range versions {
		recs := make([]*kgo.Record, 0, keys)
		for k := range keys {
			recs = append(recs, &kgo.Record{Topic: "compacted", Key: fmt.Appendf(nil, "k%05d", k), Value: fmt.Appendf(nil, "v%d-%d", v, k)})
		}
		e.produce(t, recs...)
	}
	// Tombstones for 100 keys, then one more record so they are not in
	// the head row.
	var tomb []*kgo.Record
	for k := range 100 {
		tomb = append(tomb, &kgo.Record{Topic: "compacted", Key: fmt.Appendf(nil, "k%05d", k)})
	}
	e.produce(t, tomb...)
	e.produce(t, &kgo.Record{Topic: "compacted", Key: []byte("last"), Value: []byte("x")})

	before := e.readAll(t, tp, 0)
	if len(before) != keys*versions+101 {
		t.Fatalf("read %d records before compaction", len(before))
	}
	ctx := context.Background()
	res, err := e.comp.CompactKeys(ctx, tp, 0, e.comp.c.Broker.Policy(tp.Configs))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first pass: %+v", res)
	check := func(tombstonesGone bool) {
		t.Helper()
		got := e.readAll(t, tp, 0)
		seen := map[string]string{}
		for _, r := range got {
			if _, dup := seen[string(r.key)]; dup {
				t.Fatalf("key %s twice (offset %d)", r.key, r.offset)
			}
			seen[string(r.key)] = string(r.value)
		}
		for k := range keys {
			v, ok := seen[fmt.Sprintf("k%05d", k)]
			switch {
			case k < 100 && tombstonesGone && ok:
				t.Fatalf("key %d: tombstone not removed", k)
			case k < 100 && !tombstonesGone && (!ok || v != ""):
				t.Fatalf("key %d: tombstone missing (%q, %v)", k, v, ok)
			case k >= 100 && v != fmt.Sprintf("v%d-%d", versions-1, k):
				t.Fatalf("key %d: value %q", k, v)
			}
		}
	}
	check(false)
	// Tombstones outlive delete.retention.ms, then go with the next
	// dirty pass.
	e.advance(time.Hour)
	e.produce(t, &kgo.Record{Topic: "compacted", Key: []byte("last"), Value: []byte("y")})
	e.produce(t, &kgo.Record{Topic: "compacted", Key: []byte("last"), Value: []byte("z")})
	// Not dirty enough yet: the new rows are tiny next to the clean ones.
	if res, err := e.comp.CompactKeys(ctx, tp, 0, e.comp.c.Broker.Policy(tp.Configs)); err != nil || res.RowsIn != 0 {
		t.Fatalf("second pass: %+v %v", res, err)
	}
	// Rewriting every other key makes the log dirty enough.
	var again []*kgo.Record
	for k := 100; k < keys; k++ {
		again = append(again, &kgo.Record{Topic: "compacted", Key: fmt.Appendf(nil, "k%05d", k), Value: fmt.Appendf(nil, "v%d-%d", versions-1, k)})
	}
	e.produce(t, again...)
	e.produce(t, again...)
	e.produce(t, &kgo.Record{Topic: "compacted", Key: []byte("last"), Value: []byte("w")})
	res, err = e.comp.CompactKeys(ctx, tp, 0, e.comp.c.Broker.Policy(tp.Configs))
	if err != nil || res.RowsIn == 0 {
		t.Fatalf("third pass: %+v %v", res, err)
	}
	check(true)
	// Old objects go after the grace period; what is left still reads.
	e.advance(2 * grace)
	if err := e.ret.Run(ctx); err != nil {
		t.Fatal(err)
	}
	check(true)
}

func ptr(s string) *string { return &s }

// TestMergeUnderLoad merges small objects while a producer and a consumer
// run, and checks the consumer reads every offset exactly once, in order.
func TestMergeUnderLoad(t *testing.T) {
	e := newEnv(t, testenv.Cloud)
	const parts = 2
	tp := e.createTopic(t, "busy", parts, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var produced [parts]atomic.Int64
	var wg sync.WaitGroup
	prodErr := make(chan error, 1)
	wg.Add(1)
	go func() { // producer
		defer wg.Done()
		seq := [parts]int64{}
		for ctx.Err() == nil {
			var recs []*kgo.Record
			for p := range int32(parts) {
				for range 20 {
					recs = append(recs, &kgo.Record{Topic: "busy", Partition: p, Value: fmt.Appendf(nil, "%d-%d", p, seq[p])})
					seq[p]++
				}
			}
			if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				if ctx.Err() == nil {
					prodErr <- err
				}
				return
			}
			for p := range parts {
				produced[p].Store(seq[p])
			}
		}
	}()
	cons, err := kgo.NewClient(kgo.SeedBrokers(e.c.Addr), kgo.ConsumeTopics("busy"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	var consumed [parts]atomic.Int64
	consErr := make(chan error, 1)
	wg.Add(1)
	go func() { // consumer: offsets and values in sequence
		defer wg.Done()
		for ctx.Err() == nil {
			fs := cons.PollFetches(ctx)
			var bad error
			fs.EachError(func(_ string, _ int32, err error) {
				if ctx.Err() == nil && bad == nil {
					bad = err
				}
			})
			fs.EachRecord(func(r *kgo.Record) {
				want := consumed[r.Partition].Load()
				if bad == nil && (r.Offset != want || string(r.Value) != fmt.Sprintf("%d-%d", r.Partition, want)) {
					bad = fmt.Errorf("partition %d: got offset %d %q, want %d", r.Partition, r.Offset, r.Value, want)
				}
				consumed[r.Partition].Store(r.Offset + 1)
			})
			if bad != nil {
				consErr <- bad
				return
			}
		}
	}()
	merged := 0
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		e.now.Store(time.Now().UnixMilli())
		for p := range int32(parts) {
			res, err := e.comp.MergePartition(context.Background(), tp, p)
			if err != nil {
				t.Fatal(err)
			}
			merged += res.RowsMerged
		}
		// Old objects are deleted a little later (grace is shortened
		// by moving the clock: the consumer keeps up within it).
		e.advance(grace - 2*time.Second)
		if err := e.ret.DeleteObjects(context.Background()); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-consErr:
			t.Fatal(err)
		case err := <-prodErr:
			t.Fatal(err)
		default:
		}
	}
	cancel()
	wg.Wait()
	select {
	case err := <-consErr:
		t.Fatal(err)
	default:
	}
	// Drain what is left with a fresh consumer from the start.
	final, err := kgo.NewClient(kgo.SeedBrokers(e.c.Addr), kgo.ConsumeTopics("busy"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer final.Close()
	var got [parts]int64
	total := produced[0].Load() + produced[1].Load()
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer dcancel()
	for got[0]+got[1] < total && dctx.Err() == nil {
		final.PollFetches(dctx).EachRecord(func(r *kgo.Record) {
			if r.Offset != got[r.Partition] || string(r.Value) != fmt.Sprintf("%d-%d", r.Partition, got[r.Partition]) {
				t.Fatalf("reread partition %d: offset %d %q, want %d", r.Partition, r.Offset, r.Value, got[r.Partition])
			}
			got[r.Partition]++
		})
	}
	if got[0] != produced[0].Load() || got[1] != produced[1].Load() {
		t.Fatalf("reread %v, produced %d/%d", got, produced[0].Load(), produced[1].Load())
	}
	rows0, _ := e.comp.partitionRows(context.Background(), tp, 0)
	t.Logf("produced %d records, merged %d rows, partition 0 now has %d rows", total, merged, len(rows0))
	if merged == 0 {
		t.Fatal("nothing merged")
	}
}

// failingStore fails ReplaceIndex, as a crash between PUT and swap would.
type failingStore struct {
	metadata.Store
	fail atomic.Bool
}

func (s *failingStore) ReplaceIndex(ctx context.Context, r metadata.IndexReplacement, t time.Time) error {
	if s.fail.Load() {
		return errors.New("injected: crash before the swap")
	}
	return s.Store.ReplaceIndex(ctx, r, t)
}

// TestCrashes injects a failure at each step of each job, then reruns
// the job: nothing is lost, no row dangles, and orphans are collected.
func TestCrashes(t *testing.T) {
	e := newEnv(t, testenv.Dev)
	fs := &failingStore{Store: e.store}
	e.comp.c.Store = fs
	ctx := context.Background()
	tp := e.createTopic(t, "crashy", 1, map[string]*string{"cleanup.policy": ptr("compact,delete")})
	produceSome := func(from int) {
		for i := range 5 {
			var recs []*kgo.Record
			for k := range 10 {
				recs = append(recs, &kgo.Record{Topic: "crashy", Key: fmt.Appendf(nil, "k%d", k), Value: fmt.Appendf(nil, "%d", from+i)})
			}
			e.produce(t, recs...)
		}
	}
	produceSome(0)
	want := e.readAll(t, tp, 0)
	same := func(step string) {
		t.Helper()
		got := e.readAll(t, tp, 0)
		if len(got) != len(want) {
			t.Fatalf("%s: read %d records, want %d", step, len(got), len(want))
		}
		for i := range got {
			if got[i].offset != want[i].offset || string(got[i].value) != string(want[i].value) {
				t.Fatalf("%s: record %d: %+v, want %+v", step, i, got[i], want[i])
			}
		}
	}
	collect := func() int {
		t.Helper()
		n, err := e.comp.CollectOrphans(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Orphans go once seen for the grace period: one pass sees them, the
	// next, after it, deletes them.
	gc := func() int {
		t.Helper()
		n := collect()
		e.advance(2 * grace)
		if err := e.ret.DeleteObjects(ctx); err != nil {
			t.Fatal(err)
		}
		return n + collect()
	}
	// Each merge is a pass of its own, with nothing read before (Run
	// starts every pass so): its first read of a row is a ranged GET.
	merge := func() (MergeResult, error) {
		e.comp.rows.reset()
		return e.comp.MergePartition(ctx, tp, 0)
	}

	// Merge: read fails, PUT fails, PUT lands but errors, swap fails.
	e.bucket.FailNext(objstore.OpGetRange, 1, objstore.ErrUnavailable)
	if _, err := merge(); err == nil {
		t.Fatal("merge with a failing read succeeded")
	}
	same("merge read failure")
	e.bucket.FailNext(objstore.OpPut, 1, objstore.ErrUnavailable)
	if _, err := merge(); err == nil {
		t.Fatal("merge with a failing put succeeded")
	}
	same("merge put failure")
	e.bucket.FailNextAfter(objstore.OpPut, 1, objstore.ErrUnavailable)
	if _, err := merge(); err == nil {
		t.Fatal("merge with a lost put answer succeeded")
	}
	same("merge lost put answer")
	fs.fail.Store(true)
	if _, err := merge(); err == nil {
		t.Fatal("merge with a failing swap succeeded")
	}
	fs.fail.Store(false)
	same("merge swap failure")
	if n := gc(); n != 2 {
		t.Fatalf("collected %d orphans, want 2", n)
	}
	same("orphan gc")
	if res, err := merge(); err != nil || res.Groups != 1 {
		t.Fatalf("merge rerun: %+v %v", res, err)
	}
	same("merge rerun")

	// Key compaction: same steps.
	produceSome(5)
	e.produce(t, &kgo.Record{Topic: "crashy", Key: []byte("tail"), Value: []byte("t")})
	want = nil
	pol := e.comp.c.Broker.Policy(tp.Configs)
	e.bucket.FailNext(objstore.OpPut, 1, objstore.ErrUnavailable)
	if _, err := e.comp.CompactKeys(ctx, tp, 0, pol); err == nil {
		t.Fatal("compaction with a failing put succeeded")
	}
	want = e.readAll(t, tp, 0)
	fs.fail.Store(true)
	if _, err := e.comp.CompactKeys(ctx, tp, 0, pol); err == nil {
		t.Fatal("compaction with a failing swap succeeded")
	}
	fs.fail.Store(false)
	same("compaction swap failure")
	if n := gc(); n != 1 {
		t.Fatalf("collected %d orphans, want 1", n)
	}
	if res, err := e.comp.CompactKeys(ctx, tp, 0, pol); err != nil || res.RowsIn == 0 {
		t.Fatalf("compaction rerun: %+v %v", res, err)
	}
	got := e.readAll(t, tp, 0)
	last := map[string]string{}
	for _, r := range want {
		last[string(r.key)] = string(r.value)
	}
	seen := map[string]bool{}
	for _, r := range got {
		if seen[string(r.key)] {
			// The head row may repeat a key the range held.
			continue
		}
		seen[string(r.key)] = true
	}
	if len(seen) != len(last) {
		t.Fatalf("keys after compaction %d, want %d", len(seen), len(last))
	}
	want = got

	// Object deletion: a failing delete keeps the row, the rerun finishes.
	e.advance(2 * grace)
	if err := e.ret.DeleteObjects(ctx); err != nil {
		t.Fatal(err)
	}
	produceSome(10)
	want = e.readAll(t, tp, 0)
	if res, err := merge(); err != nil || res.Groups == 0 {
		t.Fatalf("merge: %+v %v", res, err)
	}
	e.advance(2 * grace)
	e.bucket.FailNext(objstore.OpDelete, 1, objstore.ErrUnavailable)
	if err := e.ret.DeleteObjects(ctx); err == nil {
		t.Fatal("delete with a failing bucket succeeded")
	}
	if err := e.ret.DeleteObjects(ctx); err != nil {
		t.Fatal(err)
	}
	same("object deletion")
	expired, _ := e.store.ExpiredObjects(ctx, time.UnixMilli(e.now.Load()), 10)
	if len(expired) != 0 {
		t.Fatalf("expired objects left: %v", expired)
	}
	// Retention: dropping the topic's data removes its objects as well.
	if err := e.store.DeleteTopic(ctx, "crashy"); err != nil {
		t.Fatal(err)
	}
	gc()
	gc()
	n := 0
	e.bucket.List(ctx, segments.KeyPrefix, func(objstore.Attrs) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d objects left after the topic was deleted", n)
	}
}

// TestOrphansUnderSkew: orphan GC depends on no clock but the worker's
// own. Objects fresh in the bucket, one whose gateway commits it within
// the commit timeout and one whose gateway died after the PUT, are kept
// until the worker has seen them without a row for the grace period,
// however far its wall clock is from the bucket's; then only the orphan
// goes.
func TestOrphansUnderSkew(t *testing.T) {
	for _, skew := range []time.Duration{time.Hour, 0, -time.Hour} {
		t.Run(fmt.Sprint("worker clock ", skew), func(t *testing.T) {
			ctx := context.Background()
			store, bucket := openStores(t, testenv.Cloud)
			var ahead atomic.Int64
			ahead.Store(int64(skew))
			now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
			broker, _ := topicconfig.NewBroker(nil)
			comp := New(Config{Config: job.Config{Store: store, Bucket: bucket, Broker: broker, Grace: grace, Now: now}})
			tp, err := store.CreateTopic(ctx, metadata.TopicSpec{Name: "t", Partitions: 1, ReplicationFactor: 1})
			if err != nil {
				t.Fatal(err)
			}
			pending := putUncommitted(t, bucket, tp)
			orphan := putUncommitted(t, bucket, tp)
			collect := func(step string, want int) {
				t.Helper()
				if n, err := comp.CollectOrphans(ctx); err != nil || n != want {
					t.Fatalf("%s: collected %d orphans (%v), want %d", step, n, err, want)
				}
			}
			collect("first sight", 0)
			if _, err := store.CommitObject(ctx, pending); err != nil {
				t.Fatal(err)
			}
			ahead.Add(int64(grace - time.Second))
			collect("within the grace period", 0)
			ahead.Add(int64(time.Second))
			collect("after the grace period", 1)
			for key, want := range map[string]bool{pending.Key: true, orphan.Key: false} {
				_, err := bucket.Stat(ctx, key)
				if exists := err == nil; exists != want {
					t.Errorf("object %s exists %v (%v), want %v", key, exists, err, want)
				}
			}
		})
	}
}

func openStores(t *testing.T, backend testenv.Backend) (metadata.Store, objstore.Bucket) {
	t.Helper()
	ctx := context.Background()
	bucketURL, metadataURL := testenv.StoreURLs(t, backend)
	bucket, err := objstore.Open(ctx, bucketURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bucket.Close() })
	store, err := metadata.Open(ctx, metadataURL, metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store, bucket
}

// putUncommitted PUTs a segment object of one batch to partition 0 of tp,
// as a gateway's flush does, and returns the commit that would index it.
func putUncommitted(t *testing.T, bucket objstore.Bucket, tp metadata.Topic) metadata.ObjectCommit {
	t.Helper()
	key, err := segments.NewObjectKey()
	if err != nil {
		t.Fatal(err)
	}
	data, spans, err := segments.WriteObject([]segments.Part{{Topic: tp.ID, Batches: [][]byte{segmentstest.Batch("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.Put(context.Background(), key, data); err != nil {
		t.Fatal(err)
	}
	b := spans[0].Batches[0]
	return metadata.ObjectCommit{Key: key, Size: int64(len(data)), Runs: []metadata.PartitionRun{{Topic: tp.ID,
		Batches: []metadata.BatchAppend{{ByteOffset: b.Off, ByteLength: b.Len, Records: 1, MaxTimestamp: 1000, ProducerID: -1}}}}}
}
