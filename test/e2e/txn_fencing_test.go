package e2e

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestZombieFencing runs two kgo producers with one transactional id, at
// both transaction versions. The second's InitProducerId fences the first
// in the middle of its transaction: the zombie's later produce (to a
// partition already in its transaction and to a new one) fails as fenced,
// so its commit fails too, and a read_committed consumer sees only the second
// producer's records, none of the zombie's, before or after the fence.
func TestZombieFencing(t *testing.T) {
	t.Parallel()
	for _, tv := range []string{"1", "2"} {
		t.Run("tv"+tv, func(t *testing.T) {
			t.Parallel()
			const topic = "txn-fence"
			p := testenv.StartDev(t, "--flush-interval", "10ms", "--transaction-version", tv)
			testenv.CreateTopics(t, p.Addr, 2, topic)
			ctx := testCtx(t, time.Minute)
			opts := []kgo.Opt{kgo.TransactionalID("txn-fence-" + tv), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner())}
			produce := func(cl *kgo.Client, partition int32, value string) error {
				return cl.ProduceSync(ctx, &kgo.Record{Partition: partition, Value: []byte(value)}).FirstErr()
			}
			begin := func(cl *kgo.Client) {
				t.Helper()
				if err := cl.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
			}

			zombie := newClient(t, p.Addr, opts...)
			begin(zombie)
			if err := produce(zombie, 0, "zombie-before"); err != nil {
				t.Fatalf("zombie's first produce: %v", err)
			}
			successor := newClient(t, p.Addr, opts...)
			begin(successor)
			if err := produce(successor, 0, "successor-1"); err != nil {
				t.Fatalf("successor's produce: %v", err)
			}

			for _, part := range []int32{0, 1} {
				if err := produce(zombie, part, "zombie-after"); !fenced(err) {
					t.Errorf("zombie's produce to partition %d after the fence: %v, want PRODUCER_FENCED or INVALID_PRODUCER_EPOCH", part, err)
				}
			}
			// The fenced produce fails the zombie's producer id: kgo
			// then refuses the commit itself (OPERATION_NOT_ATTEMPTED).
			if err := zombie.EndTransaction(ctx, kgo.TryCommit); err == nil {
				t.Errorf("zombie committed after the fence")
			}
			if err := successor.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatalf("successor's commit: %v", err)
			}
			// Committed records after the zombie's attempts, on both
			// partitions: the consumer reads past wherever those lie.
			begin(successor)
			for part, v := range []string{"successor-2a", "successor-2b"} {
				if err := produce(successor, int32(part), v); err != nil {
					t.Fatalf("successor's produce: %v", err)
				}
			}
			if err := successor.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatalf("successor's second commit: %v", err)
			}

			vals := committedValues(t, p.Addr, topic, 3)
			slices.Sort(vals)
			if want := []string{"successor-1", "successor-2a", "successor-2b"}; !slices.Equal(vals, want) {
				t.Errorf("read_committed consumer saw %q, want %q", vals, want)
			}
		})
	}
}

// fenced reports whether err is how Kafka refuses a fenced producer.
func fenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch)
}
