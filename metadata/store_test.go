package metadata_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testclock"
	"github.com/google/uuid"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/test/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// env is one fresh database of one backend.
type env struct {
	url   string
	clock *testclock.Clock
	s     metadata.Store
}

func (e *env) open(t *testing.T) metadata.Store {
	t.Helper()
	s, err := metadata.Open(context.Background(), e.url, metadata.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatalf("open %s: %v", e.url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var backends = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "metadata.db") }},
	{"postgres", func(t *testing.T) string { return testenv.Postgres(t) }},
}

// eachBackend runs fn against a fresh store on SQLite and on PostgreSQL.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := &env{url: b.url(t), clock: testclock.New(time.UnixMilli(1_700_000_000_000))}
			e.s = e.open(t)
			fn(t, e)
		})
	}
}

var ctx = context.Background()

var objectSeq atomic.Int64

func newKey() string { return fmt.Sprintf("obj-%08d", objectSeq.Add(1)) }

func plain(off, length, records, ts int64) metadata.BatchAppend {
	return metadata.BatchAppend{ByteOffset: off, ByteLength: length, Records: records, MaxTimestamp: ts, ProducerID: -1}
}

func idem(pid int64, epoch int16, seq int32, records int64) metadata.BatchAppend {
	return metadata.BatchAppend{ByteLength: 100, Records: records, MaxTimestamp: 1, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq}
}

func mustTopic(t *testing.T, s metadata.Store, name string, parts int32) metadata.Topic {
	t.Helper()
	tp, err := s.CreateTopic(ctx, metadata.TopicSpec{Name: name, Partitions: parts, ReplicationFactor: 3})
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	return tp
}

func mustCommit(t *testing.T, s metadata.Store, c metadata.ObjectCommit) metadata.CommitResult {
	t.Helper()
	if c.Key == "" {
		c.Key = newKey()
	}
	res, err := s.CommitObject(ctx, c)
	if err != nil {
		t.Fatalf("commit %s: %v", c.Key, err)
	}
	if len(res.Runs) != len(c.Runs) {
		t.Fatalf("commit %s: %d result runs for %d runs", c.Key, len(res.Runs), len(c.Runs))
	}
	return res
}

// commitOne commits one object of one run on one partition.
func commitOne(t *testing.T, s metadata.Store, topic uuid.UUID, part int32, bs ...metadata.BatchAppend) []metadata.BatchResult {
	t.Helper()
	return mustCommit(t, s, metadata.ObjectCommit{Size: 1000, Runs: []metadata.PartitionRun{{Topic: topic, Partition: part, Batches: bs}}}).Runs[0]
}

func index(t *testing.T, s metadata.Store, topic uuid.UUID, part int32) []metadata.IndexEntry {
	t.Helper()
	es, err := s.Index(ctx, topic, part, 0, 1_000_000)
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	return es
}

func nextOffset(t *testing.T, s metadata.Store, topic uuid.UUID, part int32) int64 {
	t.Helper()
	p, err := s.Partition(ctx, topic, part)
	if err != nil {
		t.Fatalf("partition %d: %v", part, err)
	}
	return p.NextOffset
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func TestTopics(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		cfg := map[string]string{"retention.ms": "1000", "cleanup.policy": "compact"}
		a, err := s.CreateTopic(ctx, metadata.TopicSpec{Name: "a", Partitions: 3, ReplicationFactor: 3, Configs: cfg})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID.Version() != 4 || a.Partitions != 3 || a.ReplicationFactor != 3 || !a.CreatedAt.Equal(e.clock.Now()) {
			t.Fatalf("created %+v", a)
		}
		_, err = s.CreateTopic(ctx, metadata.TopicSpec{Name: "a", Partitions: 1})
		wantErr(t, err, metadata.ErrTopicExists)
		_, err = s.CreateTopic(ctx, metadata.TopicSpec{Name: "zero", Partitions: 0})
		wantErr(t, err, metadata.ErrInvalidPartitions)
		mustTopic(t, s, "b", 1)

		got, err := s.Topic(ctx, "a")
		if err != nil || got.ID != a.ID || got.Configs["retention.ms"] != "1000" || got.Configs["cleanup.policy"] != "compact" ||
			len(got.Configs) != 2 || !got.CreatedAt.Equal(a.CreatedAt) || got.ReplicationFactor != 3 {
			t.Fatalf("Topic(a) = %+v, %v", got, err)
		}
		if byID, err := s.TopicByID(ctx, a.ID); err != nil || byID.Name != "a" {
			t.Fatalf("TopicByID = %+v, %v", byID, err)
		}
		_, err = s.Topic(ctx, "nope")
		wantErr(t, err, metadata.ErrUnknownTopic)
		_, err = s.TopicByID(ctx, uuid.New())
		wantErr(t, err, metadata.ErrUnknownTopic)
		ts, err := s.Topics(ctx)
		if err != nil || len(ts) != 2 || ts[0].Name != "a" || ts[1].Name != "b" {
			t.Fatalf("Topics = %+v, %v", ts, err)
		}

		if err := s.SetTopicConfigs(ctx, "a", map[string]string{"retention.bytes": "5"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Topic(ctx, "a"); len(got.Configs) != 1 || got.Configs["retention.bytes"] != "5" {
			t.Fatalf("configs after set: %v", got.Configs)
		}
		wantErr(t, s.SetTopicConfigs(ctx, "nope", nil), metadata.ErrUnknownTopic)

		ps, err := s.Partitions(ctx, a.ID)
		if err != nil || len(ps) != 3 || ps[2].Partition != 2 || ps[2].NextOffset != 0 || ps[2].LogStartOffset != 0 {
			t.Fatalf("Partitions = %+v, %v", ps, err)
		}
		_, err = s.Partition(ctx, a.ID, 3)
		wantErr(t, err, metadata.ErrUnknownPartition)

		// Delete removes partitions, index rows and producer state.
		commitOne(t, s, a.ID, 0, plain(0, 10, 1, 1), idem(7, 0, 0, 1))
		if err := s.DeleteTopic(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.DeleteTopic(ctx, "a"), metadata.ErrUnknownTopic)
		_, err = s.Topic(ctx, "a")
		wantErr(t, err, metadata.ErrUnknownTopic)
		_, err = s.Partition(ctx, a.ID, 0)
		wantErr(t, err, metadata.ErrUnknownPartition)
		_, err = s.Partitions(ctx, a.ID)
		wantErr(t, err, metadata.ErrUnknownTopic)
		if es := index(t, s, a.ID, 0); len(es) != 0 {
			t.Fatalf("index rows survive delete: %+v", es)
		}
		// The topic's object stays for the worker.
		if n := countObjects(t, s); n != 1 {
			t.Fatalf("%d objects after delete, want 1", n)
		}
		// The name can be reused; the new topic is a different one.
		a2 := mustTopic(t, s, "a", 1)
		if a2.ID == a.ID || nextOffset(t, s, a2.ID, 0) != 0 {
			t.Fatal("recreated topic is not fresh")
		}
	})
}

func countObjects(t *testing.T, s metadata.Store) int {
	n := 0
	if err := s.Objects(ctx, func(metadata.Object) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreatePartitions(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 2)
		commitOne(t, s, a.ID, 1, plain(0, 10, 4, 1))
		if err := s.CreatePartitions(ctx, "a", 5); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.CreatePartitions(ctx, "a", 5), metadata.ErrInvalidPartitions)
		wantErr(t, s.CreatePartitions(ctx, "a", 1), metadata.ErrInvalidPartitions)
		wantErr(t, s.CreatePartitions(ctx, "nope", 9), metadata.ErrUnknownTopic)
		got, _ := s.Topic(ctx, "a")
		ps, err := s.Partitions(ctx, a.ID)
		if got.Partitions != 5 || err != nil || len(ps) != 5 || ps[1].NextOffset != 4 || ps[4].NextOffset != 0 {
			t.Fatalf("after CreatePartitions: topic %+v, partitions %+v, %v", got, ps, err)
		}
		if r := commitOne(t, s, a.ID, 4, plain(0, 10, 2, 1)); r[0].BaseOffset != 0 || r[0].Err != nil {
			t.Fatalf("commit to new partition: %+v", r)
		}
	})
}

func TestCommitAssignsOffsets(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a, b := mustTopic(t, s, "a", 3), mustTopic(t, s, "b", 2)
		c := metadata.ObjectCommit{Key: newKey(), Size: 1000, Runs: []metadata.PartitionRun{
			{Topic: a.ID, Partition: 2, Batches: []metadata.BatchAppend{plain(0, 100, 3, 50), plain(100, 50, 2, 70), plain(150, 10, 1, 60)}},
			{Topic: b.ID, Partition: 0, Batches: []metadata.BatchAppend{plain(160, 40, 5, 10)}},
			{Topic: a.ID, Partition: 0, Batches: []metadata.BatchAppend{plain(200, 800, 10, 20)}},
		}}
		r := mustCommit(t, s, c)
		want := [][]int64{{0, 3, 5}, {0}, {0}}
		for i := range want {
			for j, w := range want[i] {
				if g := r.Runs[i][j]; g.BaseOffset != w || g.Err != nil || g.Duplicate || g.LogStartOffset != 0 {
					t.Fatalf("run %d batch %d: %+v, want base %d", i, j, g, w)
				}
			}
		}
		r2 := mustCommit(t, s, metadata.ObjectCommit{Size: 10, Runs: []metadata.PartitionRun{
			{Topic: a.ID, Partition: 2, Batches: []metadata.BatchAppend{plain(0, 10, 4, 1)}}}})
		if r2.Runs[0][0].BaseOffset != 6 {
			t.Fatalf("second commit base %d, want 6", r2.Runs[0][0].BaseOffset)
		}
		for _, w := range []struct {
			topic      uuid.UUID
			part       int32
			next, rows int64
		}{{a.ID, 0, 10, 1}, {a.ID, 1, 0, 0}, {a.ID, 2, 10, 2}, {b.ID, 0, 5, 1}, {b.ID, 1, 0, 0}} {
			if n := nextOffset(t, s, w.topic, w.part); n != w.next {
				t.Fatalf("%s/%d next offset %d, want %d", w.topic, w.part, n, w.next)
			}
			if es := index(t, s, w.topic, w.part); int64(len(es)) != w.rows {
				t.Fatalf("%s/%d has %d index rows, want %d", w.topic, w.part, len(es), w.rows)
			}
		}
		es := index(t, s, a.ID, 2)
		wantEntry := metadata.IndexEntry{Topic: a.ID, Partition: 2, BaseOffset: 0, LastOffset: 5, ObjectKey: c.Key,
			ByteOffset: 0, ByteLength: 160, MaxTimestamp: 70, ObjectSize: 1000}
		if es[0] != wantEntry {
			t.Fatalf("index row %+v, want %+v", es[0], wantEntry)
		}
		if es := index(t, s, b.ID, 0); es[0].ByteOffset != 160 || es[0].ByteLength != 40 || es[0].LastOffset != 4 {
			t.Fatalf("b/0 row %+v", es[0])
		}
		o, err := s.Object(ctx, c.Key)
		if err != nil || o.State != metadata.ObjectLive || o.Size != 1000 || !o.CreatedAt.Equal(e.clock.Now()) || !o.DeleteAfter.IsZero() {
			t.Fatalf("object %+v, %v", o, err)
		}
	})
}

func TestIndexQueries(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 2)
		// 10 objects of 10 offsets each; timestamps rise except a tie at the end.
		ts := []int64{100, 200, 300, 250, 500, 600, 700, 800, 900, 900}
		for _, x := range ts {
			commitOne(t, s, a.ID, 0, plain(0, 10, 4, x-5), plain(10, 10, 6, x))
		}
		es, err := s.Index(ctx, a.ID, 0, 25, 3)
		if err != nil || len(es) != 3 || es[0].BaseOffset != 20 || es[1].BaseOffset != 30 || es[2].BaseOffset != 40 {
			t.Fatalf("Index(25, 3) = %+v, %v", es, err)
		}
		if es, _ := s.Index(ctx, a.ID, 0, 99, 10); len(es) != 1 || es[0].LastOffset != 99 {
			t.Fatalf("Index(99) = %+v", es)
		}
		if es, _ := s.Index(ctx, a.ID, 0, 100, 10); len(es) != 0 {
			t.Fatalf("Index(100) = %+v", es)
		}
		if es, _ := s.Index(ctx, a.ID, 1, 0, 10); len(es) != 0 {
			t.Fatalf("Index of empty partition = %+v", es)
		}
		for _, c := range []struct {
			ts   int64
			base int64
			ok   bool
		}{{0, 0, true}, {100, 0, true}, {101, 10, true}, {260, 20, true}, {300, 20, true}, {301, 40, true}, {900, 80, true}, {901, 0, false}} {
			e, ok, err := s.IndexByTimestamp(ctx, a.ID, 0, c.ts)
			if err != nil || ok != c.ok || (ok && e.BaseOffset != c.base) {
				t.Fatalf("IndexByTimestamp(%d) = %+v %v %v, want base %d ok %v", c.ts, e, ok, err, c.base, c.ok)
			}
		}
		m, ok, err := s.IndexMaxTimestamp(ctx, a.ID, 0)
		if err != nil || !ok || m.BaseOffset != 80 || m.MaxTimestamp != 900 {
			t.Fatalf("IndexMaxTimestamp = %+v %v %v", m, ok, err)
		}
		if _, ok, err := s.IndexMaxTimestamp(ctx, a.ID, 1); ok || err != nil {
			t.Fatalf("IndexMaxTimestamp of empty partition: %v %v", ok, err)
		}
		if _, ok, err := s.IndexByTimestamp(ctx, a.ID, 1, 0); ok || err != nil {
			t.Fatalf("IndexByTimestamp of empty partition: %v %v", ok, err)
		}
	})
}

// TestIndexAcrossGaps: compaction leaves rows that end before the next one
// starts, and Index, ReplaceIndex and TrimLog find a partition's rows from
// an offset through the row starting at or before it, which may end first.
func TestIndexAcrossGaps(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "gaps", 1)
		for range 4 {
			commitOne(t, s, a.ID, 0, plain(0, 10, 5, 1)) // rows [0,4] [5,9] [10,14] [15,19]
		}
		old := index(t, s, a.ID, 0)[1:3]
		obj := metadata.Object{Key: newKey(), Size: 20}
		// [5,9] and [10,14] compacted to [6,6] and [12,13].
		if err := s.ReplaceIndex(ctx, metadata.IndexReplacement{Topic: a.ID, Partition: 0, Old: old, Objects: []metadata.Object{obj},
			New: []metadata.IndexEntry{{BaseOffset: 6, LastOffset: 6, ObjectKey: obj.Key, ByteLength: 10}, {BaseOffset: 12, LastOffset: 13, ObjectKey: obj.Key, ByteOffset: 10, ByteLength: 10}},
		}, e.clock.Now()); err != nil {
			t.Fatalf("replace: %v", err)
		}
		for _, c := range []struct {
			from  int64
			bases []int64
		}{{0, []int64{0, 6, 12, 15}}, {4, []int64{0, 6, 12, 15}}, {5, []int64{6, 12, 15}}, {6, []int64{6, 12, 15}},
			{7, []int64{12, 15}}, {11, []int64{12, 15}}, {13, []int64{12, 15}}, {14, []int64{15}}, {19, []int64{15}}, {20, nil}} {
			es, err := s.Index(ctx, a.ID, 0, c.from, 10)
			var bases []int64
			for _, e := range es {
				bases = append(bases, e.BaseOffset)
			}
			if err != nil || !slices.Equal(bases, c.bases) {
				t.Errorf("Index(%d) starts %v, %v; want %v", c.from, bases, err, c.bases)
			}
		}
		// A replacement planned on [6,6] [12,13] sees them both from 6.
		cur := index(t, s, a.ID, 0)[1:3]
		obj2 := metadata.Object{Key: newKey(), Size: 10}
		if err := s.ReplaceIndex(ctx, metadata.IndexReplacement{Topic: a.ID, Partition: 0, Old: cur, Objects: []metadata.Object{obj2},
			New: []metadata.IndexEntry{{BaseOffset: 6, LastOffset: 13, ObjectKey: obj2.Key, ByteLength: 10}},
		}, e.clock.Now()); err != nil {
			t.Fatalf("replace again: %v", err)
		}
		res, err := s.TrimLog(ctx, a.ID, 0, 14, e.clock.Now())
		if err != nil || res.RemovedRows != 2 {
			t.Fatalf("TrimLog(14) removed %d rows, %v; want [0,4] and [6,13]", res.RemovedRows, err)
		}
		if es := index(t, s, a.ID, 0); len(es) != 1 || es[0].BaseOffset != 15 {
			t.Fatalf("after trimming to 14: %+v", es)
		}
	})
}

// TestReplaceIndexOutcomes: a replacement records its objects and marks
// those it left unreferenced, refuses rows that changed since it was
// planned, and refuses a partition that is gone.
func TestReplaceIndexOutcomes(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "swap", 1)
		commitOne(t, s, a.ID, 0, plain(0, 10, 5, 1))
		commitOne(t, s, a.ID, 0, plain(0, 10, 5, 1)) // rows [0,4] and [5,9], an object each
		old := index(t, s, a.ID, 0)
		obj := metadata.Object{Key: newKey(), Size: 20}
		swap := metadata.IndexReplacement{Topic: a.ID, Partition: 0, Old: old, Objects: []metadata.Object{obj},
			New: []metadata.IndexEntry{{BaseOffset: 0, LastOffset: 9, ObjectKey: obj.Key, ByteLength: 20}}}
		if err := s.ReplaceIndex(ctx, swap, e.clock.Now()); err != nil {
			t.Fatalf("replace: %v", err)
		}
		objs, err := s.ObjectsByKey(ctx, []string{old[0].ObjectKey, old[1].ObjectKey, obj.Key})
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range map[string]metadata.ObjectState{old[0].ObjectKey: metadata.ObjectMarked, old[1].ObjectKey: metadata.ObjectMarked, obj.Key: metadata.ObjectLive} {
			if objs[k].State != want {
				t.Errorf("object %s is %q, want %q", k, objs[k].State, want)
			}
		}
		fresh := newKey() // a second swap planned on the rows replaced above
		swap.Objects[0].Key, swap.New[0].ObjectKey = fresh, fresh
		wantErr(t, s.ReplaceIndex(ctx, swap, e.clock.Now()), metadata.ErrConflict)
		if err := s.DeleteTopic(ctx, "swap"); err != nil {
			t.Fatal(err)
		}
		swap.Old = []metadata.IndexEntry{{Topic: a.ID, BaseOffset: 0, LastOffset: 9, ObjectKey: obj.Key, ByteLength: 20}}
		wantErr(t, s.ReplaceIndex(ctx, swap, e.clock.Now()), metadata.ErrUnknownPartition)
	})
}

// A merged object holds runs of several partitions; each partition's
// swap names it, the first records it, and none may revive it once it is
// no longer live.
func TestReplaceIndexMergedObject(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "packed", 3)
		for p := range int32(3) {
			commitOne(t, s, a.ID, p, plain(0, 10, 5, 1))
		}
		obj := metadata.Object{Key: newKey(), Size: 60, Merged: true}
		swap := func(p int32, o metadata.Object) metadata.IndexReplacement {
			return metadata.IndexReplacement{Topic: a.ID, Partition: p, Old: index(t, s, a.ID, p), Objects: []metadata.Object{o},
				New: []metadata.IndexEntry{{BaseOffset: 0, LastOffset: 4, ObjectKey: o.Key, ByteOffset: int64(p) * 20, ByteLength: 20}}}
		}
		for p := range int32(2) {
			if err := s.ReplaceIndex(ctx, swap(p, obj), e.clock.Now()); err != nil {
				t.Fatalf("swap of partition %d into the merged object: %v", p, err)
			}
		}
		got, err := s.Object(ctx, obj.Key)
		if err != nil || got.State != metadata.ObjectLive || !got.Merged || got.Size != 60 {
			t.Fatalf("merged object after two swaps: %+v, %v", got, err)
		}
		// Not merged: a second record of the same key fails, as before.
		plainObj := obj
		plainObj.Merged = false
		if err := s.ReplaceIndex(ctx, swap(2, plainObj), e.clock.Now()); err == nil {
			t.Fatal("an unmerged object recorded twice")
		}
		// Marked (its rows went), it takes no more.
		if err := s.MarkObjects(ctx, []string{obj.Key}, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		wantErr(t, s.ReplaceIndex(ctx, swap(2, obj), e.clock.Now()), metadata.ErrConflict)
		// Fenced by orphan GC before its first swap, neither.
		fenced := metadata.Object{Key: newKey(), Size: 60, Merged: true}
		if keys, err := s.ClaimOrphans(ctx, []string{fenced.Key}); err != nil || len(keys) != 1 {
			t.Fatalf("claim: %v %v", keys, err)
		}
		wantErr(t, s.ReplaceIndex(ctx, swap(2, fenced), e.clock.Now()), metadata.ErrConflict)
		if rows := index(t, s, a.ID, 2); len(rows) != 1 || rows[0].ObjectKey == obj.Key || rows[0].ObjectKey == fenced.Key {
			t.Fatalf("partition 2's rows after refused swaps: %+v", rows)
		}

		// The worker swaps an object's partitions in parallel: the first
		// records it, those racing it wait for it and find it.
		const n = 8
		b := mustTopic(t, s, "packed-parallel", n)
		for p := range int32(n) {
			commitOne(t, s, b.ID, p, plain(0, 10, 5, 1))
		}
		shared := metadata.Object{Key: newKey(), Size: 20 * n, Merged: true}
		errs := make(chan error, n)
		for p := range int32(n) {
			rep := metadata.IndexReplacement{Topic: b.ID, Partition: p, Old: index(t, s, b.ID, p), Objects: []metadata.Object{shared},
				New: []metadata.IndexEntry{{BaseOffset: 0, LastOffset: 4, ObjectKey: shared.Key, ByteOffset: int64(p) * 20, ByteLength: 20}}}
			go func() { errs <- s.ReplaceIndex(ctx, rep, e.clock.Now()) }()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Errorf("parallel swap into a merged object: %v", err)
			}
		}
	})
}

// A swap that adds a partition's run to a live merged object races a trim
// that removes the object's other rows: the trim must either see the new
// rows and keep the object, or mark it first and make the swap fail. A
// marked object that rows point at would be deleted under them.
func TestMergedObjectRacesTrim(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		for i := range 40 {
			a := mustTopic(t, s, fmt.Sprintf("race-%d", i), 2)
			commitOne(t, s, a.ID, 0, plain(0, 10, 5, 1))
			commitOne(t, s, a.ID, 1, plain(0, 10, 5, 1))
			obj := metadata.Object{Key: newKey(), Size: 40, Merged: true}
			swap := func(p int32) metadata.IndexReplacement {
				return metadata.IndexReplacement{Topic: a.ID, Partition: p, Old: index(t, s, a.ID, p), Objects: []metadata.Object{obj},
					New: []metadata.IndexEntry{{BaseOffset: 0, LastOffset: 4, ObjectKey: obj.Key, ByteOffset: int64(p) * 20, ByteLength: 20}}}
			}
			if err := s.ReplaceIndex(ctx, swap(0), e.clock.Now()); err != nil {
				t.Fatal(err)
			}
			second := swap(1)
			var wg sync.WaitGroup
			var swapErr, trimErr error
			start := make(chan struct{})
			wg.Go(func() { <-start; swapErr = s.ReplaceIndex(ctx, second, e.clock.Now()) })
			wg.Go(func() { <-start; _, trimErr = s.TrimLog(ctx, a.ID, 0, 5, e.clock.Now()) })
			close(start)
			wg.Wait()
			if trimErr != nil || (swapErr != nil && !errors.Is(swapErr, metadata.ErrConflict)) {
				t.Fatalf("round %d: trim %v, swap %v", i, trimErr, swapErr)
			}
			o, err := s.Object(ctx, obj.Key)
			if err != nil {
				t.Fatal(err)
			}
			rows := index(t, s, a.ID, 1)
			if pointed := len(rows) == 1 && rows[0].ObjectKey == obj.Key; pointed != (swapErr == nil) || pointed == (o.State == metadata.ObjectMarked) {
				t.Fatalf("round %d: swap err %v, partition 1's rows %+v, object %s", i, swapErr, rows, o.State)
			}
		}
	})
}

func TestIdempotentProducer(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 2)
		pid, err := s.AllocateProducerID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := commitOne(t, s, a.ID, 0, idem(pid, 0, 0, 3), idem(pid, 0, 3, 2)) // offsets 0, 3
		if r[0].BaseOffset != 0 || r[1].BaseOffset != 3 || r[0].Err != nil || r[1].Err != nil {
			t.Fatalf("first batches: %+v", r)
		}
		// A resend of both: duplicates with the original offsets, nothing indexed.
		r = commitOne(t, s, a.ID, 0, idem(pid, 0, 0, 3), idem(pid, 0, 3, 2))
		if !r[0].Duplicate || r[0].BaseOffset != 0 || !r[1].Duplicate || r[1].BaseOffset != 3 || r[0].Err != nil {
			t.Fatalf("duplicates: %+v", r)
		}
		if n, es := nextOffset(t, s, a.ID, 0), index(t, s, a.ID, 0); n != 5 || len(es) != 1 {
			t.Fatalf("after duplicates: next %d, %d index rows", n, len(es))
		}
		// Gap → out of order; nothing changes.
		r = commitOne(t, s, a.ID, 0, idem(pid, 0, 7, 1))
		wantErr(t, r[0].Err, metadata.ErrOutOfOrderSequence)
		// Same sequence, different length: not a duplicate.
		r = commitOne(t, s, a.ID, 0, idem(pid, 0, 3, 1))
		wantErr(t, r[0].Err, metadata.ErrOutOfOrderSequence)
		// In order.
		if r = commitOne(t, s, a.ID, 0, idem(pid, 0, 5, 1)); r[0].Err != nil || r[0].BaseOffset != 5 {
			t.Fatalf("in-order batch: %+v", r)
		}
		// The other partition has its own sequence, which may start
		// anywhere (KIP-360) and is then tracked.
		if r = commitOne(t, s, a.ID, 1, idem(pid, 0, 5, 1)); r[0].Err != nil {
			t.Fatalf("first batch of a partition at sequence 5: %+v", r)
		}
		r = commitOne(t, s, a.ID, 1, idem(pid, 0, 7, 1))
		wantErr(t, r[0].Err, metadata.ErrOutOfOrderSequence)
		// Only the last 5 batches are remembered.
		for seq := int32(6); seq < 11; seq++ {
			commitOne(t, s, a.ID, 0, idem(pid, 0, seq, 1))
		}
		r = commitOne(t, s, a.ID, 0, idem(pid, 0, 6, 1), idem(pid, 0, 5, 1))
		if !r[0].Duplicate || r[0].BaseOffset != 6 {
			t.Fatalf("5th-latest batch: %+v", r[0])
		}
		wantErr(t, r[1].Err, metadata.ErrOutOfOrderSequence)

		// A newer epoch must start at 0, then resets; the old epoch is fenced.
		r = commitOne(t, s, a.ID, 0, idem(pid, 1, 11, 1))
		wantErr(t, r[0].Err, metadata.ErrOutOfOrderSequence)
		if r = commitOne(t, s, a.ID, 0, idem(pid, 1, 0, 2)); r[0].Err != nil || r[0].BaseOffset != 11 {
			t.Fatalf("new epoch: %+v", r)
		}
		r = commitOne(t, s, a.ID, 0, idem(pid, 0, 11, 1))
		wantErr(t, r[0].Err, metadata.ErrInvalidProducerEpoch)
		if r = commitOne(t, s, a.ID, 0, idem(pid, 1, 2, 1)); r[0].Err != nil || r[0].BaseOffset != 13 {
			t.Fatalf("after reset: %+v", r)
		}

		// Sequence wrap-around after MaxInt32.
		pid2, _ := s.AllocateProducerID(ctx)
		if pid2 <= pid {
			t.Fatalf("producer ids not monotonic: %d then %d", pid, pid2)
		}
		commitOne(t, s, a.ID, 1, idem(pid2, 0, 0, 1))
		seq := int32(1)
		big := int64(math.MaxInt32) / 2 // two batches reach MaxInt32-ish
		r = commitOne(t, s, a.ID, 1, idem(pid2, 0, seq, big))
		seq = int32(int64(seq) + big)
		rest := int64(math.MaxInt32) - int64(seq) + 1 // ends exactly at MaxInt32
		r2 := commitOne(t, s, a.ID, 1, idem(pid2, 0, seq, rest))
		if r[0].Err != nil || r2[0].Err != nil {
			t.Fatalf("big batches: %+v %+v", r, r2)
		}
		// (0, 0) is still remembered as a duplicate; (0, 1) is the next batch.
		if r = commitOne(t, s, a.ID, 1, idem(pid2, 0, 0, 2)); r[0].Err != nil || r[0].Duplicate {
			t.Fatalf("sequence after MaxInt32 should wrap to 0: %+v", r)
		}
		// A batch that itself wraps: last sequence = base+records-1 mod 2^31.
		pid3, _ := s.AllocateProducerID(ctx)
		commitOne(t, s, a.ID, 1, idem(pid3, 0, 0, 1))
		commitOne(t, s, a.ID, 1, idem(pid3, 0, 1, int64(math.MaxInt32)-1)) // ends at MaxInt32-1
		commitOne(t, s, a.ID, 1, idem(pid3, 0, math.MaxInt32, 3))          // MaxInt32, 0, 1
		if r = commitOne(t, s, a.ID, 1, idem(pid3, 0, 2, 1)); r[0].Err != nil {
			t.Fatalf("after a wrapping batch: %+v", r)
		}
	})
}

// TestExpireProducers: producer state last written producer.id.expiration.ms
// ago or longer (by the store's clock) goes; the rest stays. An expired
// producer's next batch is judged as a new producer's: sequence 0 starts
// afresh, a later one is out of order, and a resend is no duplicate.
func TestExpireProducers(t *testing.T) {
	const maxAge = 24 * time.Hour
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 3)
		commitOne(t, s, a.ID, 0, idem(1, 0, 0, 1), idem(2, 0, 0, 1))
		commitOne(t, s, a.ID, 1, idem(2, 0, 0, 1))
		// More idle producers than one expiry transaction takes.
		var many []metadata.BatchAppend
		for pid := int64(100); pid < 1300; pid++ {
			many = append(many, idem(pid, 0, 0, 1))
		}
		commitOne(t, s, a.ID, 2, many...)
		e.clock.Add(maxAge / 2)
		commitOne(t, s, a.ID, 1, idem(2, 0, 1, 1)) // producer 2 stays active on partition 1
		commitOne(t, s, a.ID, 0, idem(3, 0, 0, 1))
		if n, err := s.ExpireProducers(ctx, maxAge); err != nil || n != 0 {
			t.Fatalf("expiry before any state is old enough removed %d rows: %v", n, err)
		}
		e.clock.Add(maxAge / 2) // the first writes are exactly maxAge old
		n, err := s.ExpireProducers(ctx, maxAge)
		if err != nil || n != 2+1200 {
			t.Fatalf("ExpireProducers = %d, %v; want %d rows", n, err, 2+1200)
		}

		for _, c := range []struct {
			name  string
			part  int32
			batch metadata.BatchAppend
			dup   bool
			err   error
		}{
			// Accepted, as Kafka 2.5+ does: librdkafka fails for good on
			// OUT_OF_ORDER_SEQUENCE_NUMBER here.
			{"expired producer continues its sequence", 0, idem(1, 0, 1, 1), false, nil},
			{"expired producer resends its batch", 0, idem(2, 0, 0, 1), false, nil},
			{"kept producer resends its batch", 1, idem(2, 0, 1, 1), true, nil},
			{"kept producer continues", 1, idem(2, 0, 2, 1), false, nil},
			{"younger producer resends its batch", 0, idem(3, 0, 0, 1), true, nil},
			{"one of many expired restarts at 0", 2, idem(700, 0, 0, 1), false, nil},
		} {
			r := commitOne(t, s, a.ID, c.part, c.batch)[0]
			if !errors.Is(r.Err, c.err) || r.Duplicate != c.dup {
				t.Errorf("%s: %+v; want duplicate %v, error %v", c.name, r, c.dup, c.err)
			}
		}
	})
}

func TestIdempotentBatchesInOneCommit(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 1)
		// Several batches of one producer in one commit apply in order,
		// including a duplicate of one written earlier in the same commit.
		r := commitOne(t, s, a.ID, 0, idem(1, 0, 0, 2), idem(1, 0, 2, 2), idem(1, 0, 2, 2), idem(1, 0, 4, 1))
		if r[0].BaseOffset != 0 || r[1].BaseOffset != 2 || !r[2].Duplicate || r[2].BaseOffset != 2 || r[3].BaseOffset != 4 {
			t.Fatalf("results %+v", r)
		}
	})
}

func TestSplitRuns(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 1)
		commitOne(t, s, a.ID, 0, idem(1, 0, 0, 1))
		// accepted, duplicate, accepted, rejected, accepted → three stretches.
		bs := []metadata.BatchAppend{plain(0, 10, 2, 5), idem(1, 0, 0, 1), plain(20, 10, 3, 7), idem(1, 0, 9, 1), plain(40, 10, 1, 9)}
		bs[1].ByteOffset, bs[3].ByteOffset = 10, 30
		r := commitOne(t, s, a.ID, 0, bs...)
		if r[0].BaseOffset != 1 || !r[1].Duplicate || r[2].BaseOffset != 3 || r[3].Err == nil || r[4].BaseOffset != 6 {
			t.Fatalf("results %+v", r)
		}
		es := index(t, s, a.ID, 0)
		if len(es) != 4 {
			t.Fatalf("%d index rows, want 4: %+v", len(es), es)
		}
		for i, w := range [][4]int64{{1, 2, 0, 10}, {3, 5, 20, 10}, {6, 6, 40, 10}} {
			g := es[i+1]
			if g.BaseOffset != w[0] || g.LastOffset != w[1] || g.ByteOffset != w[2] || g.ByteLength != w[3] {
				t.Fatalf("row %d = %+v, want %v", i+1, g, w)
			}
		}
	})
}

func TestUnknownPartitionInCommit(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 1)
		gone := mustTopic(t, s, "gone", 1)
		if err := s.DeleteTopic(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		r := mustCommit(t, s, metadata.ObjectCommit{Size: 30, Runs: []metadata.PartitionRun{
			{Topic: a.ID, Partition: 5, Batches: []metadata.BatchAppend{plain(0, 10, 1, 1)}},
			{Topic: gone.ID, Partition: 0, Batches: []metadata.BatchAppend{plain(10, 10, 1, 1), idem(3, 0, 0, 1)}},
			{Topic: a.ID, Partition: 0, Batches: []metadata.BatchAppend{plain(20, 10, 2, 1)}},
		}})
		wantErr(t, r.Runs[0][0].Err, metadata.ErrUnknownPartition)
		wantErr(t, r.Runs[1][0].Err, metadata.ErrUnknownPartition)
		wantErr(t, r.Runs[1][1].Err, metadata.ErrUnknownPartition)
		if r.Runs[2][0].Err != nil || r.Runs[2][0].BaseOffset != 0 || nextOffset(t, s, a.ID, 0) != 2 {
			t.Fatalf("known partition: %+v", r.Runs[2])
		}
	})
}

func TestCommitAllOrNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 2)
		key := newKey()
		mustCommit(t, s, metadata.ObjectCommit{Key: key, Size: 10, Runs: []metadata.PartitionRun{
			{Topic: a.ID, Partition: 0, Batches: []metadata.BatchAppend{plain(0, 10, 1, 1)}}}})
		// The same key again, now touching both partitions and a producer: fails whole.
		_, err := s.CommitObject(ctx, metadata.ObjectCommit{Key: key, Size: 10, Runs: []metadata.PartitionRun{
			{Topic: a.ID, Partition: 1, Batches: []metadata.BatchAppend{plain(0, 10, 5, 1), idem(9, 0, 0, 1)}},
			{Topic: a.ID, Partition: 0, Batches: []metadata.BatchAppend{plain(10, 10, 5, 1)}}}})
		if err == nil {
			t.Fatal("committing an existing object key succeeded")
		}
		if errors.Is(err, metadata.ErrUnavailable) {
			t.Fatalf("constraint failure reported as unavailable: %v", err)
		}
		if n0, n1 := nextOffset(t, s, a.ID, 0), nextOffset(t, s, a.ID, 1); n0 != 1 || n1 != 0 {
			t.Fatalf("offsets moved: %d %d", n0, n1)
		}
		if es0, es1 := index(t, s, a.ID, 0), index(t, s, a.ID, 1); len(es0) != 1 || len(es1) != 0 {
			t.Fatalf("index rows written: %+v %+v", es0, es1)
		}
		// The producer state was not written either: seq 0 is new, not a duplicate.
		if r := commitOne(t, s, a.ID, 1, idem(9, 0, 0, 1)); r[0].Duplicate || r[0].Err != nil || r[0].BaseOffset != 0 {
			t.Fatalf("producer state leaked: %+v", r)
		}
	})
}

func TestAdvanceLogStart(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 1)
		commitOne(t, s, a.ID, 0, plain(0, 10, 10, 1))
		commitOne(t, s, a.ID, 0, plain(0, 10, 10, 1))
		p, err := s.AdvanceLogStart(ctx, a.ID, 0, 12)
		if err != nil || p.LogStartOffset != 12 || p.NextOffset != 20 {
			t.Fatalf("advance: %+v %v", p, err)
		}
		if p, err = s.AdvanceLogStart(ctx, a.ID, 0, 5); err != nil || p.LogStartOffset != 12 {
			t.Fatalf("advance backwards: %+v %v", p, err)
		}
		_, err = s.AdvanceLogStart(ctx, a.ID, 0, 21)
		wantErr(t, err, metadata.ErrOffsetOutOfRange)
		_, err = s.AdvanceLogStart(ctx, a.ID, 9, 1)
		wantErr(t, err, metadata.ErrUnknownPartition)
		if p, err = s.AdvanceLogStart(ctx, a.ID, 0, 20); err != nil || p.LogStartOffset != 20 {
			t.Fatalf("advance to end: %+v %v", p, err)
		}
		if es := index(t, s, a.ID, 0); len(es) != 2 {
			t.Fatalf("index rows must stay for the worker: %+v", es)
		}
		if r := commitOne(t, s, a.ID, 0, plain(0, 1, 1, 1)); r[0].LogStartOffset != 20 || r[0].BaseOffset != 20 {
			t.Fatalf("commit result %+v", r)
		}
	})
}

func TestGroupOffsets(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		now := e.clock.Now()
		err := s.CommitOffsets(ctx, "g1", []metadata.GroupOffset{
			{Topic: "a", Partition: 1, Offset: 10, LeaderEpoch: 3, Metadata: "m"},
			{Topic: "a", Partition: 0, Offset: 5, LeaderEpoch: -1, CommitTime: now.Add(-time.Minute)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CommitOffsets(ctx, "g1", []metadata.GroupOffset{{Topic: "a", Partition: 1, Offset: 11, LeaderEpoch: 4}}); err != nil {
			t.Fatal(err)
		}
		if err := s.CommitOffsets(ctx, "g0", []metadata.GroupOffset{{Topic: "b", Partition: 0, Offset: 1}}); err != nil {
			t.Fatal(err)
		}
		os, err := s.FetchOffsets(ctx, "g1")
		if err != nil || len(os) != 2 {
			t.Fatalf("FetchOffsets = %+v, %v", os, err)
		}
		if o := os[0]; o.Partition != 0 || o.Offset != 5 || o.LeaderEpoch != -1 || !o.CommitTime.Equal(now.Add(-time.Minute)) {
			t.Fatalf("offset 0 = %+v", o)
		}
		if o := os[1]; o.Partition != 1 || o.Offset != 11 || o.LeaderEpoch != 4 || o.Metadata != "" || !o.CommitTime.Equal(now) {
			t.Fatalf("offset 1 = %+v", o)
		}
		if gs, err := s.Groups(ctx); err != nil || len(gs) != 2 || gs[0] != "g0" || gs[1] != "g1" {
			t.Fatalf("Groups = %v, %v", gs, err)
		}
		if err := s.DeleteOffsets(ctx, "g1", []metadata.TopicPartition{{Topic: "a", Partition: 0}, {Topic: "x", Partition: 9}}); err != nil {
			t.Fatal(err)
		}
		if os, _ := s.FetchOffsets(ctx, "g1"); len(os) != 1 || os[0].Partition != 1 {
			t.Fatalf("after delete: %+v", os)
		}
		if os, err := s.FetchOffsets(ctx, "none"); err != nil || len(os) != 0 {
			t.Fatalf("unknown group: %+v %v", os, err)
		}
	})
}

// TestDeleteTopicDeletesOffsets: committed offsets are keyed by topic
// name, so DeleteTopic removes every group's offsets of the topic; a
// topic created later under that name starts with none.
func TestDeleteTopicDeletesOffsets(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		mustTopic(t, s, "a", 2)
		mustTopic(t, s, "ab", 1)
		commits := map[string][]metadata.GroupOffset{
			"g1": {{Topic: "a", Partition: 0, Offset: 100}, {Topic: "a", Partition: 1, Offset: 7}, {Topic: "ab", Partition: 0, Offset: 3}},
			"g2": {{Topic: "a", Partition: 0, Offset: 50}},
		}
		for g, os := range commits {
			if err := s.CommitOffsets(ctx, g, os); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteTopic(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		mustTopic(t, s, "a", 2)
		for _, c := range []struct {
			group string
			want  []string
		}{{"g1", []string{"ab/0@3"}}, {"g2", nil}} {
			os, err := s.FetchOffsets(ctx, c.group)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range os {
				got = append(got, fmt.Sprintf("%s/%d@%d", o.Topic, o.Partition, o.Offset))
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s's offsets after deleting and re-creating a: %v, want %v", c.group, got, c.want)
			}
		}
		if gs, err := s.Groups(ctx); err != nil || fmt.Sprint(gs) != "[g1]" {
			t.Errorf("Groups after the delete = %v, %v; want [g1]", gs, err)
		}
	})
}

func TestObjects(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 1)
		keys := []string{"k3", "k1", "k2"}
		for _, k := range keys {
			mustCommit(t, s, metadata.ObjectCommit{Key: k, Size: 7, Runs: []metadata.PartitionRun{
				{Topic: a.ID, Partition: 0, Batches: []metadata.BatchAppend{plain(0, 7, 1, 1)}}}})
			e.clock.Add(time.Second)
		}
		var got []string
		if err := s.Objects(ctx, func(o metadata.Object) error { got = append(got, o.Key); return nil }); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != "[k1 k2 k3]" {
			t.Fatalf("Objects order %v", got)
		}
		after := e.clock.Now().Add(time.Hour)
		if err := s.MarkObjects(ctx, []string{"k1", "k3"}, after); err != nil {
			t.Fatal(err)
		}
		o, err := s.Object(ctx, "k1")
		if err != nil || o.State != metadata.ObjectMarked || !o.DeleteAfter.Equal(after) {
			t.Fatalf("marked object %+v %v", o, err)
		}
		if o, _ := s.Object(ctx, "k2"); o.State != metadata.ObjectLive {
			t.Fatalf("unmarked object %+v", o)
		}
		if err := s.ForgetObjects(ctx, []string{"k1", "k3", "nope"}); err != nil {
			t.Fatal(err)
		}
		_, err = s.Object(ctx, "k1")
		wantErr(t, err, metadata.ErrNotFound)
		if n := countObjects(t, s); n != 1 {
			t.Fatalf("%d objects left, want 1", n)
		}
		stop := errors.New("stop")
		if err := s.Objects(ctx, func(metadata.Object) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("Objects callback error: %v", err)
		}
	})
}

func TestGateways(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		g1, err := s.Heartbeat(ctx, metadata.Gateway{NodeID: -1, Addr: "h1:9092", Rack: "r1"})
		if err != nil {
			t.Fatal(err)
		}
		g2, err := s.Heartbeat(ctx, metadata.Gateway{NodeID: -1, Addr: "h2:9092"})
		if err != nil || g1.NodeID < 0 || g2.NodeID < 0 || g1.NodeID == g2.NodeID || !g1.HeartbeatAt.Equal(e.clock.Now()) {
			t.Fatalf("allocated %+v %+v %v", g1, g2, err)
		}
		// An explicitly chosen id is never handed out again.
		if _, err := s.Heartbeat(ctx, metadata.Gateway{NodeID: g2.NodeID + 1, Addr: "h3:9092"}); err != nil {
			t.Fatal(err)
		}
		g4, _ := s.Heartbeat(ctx, metadata.Gateway{NodeID: -1, Addr: "h4:9092"})
		if g4.NodeID == g2.NodeID+1 || g4.NodeID == g1.NodeID || g4.NodeID == g2.NodeID {
			t.Fatalf("reused node id %d", g4.NodeID)
		}
		start := e.clock.Now()
		e.clock.Add(10 * time.Second)
		if g, err := s.Heartbeat(ctx, metadata.Gateway{NodeID: g1.NodeID, Addr: "h1:9093", Rack: "r2"}); err != nil || g.NodeID != g1.NodeID {
			t.Fatalf("refresh: %+v %v", g, err)
		}
		live, err := s.Gateways(ctx, start)
		if err != nil || len(live) != 1 || live[0].NodeID != g1.NodeID || live[0].Addr != "h1:9093" || live[0].Rack != "r2" ||
			!live[0].HeartbeatAt.Equal(e.clock.Now()) {
			t.Fatalf("live gateways %+v %v", live, err)
		}
		if all, _ := s.Gateways(ctx, start.Add(-time.Millisecond)); len(all) != 4 {
			t.Fatalf("all gateways %+v", all)
		}
		if err := s.RemoveGateway(ctx, g1.NodeID); err != nil {
			t.Fatal(err)
		}
		if live, err := s.Gateways(ctx, start); err != nil || len(live) != 0 {
			t.Fatalf("after removing %d: %+v %v", g1.NodeID, live, err)
		}
	})
}

// TestGatewayAddressTakeover: a registration owns its advertised address.
// A gateway restarted under a new node id (killed, so its old row was not
// removed) replaces the old row at once instead of being listed beside it
// until the old heartbeat times out; concurrent registrations of one
// address, from several processes, leave one row.
func TestGatewayAddressTakeover(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		since := e.clock.Now().Add(-time.Minute)
		type reg struct {
			id   int32 // -1: allocated
			addr string
		}
		ids := map[string]int32{} // the id each step got, by its addr
		for _, step := range []struct {
			name string
			reg
			want []string // live registrations afterwards: "id@addr", id "new" for the step's allocated one
		}{
			{"first start", reg{-1, "h:1"}, []string{"new@h:1"}},
			{"restart under a new id", reg{-1, "h:1"}, []string{"new@h:1"}},
			{"explicit id", reg{7, "h:1"}, []string{"7@h:1"}},
			{"refresh", reg{7, "h:1"}, []string{"7@h:1"}},
			{"move to another address", reg{7, "h:2"}, []string{"7@h:2"}},
			{"another gateway", reg{-1, "h:1"}, []string{"new@h:1", "7@h:2"}},
		} {
			g, err := s.Heartbeat(ctx, metadata.Gateway{NodeID: step.id, Addr: step.addr})
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if step.id >= 0 && g.NodeID != step.id {
				t.Fatalf("%s: registered as %d", step.name, g.NodeID)
			}
			if step.id < 0 && g.NodeID == ids[step.addr] {
				t.Fatalf("%s: allocated id %d again", step.name, g.NodeID)
			}
			ids[step.addr] = g.NodeID
			live, err := s.Gateways(ctx, since)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, l := range live {
				got[fmt.Sprintf("%d@%s", l.NodeID, l.Addr)] = true
			}
			want := map[string]bool{}
			for _, w := range step.want {
				if id, addr, _ := strings.Cut(w, "@"); id == "new" {
					w = fmt.Sprintf("%d@%s", g.NodeID, addr)
				}
				want[w] = true
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s: live gateways %v, want %v", step.name, got, want)
			}
		}

		// Eight registrations of one address at once, from two stores
		// (processes): all succeed, one row stays.
		other := e.open(t)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := []metadata.Store{s, other}[i%2]
				if _, err := st.Heartbeat(ctx, metadata.Gateway{NodeID: -1, Addr: "race:1"}); err != nil {
					t.Errorf("concurrent registration: %v", err)
				}
			}()
		}
		wg.Wait()
		live, err := s.Gateways(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range live {
			if l.Addr == "race:1" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d registrations at race:1 after concurrent registrations, want 1: %+v", n, live)
		}
	})
}

func TestLeases(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		l, ok, err := s.AcquireLease(ctx, "worker", "w1", 10*time.Second)
		if err != nil || !ok || l.Holder != "w1" || !l.Expires.Equal(e.clock.Now().Add(10*time.Second)) {
			t.Fatalf("take: %+v %v %v", l, ok, err)
		}
		e.clock.Add(5 * time.Second)
		if l, ok, _ = s.AcquireLease(ctx, "worker", "w2", 10*time.Second); ok || l.Holder != "w1" {
			t.Fatalf("w2 took a held lease: %+v", l)
		}
		if l, ok, _ = s.AcquireLease(ctx, "worker", "w1", 10*time.Second); !ok || !l.Expires.Equal(e.clock.Now().Add(10*time.Second)) {
			t.Fatalf("renew: %+v %v", l, ok)
		}
		if _, ok, _ = s.AcquireLease(ctx, "other", "w2", time.Second); !ok {
			t.Fatal("leases are not independent by name")
		}
		e.clock.Add(9 * time.Second)
		if _, ok, _ = s.AcquireLease(ctx, "worker", "w2", 10*time.Second); ok {
			t.Fatal("taken before expiry")
		}
		e.clock.Add(time.Second) // now exactly at expiry
		if l, ok, _ = s.AcquireLease(ctx, "worker", "w2", 10*time.Second); !ok || l.Holder != "w2" {
			t.Fatalf("take over after expiry: %+v %v", l, ok)
		}
		// Releasing someone else's lease does nothing; one's own frees it.
		if err := s.ReleaseLease(ctx, "worker", "w1"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ = s.AcquireLease(ctx, "worker", "w3", time.Second); ok {
			t.Fatal("a foreign release freed the lease")
		}
		if err := s.ReleaseLease(ctx, "worker", "w2"); err != nil {
			t.Fatal(err)
		}
		if l, ok, _ = s.AcquireLease(ctx, "worker", "w3", time.Second); !ok || l.Holder != "w3" {
			t.Fatalf("take after release: %+v %v", l, ok)
		}
		// Concurrent takers: exactly one wins.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := s.AcquireLease(ctx, "race", fmt.Sprint("h", i), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d concurrent takers won", wins.Load())
		}
	})
}

func TestProducerIDsUnique(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s2 := e.open(t)
		var mu sync.Mutex
		seen := map[int64]bool{}
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := e.s
				if i%2 == 1 {
					s = s2
				}
				last := int64(-1)
				for range 50 {
					id, err := s.AllocateProducerID(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					if id <= last {
						t.Errorf("ids not monotonic: %d after %d", id, last)
					}
					last = id
					mu.Lock()
					if seen[id] {
						t.Errorf("duplicate producer id %d", id)
					}
					seen[id] = true
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	})
}

func TestReopen(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		a := mustTopic(t, e.s, "a", 1)
		commitOne(t, e.s, a.ID, 0, plain(0, 10, 3, 1), idem(1, 0, 0, 1))
		pid, _ := e.s.AllocateProducerID(ctx)
		e.s.Close()
		// Reopen twice at once: migrations run once and are idempotent.
		var wg sync.WaitGroup
		stores := make([]metadata.Store, 2)
		for i := range stores {
			wg.Add(1)
			go func() { defer wg.Done(); stores[i] = e.open(t) }()
		}
		wg.Wait()
		s := stores[0]
		if n := nextOffset(t, s, a.ID, 0); n != 4 {
			t.Fatalf("next offset after reopen %d", n)
		}
		if es := index(t, stores[1], a.ID, 0); len(es) != 1 {
			t.Fatalf("index after reopen %+v", es)
		}
		if r := commitOne(t, s, a.ID, 0, idem(1, 0, 0, 1)); !r[0].Duplicate || r[0].BaseOffset != 3 {
			t.Fatalf("producer state after reopen: %+v", r)
		}
		if id, _ := s.AllocateProducerID(ctx); id <= pid {
			t.Fatalf("producer id %d after %d", id, pid)
		}
	})
}

func TestConcurrentFirstOpen(t *testing.T) {
	// Several processes starting at once on an empty database.
	eachBackendURL(t, func(t *testing.T, url string) {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := metadata.Open(ctx, url, metadata.Options{})
				if err == nil {
					_, err = s.Topics(ctx)
					s.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

func eachBackendURL(t *testing.T, fn func(t *testing.T, url string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.url(t))
		})
	}
}

func TestUnavailable(t *testing.T) {
	addr := testenv.FreeAddr(t) // nothing listens there
	_, err := metadata.Open(ctx, "postgres://postgres@"+addr+"/x?sslmode=disable&connect_timeout=2", metadata.Options{})
	wantErr(t, err, metadata.ErrUnavailable)

	url := testenv.Postgres(t)
	s, err := metadata.Open(ctx, url, metadata.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close() // a closed pool behaves like a lost database
	_, err = s.CommitObject(ctx, metadata.ObjectCommit{Key: "k"})
	wantErr(t, err, metadata.ErrUnavailable)
	_, err = s.Topic(ctx, "a")
	wantErr(t, err, metadata.ErrUnavailable)
}

// A key orphan GC claims can never be committed afterwards, however late
// the commit; a key already committed is not claimed; fences go once old.
func TestClaimOrphans(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 1)
		mustCommit(t, s, metadata.ObjectCommit{Key: "segments/committed", Size: 10,
			Runs: []metadata.PartitionRun{{Topic: a.ID, Partition: 0, Batches: []metadata.BatchAppend{{ByteLength: 10, Records: 1, ProducerID: -1}}}}})
		fenced, err := s.ClaimOrphans(ctx, []string{"segments/late", "segments/committed"})
		if err != nil || !slices.Equal(fenced, []string{"segments/late"}) {
			t.Fatalf("ClaimOrphans = %v, %v; want only the uncommitted key", fenced, err)
		}
		if again, err := s.ClaimOrphans(ctx, []string{"segments/late"}); err != nil || !slices.Equal(again, []string{"segments/late"}) {
			t.Fatalf("claiming a fenced key again = %v, %v; want it fenced", again, err)
		}
		_, err = s.CommitObject(ctx, metadata.ObjectCommit{Key: "segments/late", Size: 10,
			Runs: []metadata.PartitionRun{{Topic: a.ID, Partition: 0, Batches: []metadata.BatchAppend{{ByteLength: 10, Records: 1, ProducerID: -1}}}}})
		if err == nil {
			t.Fatal("a commit of a fenced key succeeded")
		}
		if n := nextOffset(t, s, a.ID, 0); n != 1 {
			t.Errorf("the refused commit moved the next offset to %d", n)
		}
		if n, err := s.DropOrphanFences(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("DropOrphanFences of a young fence = %d, %v", n, err)
		}
		e.clock.Add(time.Hour)
		if n, err := s.DropOrphanFences(ctx, time.Hour); err != nil || n != 1 {
			t.Fatalf("DropOrphanFences = %d, %v; want 1", n, err)
		}
		if _, err := s.Object(ctx, "segments/committed"); err != nil {
			t.Errorf("dropping fences dropped a committed object: %v", err)
		}
	})
}

// Claims of more keys than one statement takes fence every uncommitted
// key, also one listed twice in the same statement.
func TestClaimOrphansMany(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		a := mustTopic(t, s, "a", 1)
		mustCommit(t, s, metadata.ObjectCommit{Key: "segments/committed", Size: 10,
			Runs: []metadata.PartitionRun{{Topic: a.ID, Partition: 0, Batches: []metadata.BatchAppend{{ByteLength: 10, Records: 1, ProducerID: -1}}}}})
		var keys, want []string
		for i := range 1200 {
			k := fmt.Sprintf("segments/orphan-%04d", i)
			keys = append(keys, k)
			want = append(want, k)
		}
		keys = append(keys, "segments/committed", "segments/orphan-1199", "segments/orphan-0000")
		want = append(want, "segments/orphan-1199", "segments/orphan-0000")
		fenced, err := s.ClaimOrphans(ctx, keys)
		if err != nil || !slices.Equal(fenced, want) {
			t.Fatalf("ClaimOrphans fenced %d keys, %v; want %d", len(fenced), err, len(want))
		}
		if o, err := s.Object(ctx, "segments/committed"); err != nil || o.State != metadata.ObjectLive {
			t.Errorf("the committed object is %+v, %v after a claim", o, err)
		}
	})
}

// A metadata URL that cannot be used is named in the error without its
// password.
func TestOpenErrorsHidePasswords(t *testing.T) {
	for _, url := range []string{"postgress://caudal:hunter2@db:5432/x", "mysql://caudal:hunter2@db/x"} {
		_, err := metadata.Open(ctx, url, metadata.Options{})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Open(%q) = %v, want an error without the password", url, err)
		}
	}
}
