package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTransactionsCommitAbort produces a committed and an aborted
// transaction with kgo at both transaction versions, and reads them back
// read_committed (only the committed records), read_uncommitted (all of
// them) and with ListOffsets' latest under both isolation levels.
func TestTransactionsCommitAbort(t *testing.T) {
	t.Parallel()
	for _, tv := range []string{"1", "2"} {
		t.Run("tv"+tv, func(t *testing.T) {
			t.Parallel()
			p := testenv.StartDev(t, "--flush-interval", "10ms", "--transaction-version", tv)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			admin := kadm.NewClient(newClient(t, p.Addr))
			topic := "txn-" + tv
			if _, err := admin.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			prod := newClient(t, p.Addr, kgo.TransactionalID("tx-"+tv), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
			txn := func(commit bool, from, n int) {
				t.Helper()
				if err := prod.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				for i := from; i < from+n; i++ {
					if err := prod.ProduceSync(ctx, &kgo.Record{Partition: int32(i % 2), Value: fmt.Appendf(nil, "%d", i)}).FirstErr(); err != nil {
						t.Fatalf("produce %d: %v", i, err)
					}
				}
				if err := prod.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
					t.Fatalf("end transaction (commit %v): %v", commit, err)
				}
			}
			txn(true, 0, 10)
			txn(false, 10, 10)
			txn(true, 20, 10)

			got := consumeValues(t, ctx, p.Addr, topic, kgo.ReadCommitted(), 20)
			for v := range got {
				if v >= 10 && v < 20 {
					t.Errorf("read_committed consumer saw aborted record %d", v)
				}
			}
			if all := consumeValues(t, ctx, p.Addr, topic, kgo.ReadUncommitted(), 30); len(all) != 30 {
				t.Errorf("read_uncommitted saw %d records, want 30", len(all))
			}
			ends, err := admin.ListEndOffsets(ctx, topic)
			if err != nil {
				t.Fatal(err)
			}
			// 15 records and 3 markers on each of the two partitions.
			ends.Each(func(o kadm.ListedOffset) {
				if o.Offset != 18 {
					t.Errorf("partition %d: end offset %d, want 18", o.Partition, o.Offset)
				}
			})
		})
	}
}

// consumeValues reads want records of topic from the start and returns
// their values as numbers, failing on duplicates or on more than want.
func consumeValues(t *testing.T, ctx context.Context, addr, topic string, iso kgo.IsolationLevel, want int) map[int]bool {
	t.Helper()
	cl := newClient(t, addr, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(iso), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[int]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < want || time.Now().Before(deadline) {
		fctx, cancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(fctx)
		cancel()
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(got), want, err)
		}
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("fetch: %v", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			var v int
			fmt.Sscan(string(r.Value), &v)
			if got[v] {
				t.Fatalf("record %d read twice", v)
			}
			got[v] = true
		})
		if len(got) >= want && time.Now().After(deadline.Add(-4*time.Second)) {
			break
		}
	}
	if len(got) != want {
		t.Fatalf("consumed %d records, want %d", len(got), want)
	}
	return got
}
