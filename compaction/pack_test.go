package compaction

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/test/testenv"
)

// A pass packs the groups of many partitions into shared objects of at most
// TargetBytes, consumers read every partition's run out of them, and a
// partition's small run in a large merged object merges again.
func TestMergePacksPartitions(t *testing.T) {
	e := newEnv(t, testenv.Cloud)
	const parts = 6
	tp := e.createTopic(t, "wide", parts, nil)
	round := func(n int) {
		for p := range int32(parts) {
			e.produce(t, &kgo.Record{Topic: "wide", Partition: p, Value: fmt.Appendf(bytes.Repeat([]byte{'v'}, 100), "-%d-%d", p, n)})
		}
	}
	for n := range 3 {
		round(n)
	}
	// The gateway's objects (a record each, ~0.2 KiB) are small; a merged
	// object of all six partitions (~1.7 KiB) is not, though each run in
	// it (~0.3 KiB) is.
	e.comp.c.Merge.SmallObject = 1 << 10
	e.advance(time.Second)
	if err := e.comp.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := e.mergedObject(t, tp, parts, 3)
	if first.Size < e.comp.c.Merge.SmallObject {
		t.Fatalf("merged object of %d bytes: the test needs it above SmallObject", first.Size)
	}
	e.consumeAll(t, "wide", parts, 3)

	for n := 3; n < 6; n++ {
		round(n)
	}
	e.advance(time.Second)
	if err := e.comp.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := e.mergedObject(t, tp, parts, 6)
	if second.Key == first.Key {
		t.Fatal("the second pass did not merge the runs of the first merged object again")
	}
	if o, err := e.store.Object(context.Background(), first.Key); err != nil || o.State != metadata.ObjectMarked {
		t.Fatalf("first merged object after its runs moved: %+v %v", o, err)
	}
	e.consumeAll(t, "wide", parts, 6)

	// A small TargetBytes splits a pass over several objects, each within it.
	for n := 6; n < 9; n++ {
		round(n)
	}
	e.comp.c.Merge.TargetBytes = 1000
	e.advance(time.Second)
	if err := e.comp.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	runs := map[string]int64{}
	for p := range int32(parts) {
		for _, r := range e.rows(t, tp, p) {
			if r.BaseOffset >= 6 {
				runs[r.ObjectKey] += r.ByteLength
			}
		}
	}
	if len(runs) < 2 || len(runs) >= parts {
		t.Fatalf("6 groups went into %d objects, want them packed into 2–5", len(runs))
	}
	for k, n := range runs {
		if n > e.comp.c.Merge.TargetBytes {
			t.Errorf("object %s holds %d bytes of runs, more than TargetBytes", k, n)
		}
	}
	e.consumeAll(t, "wide", parts, 9)
}

func (e *env) rows(t *testing.T, tp metadata.Topic, p int32) []metadata.IndexEntry {
	t.Helper()
	rows, err := e.comp.partitionRows(context.Background(), tp, p)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// mergedObject checks that every partition of tp is one row of want
// records, all in one merged object, and returns that object.
func (e *env) mergedObject(t *testing.T, tp metadata.Topic, parts int32, want int64) metadata.Object {
	t.Helper()
	key := ""
	for p := range parts {
		rows := e.rows(t, tp, p)
		if len(rows) != 1 || rows[0].BaseOffset != 0 || rows[0].LastOffset != want-1 {
			t.Fatalf("partition %d: rows %+v, want one of offsets 0-%d", p, rows, want-1)
		}
		if key != "" && rows[0].ObjectKey != key {
			t.Fatalf("partition %d's run is in %s, partition 0's in %s", p, rows[0].ObjectKey, key)
		}
		key = rows[0].ObjectKey
	}
	o, err := e.store.Object(context.Background(), key)
	if err != nil || o.State != metadata.ObjectLive || !o.Merged {
		t.Fatalf("object %s: %+v %v", key, o, err)
	}
	return o
}

// consumeAll reads every partition of topic through the gateway and
// checks each holds records 0..n-1 as round produced them.
func (e *env) consumeAll(t *testing.T, topic string, parts int32, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.c.Addr), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got := make([]int, parts)
	for total := 0; total < int(parts)*n; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("consume after %d records: %v", total, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			want := fmt.Appendf(bytes.Repeat([]byte{'v'}, 100), "-%d-%d", r.Partition, got[r.Partition])
			if r.Offset != int64(got[r.Partition]) || !bytes.Equal(r.Value, want) {
				t.Fatalf("partition %d offset %d: %q, want offset %d %q", r.Partition, r.Offset, r.Value, got[r.Partition], want)
			}
			got[r.Partition]++
			total++
		})
	}
}
