package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestTransactionBadInput sends one transactional producer's requests by
// hand, with mistakes among them, and checks Kafka's answer to each:
// EndTxn with nothing open, AddPartitionsToTxn naming an unknown topic,
// a sequence gap, a Produce (v11) to a partition never added,
// InitProducerId with a timeout above transaction.max.timeout.ms, and a
// TxnOffsetCommit with a live member's wrong generation. None of them may
// disturb the transaction: it then commits, and a read_committed consumer
// and the group's offsets see exactly what it committed.
func TestTransactionBadInput(t *testing.T) {
	t.Parallel()
	const (
		topic = "txn-bad"
		group = "txn-bad-group"
	)
	p := testenv.StartDev(t, "--flush-interval", "10ms")
	testenv.CreateTopics(t, p.Addr, 2, topic)
	ctx := testCtx(t, time.Minute)
	cl := rawTxnClient(t, p.Addr)
	x := initRawTxn(t, ctx, cl, "txn-bad-input", 60_000)

	wantCode(t, "EndTxn commit with no transaction open", x.end(true), kerr.InvalidTxnState)
	wantCode(t, "EndTxn abort with no transaction open", x.end(false), kerr.InvalidTxnState)

	codes := x.addPartitions(map[string][]int32{topic: {0}, "txn-no-such-topic": {0}})
	wantCode(t, "AddPartitionsToTxn: the unknown topic", codes["txn-no-such-topic"], kerr.UnknownTopicOrPartition)
	wantCode(t, "AddPartitionsToTxn: the known topic beside it", codes[topic], kerr.OperationNotAttempted)
	wantCode(t, "EndTxn after a refused AddPartitionsToTxn (nothing opened)", x.end(true), kerr.InvalidTxnState)

	wantOK(t, "AddPartitionsToTxn", x.addPartitions(map[string][]int32{topic: {0}})[topic])
	wantOK(t, "produce seq 0", x.produce(topic, 0, 0, "a", "b").ErrorCode)
	wantCode(t, "produce with a sequence gap (seq 5, want 2)", x.produce(topic, 0, 5, "gap").ErrorCode, kerr.OutOfOrderSequenceNumber)
	wantCode(t, "produce v11 to a partition never added", x.produce(topic, 1, 0, "never-added").ErrorCode, kerr.InvalidTxnState)

	pid, epoch := x.pid, x.epoch
	wantCode(t, "InitProducerId with a timeout above transaction.max.timeout.ms", x.init(900_001), kerr.InvalidTransactionTimeout)
	if x.pid != pid || x.epoch != epoch {
		t.Fatalf("refused InitProducerId changed the producer: %d/%d, was %d/%d", x.pid, x.epoch, pid, epoch)
	}

	member, generation := joinedMember(t, ctx, p.Addr, group, topic)
	aoReq := kmsg.NewPtrAddOffsetsToTxnRequest()
	aoReq.TransactionalID, aoReq.ProducerID, aoReq.ProducerEpoch, aoReq.Group = x.id, x.pid, x.epoch, group
	ao, err := aoReq.RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil {
		t.Fatalf("add offsets to txn: %v", err)
	}
	wantOK(t, "AddOffsetsToTxn", ao.ErrorCode)
	wantCode(t, "TxnOffsetCommit with a wrong generation", txnOffsetCommit(t, ctx, x, group, member, generation+1, topic, 2), kerr.IllegalGeneration)
	wantOK(t, "TxnOffsetCommit", txnOffsetCommit(t, ctx, x, group, member, generation, topic, 2))

	wantOK(t, "produce seq 2 after the refused ones", x.produce(topic, 0, 2, "c").ErrorCode)
	wantOK(t, "EndTxn commit", x.end(true))

	vals := committedValues(t, p.Addr, topic, 3)
	slices.Sort(vals)
	if !slices.Equal(vals, []string{"a", "b", "c"}) {
		t.Errorf("read_committed consumer saw %q, want a, b, c", vals)
	}
	offs, err := kadm.NewClient(newClient(t, p.Addr)).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets: %v", err)
	}
	if o, ok := offs.Lookup(topic, 0); !ok || o.At != 2 || o.Err != nil {
		t.Errorf("group offset of %s/0 after the commit: %+v, want 2", topic, o)
	}
}

// joinedMember joins group with a consumer of topic that never commits
// and returns its member id and generation once it has them; the member
// stays in the group until the test ends.
func joinedMember(t *testing.T, ctx context.Context, addr, group, topic string) (string, int32) {
	t.Helper()
	cons := newClient(t, addr, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit())
	var (
		member     string
		generation int32
	)
	waitFor(t, 30*time.Second, "the consumer to join "+group, func() bool {
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		cons.PollFetches(pctx)
		cancel()
		member, generation = cons.GroupMetadata()
		return generation > 0
	})
	return member, generation
}

// txnOffsetCommit stages offset for topic/0 in x's transaction on behalf
// of member at generation and returns the partition's error code.
func txnOffsetCommit(t *testing.T, ctx context.Context, x *rawTxn, group, member string, generation int32, topic string, offset int64) int16 {
	t.Helper()
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = x.id, group, x.pid, x.epoch
	req.MemberID, req.Generation = member, generation
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = 0, offset, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, x.cl.SeedBrokers()[0])
	if err != nil {
		t.Fatalf("txn offset commit: %v", err)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}
