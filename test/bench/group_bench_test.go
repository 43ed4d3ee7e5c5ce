package bench

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkGroupRebalance times 10 kgo members over a 100-partition topic
// from the first join until every partition is assigned.
func BenchmarkGroupRebalance(b *testing.B) {
	c := testenv.StartCaudal(b, testenv.Dev, gateway.Config{FlushInterval: 20 * time.Millisecond})
	testenv.CreateTopics(b, c.Addr, 100, "rebal100")
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		var mu sync.Mutex
		owned := map[int32]bool{}
		all := make(chan struct{})
		var once sync.Once
		start := time.Now()
		var cls []*kgo.Client
		for range 10 {
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addr), kgo.ConsumerGroup("bench-"+strconv.Itoa(i)), kgo.ConsumeTopics("rebal100"),
				kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.HeartbeatInterval(200*time.Millisecond),
				kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
					mu.Lock()
					defer mu.Unlock()
					for _, p := range ps["rebal100"] {
						owned[p] = true
					}
					if len(owned) == 100 {
						once.Do(func() { close(all) })
					}
				}))
			if err != nil {
				b.Fatal(err)
			}
			cls = append(cls, cl)
			go cl.PollFetches(ctx)
		}
		select {
		case <-all:
		case <-time.After(2 * time.Minute):
			b.Fatal("partitions never all assigned")
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/rebalance")
		for _, cl := range cls {
			cl.Close()
		}
	}
}

// BenchmarkOffsetCommitPostgres measures OffsetCommit requests (16
// partitions each) against PostgreSQL, 4 committers at once.
func BenchmarkOffsetCommitPostgres(b *testing.B) {
	c := testenv.StartCaudal(b, testenv.Cloud, gateway.Config{FlushInterval: 20 * time.Millisecond})
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addr))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	testenv.CreateTopics(b, c.Addr, 16, "commits")
	ctx := context.Background()
	b.SetParallelism(2) // 2 × GOMAXPROCS(2) = 4 committers
	start := time.Now()
	var n int64
	var mu sync.Mutex
	b.RunParallel(func(pb *testing.PB) {
		off := int64(0)
		for pb.Next() {
			off++
			req := kmsg.NewPtrOffsetCommitRequest()
			req.Group, req.Generation = "bench-commits", -1
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = "commits"
			for p := range int32(16) {
				rp := kmsg.NewOffsetCommitRequestTopicPartition()
				rp.Partition, rp.Offset = p, off
				rt.Partitions = append(rt.Partitions, rp)
			}
			req.Topics = []kmsg.OffsetCommitRequestTopic{rt}
			resp, err := req.RequestWith(ctx, cl)
			if err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
				b.Errorf("commit: %v", err)
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
		}
	})
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "commits/s")
}
