package compaction

import (
	"reflect"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
)

func TestPlanMerge(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	old, young := now.Add(-time.Hour), now
	objs := map[string]metadata.Object{
		"a":      {Key: "a", Size: 1000, State: metadata.ObjectLive, CreatedAt: old},
		"b":      {Key: "b", Size: 1000, State: metadata.ObjectLive, CreatedAt: old},
		"c":      {Key: "c", Size: 1000, State: metadata.ObjectLive, CreatedAt: old},
		"d":      {Key: "d", Size: 1000, State: metadata.ObjectLive, CreatedAt: old},
		"big":    {Key: "big", Size: 10 << 20, State: metadata.ObjectLive, CreatedAt: old},
		"new":    {Key: "new", Size: 1000, State: metadata.ObjectLive, CreatedAt: young},
		"merged": {Key: "merged", Size: 3000, State: metadata.ObjectLive, CreatedAt: old},
		"packed": {Key: "packed", Size: 10 << 20, State: metadata.ObjectLive, CreatedAt: old, Merged: true},
	}
	row := func(base, last int64, key string, bytes int64) metadata.IndexEntry {
		return metadata.IndexEntry{BaseOffset: base, LastOffset: last, ObjectKey: key, ByteLength: bytes}
	}
	abs := func(e metadata.IndexEntry) metadata.IndexEntry { e.Absolute = true; return e }
	opts := MergeOptions{SmallObject: 4 << 20, MinAge: time.Minute, TargetBytes: 250}
	bases := func(gs [][]metadata.IndexEntry) [][]int64 {
		var out [][]int64
		for _, g := range gs {
			var b []int64
			for _, r := range g {
				b = append(b, r.BaseOffset)
			}
			out = append(out, b)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		rows    []metadata.IndexEntry
		want    [][]int64
		more    bool // a page with more to come
		maxRows int
		rest    []int64
	}{
		{"one run", []metadata.IndexEntry{row(0, 9, "a", 100), row(10, 19, "b", 100)}, [][]int64{{0, 10}}, false, 0, nil},
		{"single row", []metadata.IndexEntry{row(0, 9, "a", 100)}, nil, false, 0, nil},
		{"gap splits", []metadata.IndexEntry{row(0, 9, "a", 50), row(10, 19, "b", 50), row(25, 29, "c", 50), row(30, 39, "d", 50)}, [][]int64{{0, 10}, {25, 30}}, false, 0, nil},
		{"big object splits", []metadata.IndexEntry{row(0, 9, "a", 50), row(10, 19, "big", 50), row(20, 29, "c", 50), row(30, 39, "d", 50)}, [][]int64{{20, 30}}, false, 0, nil},
		{"young object splits", []metadata.IndexEntry{row(0, 9, "a", 50), row(10, 19, "b", 50), row(20, 29, "new", 50)}, [][]int64{{0, 10}}, false, 0, nil},
		{"small rows of a large merged object merge", []metadata.IndexEntry{row(0, 9, "packed", 50), row(10, 19, "a", 50), row(20, 29, "packed", 50)}, [][]int64{{0, 10, 20}}, false, 0, nil},
		{"large rows of a merged object split", []metadata.IndexEntry{row(0, 9, "a", 50), row(10, 19, "packed", 5<<20), row(20, 29, "c", 50), row(30, 39, "d", 50)}, [][]int64{{20, 30}}, false, 0, nil},
		{"absolute splits", []metadata.IndexEntry{row(0, 9, "a", 50), abs(row(10, 19, "b", 50)), row(20, 29, "c", 50), row(30, 39, "d", 50)}, [][]int64{{20, 30}}, false, 0, nil},
		{"unknown object", []metadata.IndexEntry{row(0, 9, "zz", 50), row(10, 19, "b", 50)}, nil, false, 0, nil},
		{"target splits", []metadata.IndexEntry{row(0, 9, "a", 100), row(10, 19, "b", 100), row(20, 29, "c", 100), row(30, 39, "d", 100)}, [][]int64{{0, 10}, {20, 30}}, false, 0, nil},
		{"dominant first row waits", []metadata.IndexEntry{row(0, 29, "merged", 150), row(30, 39, "d", 50), row(40, 49, "c", 50)}, [][]int64{{30, 40}}, false, 0, nil},
		{"dominant first row joins when matched", []metadata.IndexEntry{row(0, 29, "merged", 100), row(30, 39, "d", 50), row(40, 49, "c", 50)}, [][]int64{{0, 30, 40}}, false, 0, nil},
		{"row cap splits", []metadata.IndexEntry{row(0, 9, "a", 50), row(10, 19, "b", 50), row(20, 29, "c", 50), row(30, 39, "d", 50), row(40, 49, "a", 50)},
			[][]int64{{0, 10}, {20, 30}}, false, 2, nil},
		{"an open group waits for the next page", []metadata.IndexEntry{row(0, 9, "a", 50), row(10, 19, "b", 50)}, nil, true, 0, []int64{0, 10}},
		{"closed groups go, the open one waits", []metadata.IndexEntry{row(0, 9, "a", 100), row(10, 19, "b", 100), row(20, 29, "c", 100), row(30, 39, "d", 50)},
			[][]int64{{0, 10}}, true, 0, []int64{20, 30}},
		{"a group at the row cap does not wait", []metadata.IndexEntry{row(0, 9, "a", 50), row(10, 19, "b", 50), row(20, 29, "c", 50), row(30, 39, "d", 50)},
			[][]int64{{0, 10}, {20, 30}}, true, 2, nil},
		{"a run ended by a young object does not wait", []metadata.IndexEntry{row(0, 9, "a", 50), row(10, 19, "b", 50), row(20, 29, "new", 50)},
			[][]int64{{0, 10}}, true, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts
			o.MaxRows = tc.maxRows
			plan := PlanMerge(MergeInput{Now: now, Rows: tc.rows, More: tc.more, Objects: objs, Options: o})
			if got := bases(plan.Groups); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
			if rest := bases([][]metadata.IndexEntry{plan.Rest})[0]; !reflect.DeepEqual(rest, tc.rest) {
				t.Fatalf("rest %v want %v", rest, tc.rest)
			}
		})
	}
}

func TestPlanKeyRange(t *testing.T) {
	r := func(base int64, bytes int64, abs bool, ts int64) metadata.IndexEntry {
		return metadata.IndexEntry{BaseOffset: base, LastOffset: base + 9, ByteLength: bytes, Absolute: abs, MaxTimestamp: ts}
	}
	const stable = 1 << 62 // no open transaction
	for _, tc := range []struct {
		name       string
		in         KeyRangeInput
		rng, heads int
	}{
		{"one row", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, false, 0)}, NowMs: 100, LastStable: stable}, 0, 0},
		{"all but head", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, false, 0), r(10, 10, false, 0), r(20, 10, false, 0)}, NowMs: 100, LastStable: stable}, 2, 1},
		{"clean", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, true, 0), r(10, 10, false, 0)}, NowMs: 100, LastStable: stable}, 0, 0},
		{"dirty ratio low", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 100, true, 0), r(10, 10, false, 0), r(20, 10, false, 0)}, NowMs: 100, LastStable: stable}, 0, 0},
		{"dirty ratio half", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, true, 0), r(10, 10, false, 0), r(20, 10, false, 0)}, NowMs: 100, LastStable: stable}, 2, 1},
		{"min lag", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, false, 0), r(10, 10, false, 95), r(20, 10, false, 0)}, NowMs: 100, MinLagMs: 10, LastStable: stable}, 1, 2},
		{"stops below the last stable offset", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, false, 0), r(10, 10, false, 0), r(20, 10, false, 0)}, NowMs: 100, LastStable: 19}, 1, 2},
		{"a row ending just below it is stable", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, false, 0), r(10, 10, false, 0), r(20, 10, false, 0)}, NowMs: 100, LastStable: 20}, 2, 1},
		{"open transaction in the first row", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, false, 0), r(10, 10, false, 0)}, NowMs: 100, LastStable: 5}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng, head := PlanKeyRange(tc.in)
			if len(rng) != tc.rng || len(head) != tc.heads {
				t.Fatalf("got %d/%d rows, want %d/%d", len(rng), len(head), tc.rng, tc.heads)
			}
		})
	}
}

func TestPlanKeys(t *testing.T) {
	recs := []KeyRecord{
		{Offset: 0, Key: "a", Timestamp: 0},
		{Offset: 1, Key: "b", Timestamp: 0},
		{Offset: 2, Key: "a", Timestamp: 0},
		{Offset: 3, Key: "c", Tombstone: true, Timestamp: 0},    // expired tombstone
		{Offset: 4, Key: "d", Tombstone: true, Timestamp: 9990}, // young tombstone
		{Offset: 5, NullKey: true},
		{Offset: 7, Key: "e"},
		// head
		{Offset: 8, Key: "b"},
	}
	got := PlanKeys(KeyInput{Records: recs, RangeEnd: 7, NowMs: 10000, DeleteRetentionMs: 100})
	want := []Verdict{Drop, Drop, Keep, Drop, Keep, Keep, Keep}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}

// Transactions in key compaction, as Kafka's cleaner treats them.
func TestPlanKeysTransactions(t *testing.T) {
	const now, retention = 10000, 100
	txn := func(off, pid int64, key string) KeyRecord {
		return KeyRecord{Offset: off, Key: key, Transactional: true, ProducerID: pid}
	}
	plain := func(off int64, key string) KeyRecord { return KeyRecord{Offset: off, Key: key, ProducerID: -1} }
	commit := func(off, pid, horizon int64) KeyRecord {
		return KeyRecord{Offset: off, Key: "\x00\x00\x00\x01", Control: true, Commit: true, ProducerID: pid, DeleteHorizon: horizon}
	}
	abort := func(off, pid, horizon int64) KeyRecord {
		return KeyRecord{Offset: off, Key: "\x00\x00\x00\x00", Control: true, ProducerID: pid, DeleteHorizon: horizon}
	}
	for _, tc := range []struct {
		name     string
		recs     []KeyRecord
		rangeEnd int64
		want     []Verdict
	}{
		{"aborted records go and never replace a committed value",
			[]KeyRecord{txn(0, 1, "a"), commit(1, 1, 0), txn(2, 1, "a"), txn(3, 1, "b"), abort(4, 1, 0)}, 4,
			[]Verdict{Keep, Keep, Drop, Drop, Keep}},
		{"an aborted transaction interleaved with another producer's",
			[]KeyRecord{txn(0, 1, "a"), txn(1, 2, "a"), txn(2, 1, "b"), abort(3, 1, 0), commit(4, 2, 0)}, 4,
			[]Verdict{Drop, Keep, Drop, Keep, Keep}},
		{"committed records compact like others, across transactions",
			[]KeyRecord{txn(0, 1, "a"), txn(1, 1, "a"), commit(2, 1, 0), plain(3, "a")}, 2,
			[]Verdict{Drop, Drop, Keep}},
		{"a marker whose records are gone is stamped",
			[]KeyRecord{commit(0, 1, 0), abort(1, 2, 0), plain(2, "x")}, 1,
			[]Verdict{KeepStamped, KeepStamped}},
		{"a stamped marker waits for its horizon, then goes",
			[]KeyRecord{commit(0, 1, now+1), abort(1, 2, now), plain(2, "x")}, 1,
			[]Verdict{Keep, Drop}},
		{"a marker is held by the records this pass removes",
			[]KeyRecord{txn(0, 1, "a"), abort(1, 1, now-1), txn(2, 2, "b"), commit(3, 2, now-1), plain(4, "b")}, 3,
			[]Verdict{Drop, Keep, Drop, Keep}},
		{"the marker in the head decides the range's records",
			[]KeyRecord{txn(0, 1, "a"), txn(1, 2, "b"), plain(2, "c"), abort(3, 1, 0), commit(4, 2, 0)}, 2,
			[]Verdict{Drop, Keep, Keep}},
		{"an open transaction in the head replaces nothing",
			[]KeyRecord{plain(0, "a"), txn(1, 1, "a")}, 0,
			[]Verdict{Keep}},
		{"an aborted transaction in the head replaces nothing",
			[]KeyRecord{plain(0, "a"), txn(1, 1, "a"), abort(2, 1, 0)}, 0,
			[]Verdict{Keep}},
		{"a committed one in the head does",
			[]KeyRecord{plain(0, "a"), txn(1, 1, "a"), commit(2, 1, 0)}, 0,
			[]Verdict{Drop}},
		{"an aborted record without a key goes too",
			[]KeyRecord{{Offset: 0, NullKey: true, Transactional: true, ProducerID: 1}, abort(1, 1, 0), {Offset: 2, NullKey: true}}, 2,
			[]Verdict{Drop, Keep, Keep}},
		{"a marker's key is no record key",
			[]KeyRecord{plain(0, "\x00\x00\x00\x01"), commit(1, 1, 0)}, 1,
			[]Verdict{Keep, KeepStamped}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanKeys(KeyInput{Records: tc.recs, RangeEnd: tc.rangeEnd, NowMs: now, DeleteRetentionMs: retention})
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
		})
	}
}

func TestPlanOrphans(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	const grace = time.Minute
	row := map[string]metadata.Object{"k": {Key: "k", State: metadata.ObjectLive}}
	for _, tc := range []struct {
		name      string
		listed    []string
		rows      map[string]metadata.Object
		firstSeen map[string]time.Time
		delete    []string
		seen      map[string]time.Time
	}{
		{"first sight is remembered, not deleted", []string{"k"}, nil, nil,
			nil, map[string]time.Time{"k": now}},
		{"a row keeps an object", []string{"k"}, row, nil,
			nil, map[string]time.Time{}},
		{"a row since first sight ends the wait", []string{"k"}, row, map[string]time.Time{"k": now.Add(-time.Hour)},
			nil, map[string]time.Time{}},
		{"seen for less than the grace period", []string{"k"}, nil, map[string]time.Time{"k": now.Add(-grace + time.Millisecond)},
			nil, map[string]time.Time{"k": now.Add(-grace + time.Millisecond)}},
		{"seen for the grace period", []string{"k"}, nil, map[string]time.Time{"k": now.Add(-grace)},
			[]string{"k"}, map[string]time.Time{"k": now.Add(-grace)}},
		{"gone from the bucket is forgotten", nil, nil, map[string]time.Time{"k": now.Add(-time.Hour)},
			nil, map[string]time.Time{}},
		{"a fenced object whose deletion failed goes at once", []string{"k"}, map[string]metadata.Object{"k": {Key: "k", State: metadata.ObjectOrphan}}, nil,
			[]string{"k"}, map[string]time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PlanOrphans(OrphanInput{Now: now, Listed: tc.listed, Rows: tc.rows, FirstSeen: tc.firstSeen, Grace: grace})
			if !reflect.DeepEqual(got.Delete, tc.delete) || !reflect.DeepEqual(got.FirstSeen, tc.seen) {
				t.Fatalf("got delete %v, first seen %v; want %v, %v", got.Delete, got.FirstSeen, tc.delete, tc.seen)
			}
		})
	}
}
