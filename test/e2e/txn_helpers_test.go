package e2e

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"net"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// txnBatch is idemBatch as a transactional producer's batch (attribute
// bit 0x10).
func txnBatch(pid int64, epoch int16, seq int32, values ...[]byte) []byte {
	b := idemBatch(pid, epoch, seq, values...)
	b[22] |= 0x10
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// rawTxnClient is a client for hand-made transaction requests, pinned to
// transaction version 1's forms: AddPartitionsToTxn v3 (a producer's, not
// the brokers' batched v4+), Produce v11 (no implicit partition add),
// EndTxn v4 and TxnOffsetCommit v4 (no epoch bump, no implicit group add).
func rawTxnClient(t *testing.T, addr string) *kgo.Client {
	t.Helper()
	v := kversion.Stable()
	for key, max := range map[kmsg.Key]int16{kmsg.AddPartitionsToTxn: 3, kmsg.Produce: 11, kmsg.EndTxn: 4, kmsg.TxnOffsetCommit: 4} {
		v.SetMaxKeyVersion(key.Int16(), max)
	}
	return newClient(t, addr, kgo.MaxVersions(v))
}

// rawTxn is one transactional producer driven by hand-made requests to a
// single gateway.
type rawTxn struct {
	t     *testing.T
	ctx   context.Context
	cl    *kgo.Client
	id    string
	pid   int64
	epoch int16
}

// initRawTxn sends InitProducerId for id with the transaction timeout
// timeoutMs and returns the producer, failing the test unless it gets one.
func initRawTxn(t *testing.T, ctx context.Context, cl *kgo.Client, id string, timeoutMs int32) *rawTxn {
	t.Helper()
	x := &rawTxn{t: t, ctx: ctx, cl: cl, id: id}
	code := x.init(timeoutMs)
	if code != 0 {
		t.Fatalf("init producer id %s: %v", id, kerr.ErrorForCode(code))
	}
	return x
}

// init sends InitProducerId and, when it succeeds, takes the new producer
// id and epoch.
func (x *rawTxn) init(timeoutMs int32) int16 {
	x.t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID, req.TransactionTimeoutMillis = kmsg.StringPtr(x.id), timeoutMs
	resp, err := req.RequestWith(x.ctx, x.cl.SeedBrokers()[0])
	if err != nil {
		x.t.Fatalf("init producer id %s: %v", x.id, err)
	}
	if resp.ErrorCode == 0 {
		x.pid, x.epoch = resp.ProducerID, resp.ProducerEpoch
	}
	return resp.ErrorCode
}

// addPartitions sends AddPartitionsToTxn (v3) and returns each topic's
// first partition's error code.
func (x *rawTxn) addPartitions(topics map[string][]int32) map[string]int16 {
	x.t.Helper()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch = x.id, x.pid, x.epoch
	for topic, parts := range topics {
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = topic, parts
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(x.ctx, x.cl.SeedBrokers()[0])
	if err != nil {
		x.t.Fatalf("add partitions to %s: %v", x.id, err)
	}
	codes := map[string]int16{}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			codes[rt.Topic] = rp.ErrorCode
		}
	}
	return codes
}

// produce sends one transactional batch of values at sequence seq to
// topic/partition and returns the partition's answer.
func (x *rawTxn) produce(topic string, partition int32, seq int32, values ...string) kmsg.ProduceResponseTopicPartition {
	x.t.Helper()
	vs := make([][]byte, len(values))
	for i, v := range values {
		vs[i] = []byte(v)
	}
	req := kmsg.NewPtrProduceRequest()
	req.TransactionID = kmsg.StringPtr(x.id)
	req.Acks, req.TimeoutMillis = -1, 10_000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, txnBatch(x.pid, x.epoch, seq, vs...)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(x.ctx, x.cl.SeedBrokers()[0])
	if err != nil {
		x.t.Fatalf("transactional produce to %s/%d: %v", topic, partition, err)
	}
	return resp.Topics[0].Partitions[0]
}

// end sends EndTxn (v4) and returns its error code.
func (x *rawTxn) end(commit bool) int16 {
	x.t.Helper()
	req := kmsg.NewPtrEndTxnRequest()
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = x.id, x.pid, x.epoch, commit
	resp, err := req.RequestWith(x.ctx, x.cl.SeedBrokers()[0])
	if err != nil {
		x.t.Fatalf("end transaction %s: %v", x.id, err)
	}
	return resp.ErrorCode
}

// txnCoordinator asks the gateway at addr which gateway coordinates the
// transactional id and returns its address.
func txnCoordinator(ctx context.Context, addr, id string) (string, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return "", err
	}
	defer cl.Close()
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorType, req.CoordinatorKey, req.CoordinatorKeys = 1, id, []string{id}
	resp, err := req.RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil {
		return "", err
	}
	if len(resp.Coordinators) == 1 {
		c := resp.Coordinators[0]
		if err := kerr.ErrorForCode(c.ErrorCode); err != nil {
			return "", err
		}
		return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))), nil
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return "", err
	}
	return net.JoinHostPort(resp.Host, strconv.Itoa(int(resp.Port))), nil
}

// lastStableOffset is partition's latest offset as a read_committed
// consumer sees it (ListOffsets with isolation level 1).
func lastStableOffset(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, partition int32) int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.IsolationLevel = 1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = partition, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil {
		t.Fatalf("list offsets of %s/%d: %v", topic, partition, err)
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		t.Fatalf("list offsets of %s/%d: %v", topic, partition, err)
	}
	return p.Offset
}

// committedValues reads topic read_committed until n records arrived and
// returns their values; consumeAll fails on more or fewer.
func committedValues(t *testing.T, addr, topic string, n int) []string {
	t.Helper()
	var vals []string
	for _, recs := range consumeAll(t, addr, []string{topic}, n, kgo.FetchIsolationLevel(kgo.ReadCommitted()))[topic] {
		for _, r := range recs {
			vals = append(vals, string(r.Value))
		}
	}
	return vals
}

// wantOK fails the test unless code is 0 (wantCode compares with a
// *kerr.Error, which no code-0 answer equals).
func wantOK(t *testing.T, what string, code int16) {
	t.Helper()
	if err := kerr.ErrorForCode(code); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}
