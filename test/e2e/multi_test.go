package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTwoGateways runs two gateway processes on the same MinIO bucket and
// PostgreSQL database. Idempotent producers on both write the same
// partitions at once; a consumer of either gateway then reads every record
// once at dense offsets — the second gateway reading the first's objects
// from the bucket.
func TestTwoGateways(t *testing.T) {
	t.Parallel()
	const (
		topic      = "shared"
		partitions = 4
		perGateway = 10_000
	)
	bucketURL, metadataURL := testenv.StoreURLs(t, testenv.Cloud)
	gws := []*testenv.Process{
		testenv.StartProcess(t, bucketURL, metadataURL, "--flush-interval", "20ms"),
		testenv.StartProcess(t, bucketURL, metadataURL, "--flush-interval", "20ms"),
	}
	testenv.CreateTopics(t, gws[0].Addr, partitions, topic)
	ctx := testCtx(t, 2*time.Minute)
	var wg sync.WaitGroup
	for g, p := range gws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := newClient(t, p.Addr, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(2*time.Millisecond))
			var pending sync.WaitGroup
			for i := 0; i < perGateway; i++ {
				pending.Add(1)
				cl.Produce(ctx, &kgo.Record{Key: fmt.Appendf(nil, "%d", i%13), Value: fmt.Appendf(nil, "gw%d-%d", g, i)}, func(r *kgo.Record, err error) {
					defer pending.Done()
					if err != nil {
						t.Errorf("produce via gateway %d: %v", g, err)
					}
				})
			}
			pending.Wait()
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for g, p := range gws {
		got := consumeAll(t, p.Addr, []string{topic}, 2*perGateway)
		seen := map[string]bool{}
		for part, recs := range got[topic] {
			for j, r := range recs {
				if r.Offset != int64(j) {
					t.Fatalf("via gateway %d: partition %d record %d at offset %d", g, part, j, r.Offset)
				}
				if seen[string(r.Value)] {
					t.Errorf("via gateway %d: %s stored twice", g, r.Value)
				}
				seen[string(r.Value)] = true
			}
		}
		if len(seen) != 2*perGateway {
			t.Errorf("via gateway %d: %d distinct records, want %d", g, len(seen), 2*perGateway)
		}
	}
}

// TestTailingConsumer starts a consumer at the end of an empty topic and
// then produces: long-polling fetches are woken by commits and see every
// record in order.
func TestTailingConsumer(t *testing.T) {
	const partitions, n = 2, 3000
	onEachBackend(t, func(t *testing.T, c *testenv.Caudal) {
		topics := []string{"tail"}
		testenv.CreateTopics(t, c.Addr, partitions, topics...)
		cons := newClient(t, c.Addr, kgo.ConsumeTopics(topics...), kgo.FetchMaxWait(5*time.Second),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())) // the topic is empty
		ctx := testCtx(t, time.Minute)
		// Nothing is there yet: the first poll waits and times out.
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		cons.PollFetches(pctx)
		cancel()
		got := map[string]map[int32][]*kgo.Record{"tail": {}}
		done := make(chan int)
		go func() {
			count := 0
			defer func() { done <- count }()
			for count < n {
				fs := cons.PollFetches(ctx)
				if ctx.Err() != nil {
					return
				}
				fs.EachRecord(func(r *kgo.Record) {
					got["tail"][r.Partition] = append(got["tail"][r.Partition], r)
					count++
				})
			}
		}()
		start := time.Now()
		pr := newClient(t, c.Addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
		produceAll(t, ctx, pr, topics, partitions, 0, n)
		if count := <-done; count != n {
			t.Fatalf("tailed %d of %d records", count, n)
		}
		checkRecords(t, got, topics, partitions, n)
		t.Logf("tailed %d records in %v", n, time.Since(start))
	})
}
