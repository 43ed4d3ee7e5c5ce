package metadata

import (
	"reflect"
	"testing"

	"github.com/google/uuid"
)

// TestAppendedGroupsRowsByPartition: a commit's rows are told per
// partition in the order its runs name them, a partition with two runs
// once, and writing to one partition's rows leaves the others alone.
func TestAppendedGroupsRowsByPartition(t *testing.T) {
	t.Parallel()
	a, b := uuid.New(), uuid.New()
	row := func(topic uuid.UUID, part int32, base int64) IndexEntry {
		return IndexEntry{Topic: topic, Partition: part, BaseOffset: base, LastOffset: base, ObjectKey: "k"}
	}
	c := ObjectCommit{Key: "k", Size: 700, Runs: []PartitionRun{
		{Topic: a, Partition: 0, Batches: []BatchAppend{{}}},
		{Topic: b, Partition: 1, Batches: []BatchAppend{{Transactional: true}}},
		{Topic: a, Partition: 0, Batches: []BatchAppend{{}}},
	}}
	index := []IndexEntry{row(a, 0, 4), row(a, 0, 6), row(b, 1, 0), row(a, 0, 9)}
	parts := map[tp]*partState{{a, 0}: {start: 2}, {b, 1}: {start: 0}}
	sized := func(e IndexEntry) IndexEntry { e.ObjectSize = 700; return e }
	want := []Appended{
		{Topic: a, Partition: 0, LogStartOffset: 2, Rows: []IndexEntry{sized(index[0]), sized(index[1]), sized(index[3])}},
		{Topic: b, Partition: 1, Txn: true, Rows: []IndexEntry{sized(index[2])}},
	}
	got := appended(c, index, parts)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("appended = %+v\nwant %+v", got, want)
	}
	got[0].Rows = append(got[0].Rows, row(a, 0, 10))
	if got[1].Rows[0].BaseOffset != 0 || index[0].ObjectSize != 0 {
		t.Fatalf("rows share memory: %+v, index %+v", got[1].Rows, index)
	}
}
