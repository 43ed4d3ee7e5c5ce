package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// clusterFlags make gateways flush often and notice each other quickly.
var clusterFlags = []string{"--flush-interval", "20ms", "--heartbeat-interval", "250ms", "--gateway-timeout", "1s"}

// startCluster runs n gateway processes on one fresh bucket and database.
func startCluster(t *testing.T, n int, extra ...string) (bucketURL, metadataURL string, gws []*testenv.Process) {
	t.Helper()
	bucketURL, metadataURL = testenv.StoreURLs(t, testenv.Cloud)
	for range n {
		gws = append(gws, testenv.StartProcess(t, bucketURL, metadataURL, append(slices.Clone(clusterFlags), extra...)...))
	}
	for _, gw := range gws {
		waitBrokers(t, gw.Addr, func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == n })
	}
	return bucketURL, metadataURL, gws
}

// metadataFrom asks the gateway at addr itself (not any broker it names).
func metadataFrom(ctx context.Context, addr string, topics ...string) (*kmsg.MetadataResponse, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	for _, topic := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
	}
	return req.RequestWith(ctx, cl.SeedBrokers()[0])
}

// waitBrokers waits until the gateway at addr answers Metadata with a
// response that ok accepts, and returns it.
func waitBrokers(t *testing.T, addr string, ok func(*kmsg.MetadataResponse) bool, topics ...string) *kmsg.MetadataResponse {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last *kmsg.MetadataResponse
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		m, err := metadataFrom(ctx, addr, topics...)
		cancel()
		if err == nil {
			last = m
			if ok(m) {
				return m
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("gateway %s: metadata never as expected; last: %+v", addr, last)
	return nil
}

func addrOf(b kmsg.MetadataResponseBroker) string {
	return net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
}

// TestClusterKillAndScaleOut runs three gateway processes on MinIO and
// PostgreSQL with idempotent producers and one consumer group spread over
// all three. The group's coordinator is killed with SIGKILL mid-stream
// (the group moves to another gateway) and a fourth
// joins later. Every acknowledged record is consumed, none is stored
// twice, no record is consumed again once its offset was committed, and
// committed offsets never go backwards. The new gateway leads partitions
// and receives produce traffic after the clients' next metadata refresh.
func TestClusterKillAndScaleOut(t *testing.T) {
	const (
		topic      = "cluster"
		group      = "cluster-group"
		partitions = 12
	)
	bucketURL, metadataURL, gws := startCluster(t, 3)
	testenv.CreateTopics(t, gws[0].Addr, partitions, topic)
	ctx := testCtx(t, 3*time.Minute)
	fast := []kgo.Opt{kgo.MetadataMinAge(100 * time.Millisecond), kgo.MetadataMaxAge(time.Second)}

	// Produce writes per broker node, to see traffic reach the new gateway.
	var writesMu sync.Mutex
	writes := map[int32]int{}
	hook := produceWriteHook(func(node int32) {
		writesMu.Lock()
		writes[node]++
		writesMu.Unlock()
	})

	// Producers: one per gateway, each its own idempotent producer.
	var (
		ackMu   sync.Mutex
		acked   = map[string]bool{}
		failed  atomic.Int64
		stopPrd = make(chan struct{})
		prodWG  sync.WaitGroup
	)
	for i, gw := range gws {
		cl := newClient(t, gw.Addr, append(fast, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(5*time.Millisecond), kgo.WithHooks(hook))...)
		prodWG.Go(func() {
			var pending sync.WaitGroup
			defer pending.Wait()
			for n := 0; ; n++ {
				select {
				case <-stopPrd:
					return
				default:
				}
				id := fmt.Sprintf("p%d-%06d", i, n)
				pending.Add(1)
				cl.Produce(ctx, &kgo.Record{Key: []byte(id), Value: []byte(id)}, func(r *kgo.Record, err error) {
					defer pending.Done()
					if err != nil {
						failed.Add(1)
						return
					}
					ackMu.Lock()
					acked[id] = true
					ackMu.Unlock()
				})
				time.Sleep(2 * time.Millisecond)
			}
		})
	}

	// The group: one consumer seeded with each gateway, committing after
	// every poll before it lets a rebalance happen.
	var (
		conMu     sync.Mutex
		seenAt    = map[string]string{} // id → "partition/offset" where it was read
		committed = map[int32]int64{}   // highest offset committed successfully
		problems  []string
		consumed  atomic.Int64
		stopCons  = make(chan struct{})
		consWG    sync.WaitGroup
	)
	problem := func(format string, args ...any) {
		conMu.Lock()
		defer conMu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	for _, gw := range gws {
		cl := newClient(t, gw.Addr, append(fast, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
			kgo.SessionTimeout(6*time.Second), kgo.RebalanceTimeout(10*time.Second), kgo.HeartbeatInterval(500*time.Millisecond),
			kgo.FetchMaxWait(time.Second))...)
		consWG.Go(func() {
			for {
				select {
				case <-stopCons:
					return
				default:
				}
				pctx, cancel := context.WithTimeout(ctx, time.Second)
				fs := cl.PollFetches(pctx)
				cancel()
				var recs []*kgo.Record
				fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
				conMu.Lock()
				for _, r := range recs {
					at := fmt.Sprintf("%d/%d", r.Partition, r.Offset)
					if r.Offset < committed[r.Partition] {
						if len(problems) < 20 {
							problems = append(problems, fmt.Sprintf("%s read again at %s after offset %d was committed", r.Value, at, committed[r.Partition]))
						}
					}
					if prev, ok := seenAt[string(r.Value)]; ok && prev != at {
						if len(problems) < 20 {
							problems = append(problems, fmt.Sprintf("%s stored twice: at %s and %s", r.Value, prev, at))
						}
					}
					seenAt[string(r.Value)] = at
				}
				conMu.Unlock()
				consumed.Add(int64(len(recs)))
				if len(recs) > 0 {
					cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					err := cl.CommitRecords(cctx, recs...)
					cancel()
					if err == nil {
						conMu.Lock()
						for _, r := range recs {
							committed[r.Partition] = max(committed[r.Partition], r.Offset+1)
						}
						conMu.Unlock()
					}
				}
				cl.AllowRebalance()
			}
		})
	}

	// Committed offsets, polled through any gateway, never go backwards.
	adm := kadm.NewClient(newClient(t, gws[0].Addr, append(fast, kgo.SeedBrokers(gws[0].Addr, gws[1].Addr, gws[2].Addr))...))
	stopMon := make(chan struct{})
	var monWG sync.WaitGroup
	monWG.Go(func() {
		last := map[int32]int64{}
		for {
			select {
			case <-stopMon:
				return
			case <-time.After(200 * time.Millisecond):
			}
			fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			offs, err := adm.FetchOffsets(fctx, group)
			cancel()
			if err != nil {
				continue
			}
			offs.Each(func(o kadm.OffsetResponse) {
				if o.Err != nil {
					return
				}
				if o.At < last[o.Partition] {
					problem("committed offset of partition %d went back from %d to %d", o.Partition, last[o.Partition], o.At)
				}
				last[o.Partition] = max(last[o.Partition], o.At)
			})
		}
	})

	progress := func(what string, d time.Duration) {
		t.Helper()
		start := consumed.Load()
		time.Sleep(d)
		ackMu.Lock()
		n := len(acked)
		ackMu.Unlock()
		t.Logf("%s: %d acked, %d consumed (+%d)", what, n, consumed.Load(), consumed.Load()-start)
		if consumed.Load() == start {
			t.Errorf("%s: nothing consumed in %v", what, d)
		}
	}
	progress("three gateways", 4*time.Second)

	// SIGKILL the group's coordinator mid-stream: nothing it buffered is
	// flushed, and the group moves to another gateway.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey, fc.CoordinatorKeys = group, []string{group}
	fresp, err := fc.RequestWith(ctx, newClient(t, gws[0].Addr).SeedBrokers()[0])
	if err != nil || len(fresp.Coordinators) != 1 || fresp.Coordinators[0].ErrorCode != 0 {
		t.Fatalf("find coordinator: %v %+v", err, fresp)
	}
	fr := fresp.Coordinators[0]
	victim := slices.IndexFunc(gws, func(p *testenv.Process) bool { return p.Addr == net.JoinHostPort(fr.Host, strconv.Itoa(int(fr.Port))) })
	if victim < 0 {
		t.Fatalf("coordinator %s:%d is none of the gateways", fr.Host, fr.Port)
	}
	gws[victim].Kill()
	alive := slices.Delete(slices.Clone(gws), victim, victim+1)
	waitBrokers(t, alive[0].Addr, func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == 2 })
	progress("after kill -9", 5*time.Second)

	// A fourth gateway joins; the clients find it on their next refresh.
	gw4 := testenv.StartProcess(t, bucketURL, metadataURL, clusterFlags...)
	var newNode int32 = -1
	m := waitBrokers(t, alive[0].Addr, func(m *kmsg.MetadataResponse) bool {
		for _, b := range m.Brokers {
			if addrOf(b) == gw4.Addr {
				newNode = b.NodeID
			}
		}
		return len(m.Brokers) == 3 && newNode >= 0
	}, topic)
	var led []int32
	for _, p := range m.Topics[0].Partitions {
		if p.Leader == newNode {
			led = append(led, p.Partition)
		}
	}
	if len(led) == 0 || len(led) == partitions {
		t.Errorf("the new gateway leads %d of %d partitions, want a share", len(led), partitions)
	}
	progress("after the fourth gateway joined", 5*time.Second)
	writesMu.Lock()
	toNew := writes[newNode]
	writesMu.Unlock()
	if toNew == 0 {
		t.Errorf("no produce request reached the new gateway (node %d, leading %v)", newNode, led)
	}
	// A producer seeded elsewhere produces to the new gateway's partitions.
	direct := newClient(t, alive[1].Addr, append(fast, kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	for _, p := range led {
		id := fmt.Sprintf("direct-%d", p)
		if err := direct.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte(id)}).FirstErr(); err != nil {
			t.Errorf("produce to partition %d led by the new gateway: %v", p, err)
			continue
		}
		ackMu.Lock()
		acked[id] = true
		ackMu.Unlock()
	}

	close(stopPrd)
	prodWG.Wait()
	ackMu.Lock()
	want := len(acked)
	ackMu.Unlock()
	t.Logf("producers stopped: %d acked, %d failed (not acked)", want, failed.Load())

	// Drain: every acknowledged record must reach the group.
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := 0
		conMu.Lock()
		ackMu.Lock()
		for id := range acked {
			if _, ok := seenAt[id]; !ok {
				missing++
			}
		}
		ackMu.Unlock()
		conMu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d of %d acknowledged records never consumed", missing, want)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	close(stopCons)
	consWG.Wait()
	close(stopMon)
	monWG.Wait()
	conMu.Lock()
	defer conMu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	if want < 1000 {
		t.Errorf("only %d records acknowledged", want)
	}
	if t.Failed() {
		for i, gw := range append(gws, gw4) {
			t.Logf("gateway %d log:\n%s", i, testenv.Tail(gw.Log(), 3000))
		}
	}
}

// produceWriteHook counts produce requests written to each broker.
type produceWriteHook func(node int32)

func (h produceWriteHook) OnBrokerWrite(meta kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == kmsg.Produce.Int16() && err == nil {
		h(meta.NodeID)
	}
}

// idemBatch is rawBatch as an idempotent producer's batch.
func idemBatch(pid int64, epoch int16, seq int32, values ...[]byte) []byte {
	ts := make([]int64, len(values))
	for i := range ts {
		ts[i] = time.Now().UnixMilli()
	}
	b := rawBatch(ts, values...)
	binary.BigEndian.PutUint64(b[43:], uint64(pid))
	binary.BigEndian.PutUint16(b[51:], uint16(epoch))
	binary.BigEndian.PutUint32(b[53:], uint32(seq))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestIdempotentProducerAcrossGateways: an idempotent producer whose
// partition moves to another gateway keeps its sequence numbers there: a
// retry of a batch written through the first gateway is a duplicate with
// the original offset, the next sequence continues, and a gap is refused.
func TestIdempotentProducerAcrossGateways(t *testing.T) {
	_, _, gws := startCluster(t, 2)
	const topic = "idem"
	testenv.CreateTopics(t, gws[0].Addr, 1, topic)
	a, b := newClient(t, gws[0].Addr), newClient(t, gws[1].Addr)
	ctx := testCtx(t, time.Minute)
	init := kmsg.NewPtrInitProducerIDRequest()
	ir, err := init.RequestWith(ctx, a.SeedBrokers()[0])
	if err != nil || ir.ErrorCode != 0 {
		t.Fatalf("init producer id: %v %v", err, kerr.ErrorForCode(ir.ErrorCode))
	}
	pid, epoch := ir.ProducerID, ir.ProducerEpoch
	send := func(cl *kgo.Client, seq int32, values ...string) kmsg.ProduceResponseTopicPartition {
		t.Helper()
		vs := make([][]byte, len(values))
		for i, v := range values {
			vs[i] = []byte(v)
		}
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 10_000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = idemBatch(pid, epoch, seq, vs...)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl.SeedBrokers()[0])
		if err != nil {
			t.Fatalf("produce seq %d: %v", seq, err)
		}
		return resp.Topics[0].Partitions[0]
	}
	check := func(what string, p kmsg.ProduceResponseTopicPartition, code *kerr.Error, base int64) {
		t.Helper()
		if code != nil {
			wantCode(t, what, p.ErrorCode, code)
			return
		}
		if p.ErrorCode != 0 {
			t.Errorf("%s: error %v", what, kerr.ErrorForCode(p.ErrorCode))
		} else if p.BaseOffset != base {
			t.Errorf("%s: base offset %d, want %d", what, p.BaseOffset, base)
		}
	}
	check("seq 0 via A", send(a, 0, "a", "b", "c"), nil, 0)
	check("retry of seq 0 via B", send(b, 0, "a", "b", "c"), nil, 0)
	check("seq 3 via B", send(b, 3, "d", "e"), nil, 3)
	check("retry of seq 3 via A", send(a, 3, "d", "e"), nil, 3)
	check("seq 5 via A", send(a, 5, "f"), nil, 5)
	check("gap (seq 9) via B", send(b, 9, "x"), kerr.OutOfOrderSequenceNumber, 0)
	got := consumeAll(t, gws[1].Addr, []string{topic}, 6)
	var vals []string
	for _, r := range got[topic][0] {
		vals = append(vals, string(r.Value))
	}
	if !slices.Equal(vals, []string{"a", "b", "c", "d", "e", "f"}) {
		t.Errorf("stored %q, want a..f once each", vals)
	}
}

// TestLongPollAcrossGateways: a consumer long-polling on one gateway gets
// a record committed through another well within its wait.
func TestLongPollAcrossGateways(t *testing.T) {
	_, _, gws := startCluster(t, 2)
	const topic = "longpoll"
	testenv.CreateTopics(t, gws[0].Addr, 1, topic)
	ctx := testCtx(t, time.Minute)
	m := waitBrokers(t, gws[1].Addr, func(*kmsg.MetadataResponse) bool { return true }, topic)
	b := newClient(t, gws[1].Addr)
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 20_000, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, m.Topics[0].TopicID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	type result struct {
		resp *kmsg.FetchResponse
		err  error
		at   time.Time
	}
	done := make(chan result, 1)
	go func() {
		resp, err := req.RequestWith(ctx, b.SeedBrokers()[0])
		done <- result{resp, err, time.Now()}
	}()
	time.Sleep(500 * time.Millisecond) // the fetch is waiting now
	a := newClient(t, gws[0].Addr, kgo.DefaultProduceTopic(topic))
	if err := a.ProduceSync(ctx, &kgo.Record{Value: []byte("wake up")}).FirstErr(); err != nil {
		t.Fatalf("produce via A: %v", err)
	}
	ackedAt := time.Now()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("fetch via B: %v", r.err)
		}
		if p := r.resp.Topics[0].Partitions[0]; len(p.RecordBatches) == 0 {
			t.Fatalf("fetch via B returned no records (error %v)", kerr.ErrorForCode(p.ErrorCode))
		}
		t.Logf("fetch via B returned %v after the ack via A", r.at.Sub(ackedAt))
	case <-time.After(5 * time.Second):
		t.Fatal("the long poll on B was not woken within 5s of a commit on A")
	}
}
