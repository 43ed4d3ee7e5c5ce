package bench

// What tailing consumers cost the metadata store (issue 18, item 2).

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	tailingConsumers  = 100
	tailingPartitions = 100
	// tailingRate is records per second over all partitions, 200 bytes
	// each: every 100 ms flush appends to most partitions.
	tailingRate   = 2000
	tailingWindow = 20 * time.Second
)

var tailingRacks = []string{"a", "b", "c"}

// BenchmarkTailingQueries runs three gateways (racks a, b and c) on MinIO
// and PostgreSQL, a producer in rack a, whose gateway therefore writes
// every partition, and tailingConsumers consumers, one per partition of a
// tailingPartitions-partition topic, spread over the three racks: a
// third read where the records were written, two thirds on gateways that
// learn of commits from the metadata store's notifications. Over
// tailingWindow at tailingRate records/s it counts each gateway's Fetch
// requests and the metadata queries its read path ran
// (caudal_read_queries_total), and the database's transactions. Issue
// 18's target: at most 0.05 queries per fetch. Every record produced must
// reach its consumer.
func BenchmarkTailingQueries(b *testing.B) {
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	db := openDBStats(b, metadataURL)
	var gws []*testenv.Process
	var httpAddrs []string
	for _, rack := range tailingRacks {
		h := testenv.FreeAddr(b)
		gws = append(gws, testenv.StartProcess(b, bucketURL, metadataURL, "--rack", rack, "--http-listen", h))
		httpAddrs = append(httpAddrs, h)
	}
	testenv.CreateTopics(b, gws[0].Addr, tailingPartitions, "tail")
	prod := newProducer(b, gws[0].Addr, "tail", kgo.ClientID("tail-producer;rack=a"))

	consumed := startTailers(b, gws)
	produced := produceTail(b, prod, 3*time.Second) // warm-up: connections, caches
	waitConsumed(b, consumed, produced)

	b.ResetTimer()
	before, db0 := scrapeAll(b, httpAddrs), db.read(b)
	produced += produceTail(b, prod, tailingWindow)
	waitConsumed(b, consumed, produced)
	after, db1 := scrapeAll(b, httpAddrs), db.read(b)
	b.StopTimer()

	var fetches, queries float64
	for i := range gws {
		if _, ok := after[i][`caudal_read_queries_total{query="partition"}`]; !ok {
			b.Fatalf("gateway %s exports no caudal_read_queries_total", tailingRacks[i])
		}
		d := after[i].sub(before[i])
		f := float64(d.request("Fetch").count)
		q := d[`caudal_read_queries_total{query="partition"}`] + d[`caudal_read_queries_total{query="index"}`] + d[`caudal_read_queries_total{query="aborted"}`]
		fetches += f
		queries += q
		report(b, "tailing: gateway %s: %.0f fetches, %.0f read queries (partition %.0f, index %.0f, aborted %.0f): %.4f per fetch",
			tailingRacks[i], f, q, d[`caudal_read_queries_total{query="partition"}`], d[`caudal_read_queries_total{query="index"}`],
			d[`caudal_read_queries_total{query="aborted"}`], q/max(f, 1))
	}
	xacts, _ := db1.sub(db0)
	perFetch := queries / max(fetches, 1)
	b.ReportMetric(perFetch, "queries/fetch")
	report(b, "tailing: %d consumers on %d partitions over 3 gateways, %d records/s of 200 B for %v, all %d records consumed: %.0f fetches, %.0f read-path metadata queries, %.4f per fetch (target <= 0.05: %s); the database committed %.0f transactions in all (produce commits, heartbeats, groups included), %.3f per fetch",
		tailingConsumers, tailingPartitions, tailingRate, tailingWindow, produced, fetches, queries, perFetch, verdict(perFetch <= 0.05), xacts, xacts/max(fetches, 1))
}

// startTailers starts one consumer per partition of the empty topic,
// from its start (so that none misses a record), in racks
// round-robin, each bootstrapped from its rack's gateway; it returns the
// records consumed so far.
func startTailers(b *testing.B, gws []*testenv.Process) *atomic.Int64 {
	b.Helper()
	var consumed atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range tailingConsumers {
		r := i % len(tailingRacks)
		cl := newClient(b, gws[r].Addr, kgo.ClientID("tailer-"+strconv.Itoa(i)+";rack="+tailingRacks[r]), kgo.Rack(tailingRacks[r]),
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"tail": {int32(i % tailingPartitions): kgo.NewOffset().AtStart()}}))
		wg.Go(func() {
			for ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				fs.EachError(func(t string, p int32, err error) {
					if ctx.Err() == nil {
						b.Errorf("tailer %d: fetch %s/%d: %v", i, t, p, err)
					}
				})
				consumed.Add(int64(fs.NumRecords()))
			}
		})
	}
	// Registered after the clients' Close, so that it runs before them.
	b.Cleanup(func() { cancel(); wg.Wait() })
	return &consumed
}

// produceTail produces tailingRate records/s of 200 bytes round-robin
// over the partitions for d, and returns how many; any failure fails b.
func produceTail(b *testing.B, cl *kgo.Client, d time.Duration) int64 {
	b.Helper()
	n := int(float64(tailingRate) * d.Seconds())
	interval := time.Second / tailingRate
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > time.Millisecond {
			time.Sleep(wait)
		}
		wg.Add(1)
		cl.Produce(context.Background(), &kgo.Record{Topic: "tail", Partition: int32(i % tailingPartitions), Value: make([]byte, 200)},
			func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Add(1)
				}
				wg.Done()
			})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d records failed", f, n)
	}
	return int64(n)
}

// waitConsumed waits until the tailers have consumed want records.
func waitConsumed(b *testing.B, consumed *atomic.Int64, want int64) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for consumed.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("tailers consumed %d of %d records", consumed.Load(), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := consumed.Load(); got != want {
		b.Fatalf("tailers consumed %d records, %d produced", got, want)
	}
}

func scrapeAll(b *testing.B, httpAddrs []string) []series {
	out := make([]series, len(httpAddrs))
	for i, h := range httpAddrs {
		out[i] = scrapeMetrics(b, h)
	}
	return out
}
