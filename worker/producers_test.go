package worker

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata/metadatatest"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
)

// The worker expires producer state after producer.id.expiration.ms of the
// store's clock, a day unless the operator sets it: a producer's resent
// batch is a duplicate before, and new after.
func TestExpireProducers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		broker map[string]string
		kept   time.Duration // idle this long, the state stays
	}{
		{"default", nil, 24 * time.Hour},
		{"set", map[string]string{"producer.id.expiration.ms": "60000"}, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			now := time.UnixMilli(1_700_000_000_000)
			store := metadatatest.OpenSQLite(t, metadata.Options{Now: func() time.Time { return now }})
			broker, err := topicconfig.NewBroker(tc.broker)
			if err != nil {
				t.Fatal(err)
			}
			topic, err := store.CreateTopic(ctx, metadata.TopicSpec{Name: "t", Partitions: 1})
			if err != nil {
				t.Fatal(err)
			}
			commit := func() metadata.BatchResult {
				t.Helper()
				res, err := store.CommitObject(ctx, metadata.ObjectCommit{Key: now.String(), Size: 10, Runs: []metadata.PartitionRun{{
					Topic: topic.ID, Batches: []metadata.BatchAppend{{ByteLength: 10, Records: 1, ProducerID: 7}}}}})
				if err != nil {
					t.Fatal(err)
				}
				return res.Runs[0][0]
			}
			log := slog.New(slog.DiscardHandler)
			commit()
			for _, step := range []struct {
				advance time.Duration
				dup     bool
			}{{tc.kept - time.Millisecond, true}, {time.Millisecond, false}} {
				now = now.Add(step.advance)
				expireProducers(ctx, store, broker, log)
				if r := commit(); r.Duplicate != step.dup || r.Err != nil {
					t.Fatalf("resend after %v idle: %+v, want duplicate %v", step.advance, r, step.dup)
				}
			}
		})
	}
}
