package retention_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testclock"
	"github.com/minio/minio-go/v7"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/retention"
	"github.com/caudal/caudal/test/testenv"
	"github.com/caudal/caudal/worker/job"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

type env struct {
	c      *testenv.Caudal
	store  metadata.Store
	bucket objstore.Bucket
	cl     *kgo.Client
	adm    *kadm.Client
	clock  *testclock.Clock
	ret    *retention.Retainer
}

const grace = time.Minute

func newEnv(t *testing.T) *env {
	t.Helper()
	c := testenv.StartCaudal(t, testenv.Cloud, gateway.Config{FlushInterval: 5 * time.Millisecond})
	store, bucket := c.OpenStores(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addr), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	broker, _ := topicconfig.NewBroker(nil)
	e := &env{c: c, store: store, bucket: bucket, cl: cl, adm: kadm.NewClient(cl), clock: testclock.New(time.Now())}
	e.ret = retention.New(job.Config{Store: store, Bucket: bucket, Broker: broker, Grace: grace, Now: e.clock.Now})
	return e
}

func (e *env) createTopic(t *testing.T, name string, configs map[string]*string) metadata.Topic {
	t.Helper()
	if _, err := e.adm.CreateTopic(context.Background(), 1, 1, configs, name); err != nil {
		t.Fatal(err)
	}
	tp, err := e.store.Topic(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// produceRound produces n records with timestamp ts in one batch (one
// flush, one object) and returns the base offset.
func (e *env) produceRound(t *testing.T, topic string, n int, ts time.Time) int64 {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "v%d", i), Timestamp: ts}
	}
	res := e.cl.ProduceSync(context.Background(), recs...)
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	return res[0].Record.Offset
}

func (e *env) startOffset(t *testing.T, topic string) int64 {
	t.Helper()
	lo, err := e.adm.ListStartOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := lo.Lookup(topic, 0)
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	return o.Offset
}

// bucketObjects counts segment objects as MinIO itself lists them.
func (e *env) bucketObjects(t *testing.T) int {
	t.Helper()
	u := strings.TrimPrefix(e.c.BucketURL, "s3://")
	name := u[:strings.IndexByte(u, '/')]
	n := 0
	for o := range testenv.MinIO(t).Client().ListObjects(context.Background(), name, minio.ListObjectsOptions{Recursive: true, Prefix: "caudal/segments/"}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	return n
}

func (e *env) indexRows(t *testing.T, tp metadata.Topic) []metadata.IndexEntry {
	t.Helper()
	rows, err := e.store.Index(context.Background(), tp.ID, 0, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (e *env) run(t *testing.T) {
	t.Helper()
	if err := e.ret.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func ptr(s string) *string { return &s }

func TestTimeRetention(t *testing.T) {
	e := newEnv(t)
	tp := e.createTopic(t, "timed", map[string]*string{"retention.ms": ptr("2000")})
	t0 := time.Now().Truncate(time.Millisecond)
	e.produceRound(t, "timed", 10, t0)
	e.produceRound(t, "timed", 10, t0)
	third := e.produceRound(t, "timed", 10, t0.Add(10*time.Second))
	if n := e.bucketObjects(t); n != 3 {
		t.Fatalf("%d objects in MinIO, want 3", n)
	}
	e.clock.Set(t0.Add(time.Second))
	e.run(t)
	if s := e.startOffset(t, "timed"); s != 0 {
		t.Fatalf("start offset %d before anything expired", s)
	}
	e.clock.Set(t0.Add(5 * time.Second)) // the first two rounds are older than 2 s
	e.run(t)
	if s := e.startOffset(t, "timed"); s != third {
		t.Fatalf("start offset %d, want %d", s, third)
	}
	if rows := e.indexRows(t, tp); len(rows) != 1 || rows[0].BaseOffset != third {
		t.Fatalf("index rows %+v", rows)
	}
	if n := e.bucketObjects(t); n != 3 {
		t.Fatalf("%d objects in MinIO during the grace period, want 3", n)
	}
	e.clock.Set(t0.Add(5*time.Second + grace + time.Second))
	e.run(t)
	if n := e.bucketObjects(t); n != 1 {
		t.Fatalf("%d objects in MinIO after the grace period, want 1", n)
	}
	// Everything expires; the start moves to the end, never back.
	e.clock.Set(t0.Add(time.Hour))
	e.run(t)
	if s := e.startOffset(t, "timed"); s != third+10 {
		t.Fatalf("start offset %d, want %d", s, third+10)
	}
	e.clock.Set(t0.Add(2 * time.Hour))
	e.run(t)
	if n := e.bucketObjects(t); n != 0 {
		t.Fatalf("%d objects left", n)
	}
	// Forever keeps.
	tp2 := e.createTopic(t, "forever", map[string]*string{"retention.ms": ptr("-1")})
	e.produceRound(t, "forever", 5, t0)
	e.run(t)
	if rows := e.indexRows(t, tp2); len(rows) != 1 {
		t.Fatalf("retention.ms=-1 lost rows: %+v", rows)
	}
}

func TestSizeRetentionAndDeleteRecords(t *testing.T) {
	e := newEnv(t)
	tp := e.createTopic(t, "sized", nil)
	now := time.Now()
	for range 4 {
		e.produceRound(t, "sized", 10, now)
	}
	rows := e.indexRows(t, tp)
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	limit := rows[2].ByteLength + rows[3].ByteLength
	if err := e.store.SetTopicConfigs(context.Background(), "sized", map[string]string{"retention.bytes": fmt.Sprint(limit)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(now)
	e.run(t)
	if s := e.startOffset(t, "sized"); s != rows[2].BaseOffset {
		t.Fatalf("start offset %d, want %d", s, rows[2].BaseOffset)
	}
	if got := e.indexRows(t, tp); len(got) != 2 {
		t.Fatalf("%d rows left, want 2", len(got))
	}

	// DeleteRecords into the middle of the last row: the row below goes,
	// the one holding the new start stays.
	tp2 := e.createTopic(t, "deleted", nil)
	for range 3 {
		e.produceRound(t, "deleted", 10, now)
	}
	if _, err := e.adm.DeleteRecords(context.Background(), kadm.Offsets{"deleted": {0: {Topic: "deleted", Partition: 0, At: 25}}}); err != nil {
		t.Fatal(err)
	}
	e.run(t)
	got := e.indexRows(t, tp2)
	if len(got) != 1 || got[0].BaseOffset != 20 {
		t.Fatalf("rows after DeleteRecords cleanup: %+v", got)
	}
	if s := e.startOffset(t, "deleted"); s != 25 {
		t.Fatalf("start offset %d, want 25", s)
	}
	// 2+2 objects marked, one for each removed row; past the grace period
	// only the two live rows' objects remain.
	e.clock.Set(now.Add(2 * grace))
	e.run(t)
	if n := e.bucketObjects(t); n != 3 {
		t.Fatalf("%d objects in MinIO, want 3", n)
	}
}

// abortedTxn produces n records with timestamp ts in a transaction of
// cl's and aborts it.
func (e *env) abortedTxn(t *testing.T, cl *kgo.Client, topic string, n int, ts time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "aborted%d", i), Timestamp: ts}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
}

// Retention drops the aborted transaction index below the new log start
// with the rows, as Kafka deletes a segment's transaction index with it,
// and keeps the entries whose markers are still in the log.
func TestRetentionDropsAbortedIndex(t *testing.T) {
	e := newEnv(t)
	tp := e.createTopic(t, "aborts", map[string]*string{"retention.ms": ptr("2000")})
	txn, err := kgo.NewClient(kgo.SeedBrokers(e.c.Addr), kgo.ProducerLinger(0), kgo.TransactionalID("retained"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(txn.Close)
	t0 := time.Now().Truncate(time.Millisecond)
	e.abortedTxn(t, txn, "aborts", 5, t0)
	// The second transaction's records are young; its marker, written
	// now, is as old as the first one's.
	e.abortedTxn(t, txn, "aborts", 5, t0.Add(10*time.Second))
	e.produceRound(t, "aborts", 5, t0.Add(10*time.Second))
	aborted := func() []metadata.AbortedTxn {
		t.Helper()
		ab, err := e.store.AbortedTxns(context.Background(), tp.ID, 0, 0, 1<<62)
		if err != nil {
			t.Fatal(err)
		}
		return ab
	}
	before := aborted()
	if len(before) != 2 {
		t.Fatalf("aborted index before retention: %+v", before)
	}
	e.clock.Set(t0.Add(5 * time.Second))
	e.run(t)
	start := e.startOffset(t, "aborts")
	if start <= before[0].LastOffset || start > before[1].FirstOffset {
		t.Fatalf("start offset %d, want past the first marker %d and up to the second transaction %d", start, before[0].LastOffset, before[1].FirstOffset)
	}
	if after := aborted(); len(after) != 1 || after[0] != before[1] {
		t.Fatalf("aborted index after retention: %+v, want %+v", after, before[1:])
	}
	// Everything expires: nothing of the index is left.
	e.clock.Set(t0.Add(time.Hour))
	e.run(t)
	if after := aborted(); len(after) != 0 {
		t.Fatalf("aborted index with the log empty: %+v", after)
	}
}
