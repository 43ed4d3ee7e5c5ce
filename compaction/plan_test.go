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
		name string
		rows []metadata.IndexEntry
		want [][]int64
	}{
		{"one run", []metadata.IndexEntry{row(0, 9, "a", 100), row(10, 19, "b", 100)}, [][]int64{{0, 10}}},
		{"single row", []metadata.IndexEntry{row(0, 9, "a", 100)}, nil},
		{"gap splits", []metadata.IndexEntry{row(0, 9, "a", 50), row(10, 19, "b", 50), row(25, 29, "c", 50), row(30, 39, "d", 50)}, [][]int64{{0, 10}, {25, 30}}},
		{"big object splits", []metadata.IndexEntry{row(0, 9, "a", 50), row(10, 19, "big", 50), row(20, 29, "c", 50), row(30, 39, "d", 50)}, [][]int64{{20, 30}}},
		{"young object splits", []metadata.IndexEntry{row(0, 9, "a", 50), row(10, 19, "b", 50), row(20, 29, "new", 50)}, [][]int64{{0, 10}}},
		{"absolute splits", []metadata.IndexEntry{row(0, 9, "a", 50), abs(row(10, 19, "b", 50)), row(20, 29, "c", 50), row(30, 39, "d", 50)}, [][]int64{{20, 30}}},
		{"unknown object", []metadata.IndexEntry{row(0, 9, "zz", 50), row(10, 19, "b", 50)}, nil},
		{"target splits", []metadata.IndexEntry{row(0, 9, "a", 100), row(10, 19, "b", 100), row(20, 29, "c", 100), row(30, 39, "d", 100)}, [][]int64{{0, 10}, {20, 30}}},
		{"dominant first row waits", []metadata.IndexEntry{row(0, 29, "merged", 150), row(30, 39, "d", 50), row(40, 49, "c", 50)}, [][]int64{{30, 40}}},
		{"dominant first row joins when matched", []metadata.IndexEntry{row(0, 29, "merged", 100), row(30, 39, "d", 50), row(40, 49, "c", 50)}, [][]int64{{0, 30, 40}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := bases(PlanMerge(MergeInput{Now: now, Rows: tc.rows, Objects: objs, Options: opts}))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v want %v", got, tc.want)
			}
		})
	}
}

func TestPlanKeyRange(t *testing.T) {
	r := func(base int64, bytes int64, abs bool, ts int64) metadata.IndexEntry {
		return metadata.IndexEntry{BaseOffset: base, LastOffset: base + 9, ByteLength: bytes, Absolute: abs, MaxTimestamp: ts}
	}
	for _, tc := range []struct {
		name       string
		in         KeyRangeInput
		rng, heads int
	}{
		{"one row", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, false, 0)}, NowMs: 100}, 0, 0},
		{"all but head", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, false, 0), r(10, 10, false, 0), r(20, 10, false, 0)}, NowMs: 100}, 2, 1},
		{"clean", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, true, 0), r(10, 10, false, 0)}, NowMs: 100}, 0, 0},
		{"dirty ratio low", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 100, true, 0), r(10, 10, false, 0), r(20, 10, false, 0)}, NowMs: 100}, 0, 0},
		{"dirty ratio half", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, true, 0), r(10, 10, false, 0), r(20, 10, false, 0)}, NowMs: 100}, 2, 1},
		{"min lag", KeyRangeInput{Rows: []metadata.IndexEntry{r(0, 10, false, 0), r(10, 10, false, 95), r(20, 10, false, 0)}, NowMs: 100, MinLagMs: 10}, 1, 2},
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
	want := []bool{false, false, true, false, true, true, true}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
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
