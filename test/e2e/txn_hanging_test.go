package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestHangingTransaction: a producer opens a transaction with a 4 s
// timeout, writes to a partition and disappears. The partition's last
// stable offset stays at the transaction's first offset while others
// write after it, so read_committed consumers wait; once the timeout
// passes the coordinator aborts the transaction (fencing its producer),
// the last stable offset reaches the end, and read_committed consumers
// see everything written after it but none of the hanging records.
func TestHangingTransaction(t *testing.T) {
	t.Parallel()
	const topic = "txn-hang"
	p := testenv.StartDev(t, "--flush-interval", "10ms")
	testenv.CreateTopics(t, p.Addr, 1, topic)
	ctx := testCtx(t, time.Minute)
	plain := newClient(t, p.Addr, kgo.DefaultProduceTopic(topic))
	produce := func(cl *kgo.Client, value string) {
		t.Helper()
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", value, err)
		}
	}
	produce(plain, "before")

	cl := rawTxnClient(t, p.Addr)
	const timeout = 4 * time.Second
	x := initRawTxn(t, ctx, cl, "txn-hanging", int32(timeout.Milliseconds()))
	started := time.Now()
	wantOK(t, "AddPartitionsToTxn", x.addPartitions(map[string][]int32{topic: {0}})[topic])
	hang := x.produce(topic, 0, 0, "hang-1", "hang-2")
	wantOK(t, "hanging produce", hang.ErrorCode)
	if hang.BaseOffset != 1 {
		t.Fatalf("hanging batch at offset %d, want 1", hang.BaseOffset)
	}

	// Others write after it: a plain producer and another transaction.
	produce(plain, "after-plain")
	other := newClient(t, p.Addr, kgo.DefaultProduceTopic(topic), kgo.TransactionalID("txn-after-hanging"))
	if err := other.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce(other, "after-txn")
	if err := other.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit the transaction after the hanging one: %v", err)
	}
	lso := lastStableOffset(t, ctx, cl, topic, 0)
	if elapsed := time.Since(started); elapsed >= timeout {
		t.Fatalf("the writes after the hanging transaction took %v, past its timeout: its hold on the last stable offset cannot be checked", elapsed)
	}
	if lso != 1 {
		t.Fatalf("last stable offset %d while the transaction hangs, want 1 (its first offset)", lso)
	}

	waitFor(t, 15*time.Second, "the last stable offset to move past the hanging transaction", func() bool {
		return lastStableOffset(t, ctx, cl, topic, 0) > 1
	})
	t.Logf("last stable offset moved on %v after the transaction began (timeout %v)", time.Since(started), timeout)
	ends, err := kadm.NewClient(plain).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	if lso := lastStableOffset(t, ctx, cl, topic, 0); lso != end.Offset {
		t.Errorf("last stable offset %d after the abort, want the high watermark %d", lso, end.Offset)
	}

	// The abort bumped the epoch: the vanished producer is fenced.
	if err := kerr.ErrorForCode(x.end(true)); err != kerr.ProducerFenced && err != kerr.InvalidProducerEpoch {
		t.Errorf("EndTxn commit from the timed-out producer: %v, want PRODUCER_FENCED", err)
	}
	if err := kerr.ErrorForCode(x.produce(topic, 0, 2, "zombie").ErrorCode); err == nil {
		t.Errorf("the timed-out producer could still write")
	}

	vals := committedValues(t, p.Addr, topic, 3)
	slices.Sort(vals)
	if !slices.Equal(vals, []string{"after-plain", "after-txn", "before"}) {
		t.Errorf("read_committed consumer saw %q, want before, after-plain, after-txn", vals)
	}
}
