package retention

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/metadatatest"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/worker/job"
)

// countingStore counts what retention asks the store for: index reads and
// the most rows one returned, size sums and trims.
type countingStore struct {
	*metadatatest.IndexCounter
	sizes, trims int
}

func (s *countingStore) PartitionSize(ctx context.Context, topic uuid.UUID, partition int32) (int64, int64, error) {
	s.sizes++
	return s.Store.PartitionSize(ctx, topic, partition)
}

func (s *countingStore) TrimLog(ctx context.Context, topic uuid.UUID, partition int32, start int64, deleteAfter time.Time) (metadata.TrimResult, error) {
	s.trims++
	return s.Store.TrimLog(ctx, topic, partition, start, deleteAfter)
}

// TestRetentionPages runs retention on a partition of 2,500 one-record
// rows of 100 bytes. With nothing to remove it reads one page, sums
// nothing (retention.bytes is unset) and opens no trim transaction; with
// retention.bytes keeping ten rows it walks the index a page at a time,
// never reading more than a page at once, and trims once.
func TestRetentionPages(t *testing.T) {
	const rows, rowBytes = 2500, 100
	ctx := context.Background()
	s := metadatatest.OpenSQLite(t, metadata.Options{UnsafeSQLiteNoSync: true})
	tp, err := s.CreateTopic(ctx, metadata.TopicSpec{Name: "long", Partitions: 1, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range rows {
		c := metadata.ObjectCommit{Key: fmt.Sprintf("segments/long-%05d", i), Size: rowBytes, Runs: []metadata.PartitionRun{{Topic: tp.ID,
			Batches: []metadata.BatchAppend{{ByteLength: rowBytes, Records: 1, MaxTimestamp: now.UnixMilli(), ProducerID: -1}}}}}
		if _, err := s.CommitObject(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	broker, err := topicconfig.NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{IndexCounter: &metadatatest.IndexCounter{Store: s}}
	ret := New(job.Config{Store: store, Broker: broker, Grace: time.Minute, Now: func() time.Time { return now }})

	res, err := ret.Partition(ctx, tp, 0, broker.Policy(nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.RemovedRows != 0 || store.Reads != 1 || store.sizes != 0 || store.trims != 0 {
		t.Errorf("with nothing to do: removed %d rows in %d index reads, %d size sums, %d trims; want 1 read and nothing else",
			res.RemovedRows, store.Reads, store.sizes, store.trims)
	}

	*store = countingStore{IndexCounter: &metadatatest.IndexCounter{Store: s}}
	res, err = ret.Partition(ctx, tp, 0, broker.Policy(map[string]string{"retention.bytes": fmt.Sprint(10 * rowBytes)}))
	if err != nil {
		t.Fatal(err)
	}
	if res.RemovedRows != rows-10 || res.State.LogStartOffset != rows-10 || store.Reads != 3 || store.MaxRows > 1000 || store.trims != 1 {
		t.Errorf("over retention.bytes: removed %d rows, log start %d, %d index reads of at most %d rows, %d trims; want %d rows and start, 3 reads of at most 1,000, 1 trim",
			res.RemovedRows, res.State.LogStartOffset, store.Reads, store.MaxRows, store.trims, rows-10)
	}
}
