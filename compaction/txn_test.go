package compaction

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// transactional returns a transactional producer on e's caudal.
func (e *env) transactional(t *testing.T, id string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.c.Addr), kgo.ProducerLinger(0), kgo.TransactionalID(id),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// txn produces recs in a transaction of cl's, ended as end says; with end
// nil it is left open.
func (e *env) txn(t *testing.T, cl *kgo.Client, end *kgo.TransactionEndTry, recs ...*kgo.Record) {
	t.Helper()
	ctx := context.Background()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if end != nil {
		e.endTxn(t, cl, *end)
	}
}

// endTxn ends cl's open transaction.
func (e *env) endTxn(t *testing.T, cl *kgo.Client, end kgo.TransactionEndTry) {
	t.Helper()
	if err := cl.EndTransaction(context.Background(), end); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	e.catchUp()
}

var (
	commitTxn = kgo.TryCommit
	abortTxn  = kgo.TryAbort
)

func rec(topic, key, value string) *kgo.Record {
	return &kgo.Record{Topic: topic, Key: []byte(key), Value: []byte(value)}
}

// storedBatch is one batch as the partition's rows hold it, offsets
// written in.
type storedBatch struct {
	h   segments.BatchHeader
	raw []byte
}

func (e *env) storedBatches(t *testing.T, tp metadata.Topic) []storedBatch {
	t.Helper()
	ctx := context.Background()
	rows, err := e.comp.partitionRows(ctx, tp, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []storedBatch
	for _, r := range rows {
		b, err := e.comp.readRow(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		spans, err := rowBatches(r, b)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range spans {
			raw := b[s.Off : s.Off+s.Len]
			h, err := segments.ParseBatchHeader(raw)
			if err != nil {
				t.Fatal(err)
			}
			h.BaseOffset = s.BaseOffset
			out = append(out, storedBatch{h, raw})
		}
	}
	return out
}

// marker returns the stored marker at offset, if any.
func (e *env) marker(t *testing.T, tp metadata.Topic, offset int64) (storedBatch, bool) {
	t.Helper()
	for _, b := range e.storedBatches(t, tp) {
		if b.h.Control() && b.h.BaseOffset == offset {
			return b, true
		}
	}
	return storedBatch{}, false
}

// consume reads the topic from the start with a consumer of iso until it
// gets the record with key last and value end, and returns each key's
// values in the order read.
func (e *env) consume(t *testing.T, topic string, iso kgo.IsolationLevel, last, end string) map[string][]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.c.Addr), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(iso),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := map[string][]string{}
	for done := false; !done; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("%v: no record %s=%s: read %v", err, last, end, got)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			got[string(r.Key)] = append(got[string(r.Key)], string(r.Value))
			done = done || string(r.Key) == last && string(r.Value) == end
		})
	}
	return got
}

// librdkafkaConsumer reads a topic's partition 0 from the start with
// confluent_kafka (librdkafka) at an isolation level until it gets the
// record with key argv[4] and value argv[5], printing each record.
const librdkafkaConsumer = `
import sys
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

bootstrap, topic, isolation, last, end = sys.argv[1:6]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction-test", "enable.auto.commit": False,
              "isolation.level": isolation})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
for _ in range(30):
    for m in c.consume(num_messages=1000, timeout=1.0):
        if m.error():
            sys.exit("consume: %s" % m.error())
        k, v = m.key().decode(), m.value().decode()
        print("C %s %s" % (k, v), flush=True)
        if k == last and v == end:
            c.close()
            sys.exit(0)
sys.exit("no record %s=%s" % (last, end))
`

// consumeLibrdkafka is consume with librdkafka, through Debian's
// /usr/bin/python3 and its confluent_kafka.
func (e *env) consumeLibrdkafka(t *testing.T, topic, isolation, last, end string) map[string][]string {
	t.Helper()
	script := filepath.Join(t.TempDir(), "consume.py")
	if err := os.WriteFile(script, []byte(librdkafkaConsumer), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", script, e.c.Addr, topic, isolation, last, end).CombinedOutput()
	if err != nil {
		t.Fatalf("confluent_kafka %s consumer: %v\n%s", isolation, err, out)
	}
	got := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "C" {
			got[f[1]] = append(got[f[1]], f[2])
		}
	}
	return got
}

// TestKeyCompactionTransactions compacts a partition holding committed,
// aborted and open transactions over three passes and checks, with
// read_committed and read_uncommitted consumers of kgo and librdkafka, that aborted records
// never come back as committed, that committed transactional records keep
// their latest values and their producer, and that markers stay until
// their transaction's records are gone and delete.retention.ms has passed
// since, their aborted index entry going with them.
func TestKeyCompactionTransactions(t *testing.T) {
	e := newEnv(t, testenv.Cloud)
	const topic = "txn-compacted"
	tp := e.createTopic(t, topic, 1, map[string]*string{"cleanup.policy": ptr("compact"), "delete.retention.ms": ptr("1000")})
	ctx := context.Background()
	a, b := e.transactional(t, "compact-a"), e.transactional(t, "compact-b")
	e.txn(t, a, &commitTxn, rec(topic, "a", "committed1"), rec(topic, "b", "committed1"))
	e.txn(t, a, &abortTxn, rec(topic, "a", "aborted2"), rec(topic, "c", "aborted2"))
	e.produce(t, rec(topic, "b", "plain3"))
	e.txn(t, a, &commitTxn, rec(topic, "d", "committed4"), rec(topic, "d", "committed4b"))
	e.txn(t, b, nil, rec(topic, "a", "open5"))
	e.produce(t, rec(topic, "e", "plain6"))
	e.produce(t, rec(topic, "end", "0"))
	aborted := func() []metadata.AbortedTxn {
		t.Helper()
		ab, err := e.store.AbortedTxns(ctx, tp.ID, 0, 0, 1<<62)
		if err != nil {
			t.Fatal(err)
		}
		return ab
	}
	abortA := aborted()
	if len(abortA) != 1 {
		t.Fatalf("aborted index: %+v", abortA)
	}
	st, err := e.store.Partition(ctx, tp.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	lso := st.LastStableOffset
	pol := e.comp.c.Broker.Policy(tp.Configs)
	compact := func(pass string) KeyResult {
		t.Helper()
		res, err := e.comp.CompactKeys(ctx, tp, 0, pol)
		if err != nil || res.RowsIn == 0 {
			t.Fatalf("%s: %+v %v", pass, res, err)
		}
		return res
	}
	// want checks what both kinds of consumer read of the keys given, up
	// to the record "end" with value end (read_committed up to d's last
	// value while b's transaction is open).
	want := func(pass, end string, committed, uncommitted map[string][]string) {
		t.Helper()
		for iso, w := range map[string]map[string][]string{"read_committed": committed, "read_uncommitted": uncommitted} {
			level, last, value := kgo.ReadUncommitted(), "end", end
			if iso == "read_committed" {
				level = kgo.ReadCommitted()
				if end == "0" {
					last, value = "d", "committed4b"
				}
			}
			for client, got := range map[string]map[string][]string{
				"kgo":        e.consume(t, topic, level, last, value),
				"librdkafka": e.consumeLibrdkafka(t, topic, iso, last, value),
			} {
				for k, vs := range w {
					if fmt.Sprint(got[k]) != fmt.Sprint(vs) {
						t.Errorf("%s: %s %s consumer read key %s as %q, want %q", pass, client, iso, k, got[k], vs)
					}
				}
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}

	// Pass 1 stops below the open transaction: its record stays, the
	// aborted ones go, and every marker stays (their records were there).
	compact("pass 1")
	rows, err := e.comp.partitionRows(ctx, tp, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Absolute != (r.LastOffset < lso) {
			t.Fatalf("pass 1: row %d-%d absolute %v with the last stable offset at %d", r.BaseOffset, r.LastOffset, r.Absolute, lso)
		}
	}
	for _, sb := range e.storedBatches(t, tp) {
		if sb.h.BaseOffset+int64(sb.h.LastOffsetDelta) >= lso {
			continue
		}
		if !sb.h.Control() && bytes.Contains(sb.raw, []byte("aborted2")) {
			t.Fatalf("pass 1: aborted records kept in the batch at %d", sb.h.BaseOffset)
		}
		if bytes.Contains(sb.raw, []byte("committed1")) && (!sb.h.Transactional() || sb.h.ProducerID != abortA[0].ProducerID) {
			t.Fatalf("pass 1: committed records lost their transaction: %+v", sb.h)
		}
	}
	markers := 0
	for _, sb := range e.storedBatches(t, tp) {
		if sb.h.Control() {
			markers++
		}
	}
	if markers != 3 {
		t.Fatalf("pass 1: %d markers, want 3 (the open transaction has none yet)", markers)
	}
	if ab := aborted(); len(ab) != 1 || ab[0] != abortA[0] {
		t.Fatalf("pass 1: aborted index %+v, want %+v", ab, abortA)
	}
	want("pass 1", "0",
		map[string][]string{"a": {"committed1"}, "b": {"plain3"}, "c": nil, "d": {"committed4b"}},
		map[string][]string{"a": {"committed1", "open5"}, "b": {"plain3"}, "c": nil, "d": {"committed4b"}, "e": {"plain6"}})

	// Pass 2, with b's transaction aborted: its record goes; the first
	// ABORT marker, its records gone, is stamped with a horizon of
	// delete.retention.ms; the others stay as they were.
	e.endTxn(t, b, abortTxn)
	filler := func(end string) {
		t.Helper()
		// Enough rewritten keys for the log to be dirty enough to
		// compact: compacted batches are uncompressed.
		for range 4 {
			var recs []*kgo.Record
			for k := range 50 {
				recs = append(recs, rec(topic, fmt.Sprintf("f%02d", k), end))
			}
			e.produce(t, recs...)
		}
		e.produce(t, rec(topic, "end", end))
	}
	filler("2")
	if ab := aborted(); len(ab) != 2 {
		t.Fatalf("aborted index after b's abort: %+v", ab)
	}
	abortB := aborted()[1]
	compact("pass 2")
	stamped, ok := e.marker(t, tp, abortA[0].LastOffset)
	if now := e.now.Load(); !ok || deleteHorizon(stamped.h) != now+1000 {
		t.Fatalf("pass 2: marker at %d: %v %+v, want a delete horizon of %d", abortA[0].LastOffset, ok, stamped.h, now+1000)
	}
	if held, ok := e.marker(t, tp, abortB.LastOffset); !ok || deleteHorizon(held.h) != 0 {
		t.Fatalf("pass 2: b's marker at %d: %v %+v, want it held by its records", abortB.LastOffset, ok, held.h)
	}
	want("pass 2", "2",
		map[string][]string{"a": {"committed1"}, "b": {"plain3"}, "c": nil, "d": {"committed4b"}, "e": {"plain6"}},
		map[string][]string{"a": {"committed1"}, "b": {"plain3"}, "c": nil, "d": {"committed4b"}, "e": {"plain6"}})

	// Pass 3, past the horizon, with a written again: the first ABORT
	// marker goes with its index entry; b's is stamped; the first
	// COMMIT marker is held by the record this pass removes.
	e.advance(2 * time.Second)
	e.produce(t, rec(topic, "a", "plain7"))
	filler("3")
	res := compact("pass 3")
	if res.MarkersDropped != 1 {
		t.Fatalf("pass 3: %+v, want one marker dropped", res)
	}
	if _, ok := e.marker(t, tp, abortA[0].LastOffset); ok {
		t.Fatalf("pass 3: marker at %d kept past its horizon", abortA[0].LastOffset)
	}
	if ab := aborted(); len(ab) != 1 || ab[0] != abortB {
		t.Fatalf("pass 3: aborted index %+v, want %+v", ab, abortB)
	}
	if m, ok := e.marker(t, tp, abortB.LastOffset); !ok || deleteHorizon(m.h) != e.now.Load()+1000 {
		t.Fatalf("pass 3: b's marker: %v %+v", ok, m.h)
	}
	firstCommit := false
	for _, sb := range e.storedBatches(t, tp) {
		firstCommit = firstCommit || sb.h.Control() && sb.h.BaseOffset < abortA[0].LastOffset
	}
	if !firstCommit {
		t.Fatal("pass 3: the first COMMIT marker went in the pass that removed its last record")
	}
	want("pass 3", "3",
		map[string][]string{"a": {"plain7"}, "b": {"plain3"}, "c": nil, "d": {"committed4b"}, "e": {"plain6"}},
		map[string][]string{"a": {"plain7"}, "b": {"plain3"}, "c": nil, "d": {"committed4b"}, "e": {"plain6"}})
}

// TestMergeKeepsTransactions merges objects holding transactional batches
// and markers: each batch comes out byte for byte, and read_committed
// consumers still drop exactly the aborted records.
func TestMergeKeepsTransactions(t *testing.T) {
	e := newEnv(t, testenv.Cloud)
	const topic = "txn-merged"
	tp := e.createTopic(t, topic, 1, nil)
	cl := e.transactional(t, "merge")
	e.txn(t, cl, &commitTxn, rec(topic, "k", "committed1"), rec(topic, "k", "committed2"))
	e.txn(t, cl, &abortTxn, rec(topic, "k", "aborted3"))
	e.produce(t, rec(topic, "k", "plain4"))
	e.txn(t, cl, &commitTxn, rec(topic, "k", "committed5"))
	e.produce(t, rec(topic, "end", "0"))
	before := e.storedBatches(t, tp)
	rows := func() int {
		t.Helper()
		rs, err := e.comp.partitionRows(context.Background(), tp, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(rs)
	}
	rowsBefore := rows()
	res, err := e.comp.MergePartition(context.Background(), tp, 0)
	if err != nil || res.Groups != 1 || res.RowsMerged != rowsBefore {
		t.Fatalf("merge of %d rows: %+v %v", rowsBefore, res, err)
	}
	if n := rows(); n != 1 {
		t.Fatalf("%d rows after the merge", n)
	}
	after := e.storedBatches(t, tp)
	if len(after) != len(before) {
		t.Fatalf("%d batches after the merge, %d before", len(after), len(before))
	}
	controls := 0
	for i := range before {
		if !bytes.Equal(before[i].raw, after[i].raw) {
			t.Fatalf("batch %d changed in the merge:\n%x\n%x", i, before[i].raw, after[i].raw)
		}
		if after[i].h.Control() {
			controls++
		}
	}
	if controls != 3 {
		t.Fatalf("%d markers merged, want 3", controls)
	}
	got := e.consume(t, topic, kgo.ReadCommitted(), "end", "0")
	if fmt.Sprint(got["k"]) != "[committed1 committed2 plain4 committed5]" {
		t.Fatalf("read_committed after the merge: %q", got["k"])
	}
	got = e.consume(t, topic, kgo.ReadUncommitted(), "end", "0")
	if fmt.Sprint(got["k"]) != "[committed1 committed2 aborted3 plain4 committed5]" {
		t.Fatalf("read_uncommitted after the merge: %q", got["k"])
	}
}
