package bench

// Fetch benchmarks against `caudal gateway` running as a child process on
// MinIO + PostgreSQL, each figure next to a baseline from the same run.
// Like the produce benchmarks, each measures one fixed workload per
// invocation whatever b.N is (see produce_bench_test.go).

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/test/testenv"
)

// BenchmarkColdFetchThroughput produces 256 MiB of 1 KiB records to 16
// partitions through one gateway, kills it, starts a new gateway process on
// the same stores (its read cache is empty) and consumes everything from the
// start with one kgo consumer (64 MiB fetches, 16 MiB per partition). The
// baseline is whole-object GETs of the same segment objects straight from
// MinIO, 4 concurrent, measured before and after (the better one counts).
// Both rates are the objects' bytes over the elapsed time.
func BenchmarkColdFetchThroughput(b *testing.B) {
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	const topic = "cold"

	writer := testenv.StartProcess(b, bucketURL, metadataURL)
	createTopic(b, writer.Addr, topic, benchPartitions)
	produceVolume(b, writer.Addr, topic, throughputBytes, 4)
	writer.Kill() // every record was acknowledged, so all of it is durable

	rawBefore, objs, objBytes := rawGetMBps(b, bucketURL, 4)

	httpAddr := testenv.FreeAddr(b)
	// The killed writer stays registered until its heartbeat is older than
	// the reader's --gateway-timeout; a short one keeps clients off it.
	p := testenv.StartProcess(b, bucketURL, metadataURL, "--http-listen", httpAddr, "--heartbeat-interval", "200ms", "--gateway-timeout", "1s")
	time.Sleep(1500 * time.Millisecond)
	pid := processPid(b, p)
	want := endOffsets(b, p.Addr, topic)
	cpu0 := sampleCPU(pid)

	b.ResetTimer()
	start := time.Now()
	cl := newClient(b, p.Addr,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: allPartitionsFrom(kgo.NewOffset().AtStart())}),
		kgo.FetchMaxBytes(64<<20),
		kgo.FetchMaxPartitionBytes(16<<20),
		kgo.BrokerMaxReadBytes(128<<20),
		kgo.FetchMaxWait(time.Second),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var got int64
	var fetches int
	for got < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			b.Fatalf("consumed %d of %d records: %v", got, want, err)
		}
		fs.EachError(func(t string, p int32, err error) { b.Fatalf("fetch %s/%d: %v", t, p, err) })
		got += int64(fs.NumRecords())
		fetches++
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := sampleCPU(pid).sub(cpu0)
	hwm := procStatusKB(pid, "VmHWM")
	gets := objstoreOps(b, httpAddr)["get_range"]

	rawAfter, _, _ := rawGetMBps(b, bucketURL, 4)
	raw := max(rawBefore, rawAfter)
	mbps := float64(objBytes) / 1e6 / elapsed.Seconds()
	ratio := mbps / raw

	b.ReportMetric(mbps, "caudal-MB/s")
	b.ReportMetric(raw, "rawget-MB/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(hwm)/1024, "gw-peak-RSS-MiB")
	report(b, "cold fetch: caudal %.1f MB/s (%d records, %d objects of %.1f MiB mean, %.1f MB in %.2fs, %d polls) vs raw MinIO GET ×4 %.1f MB/s (before %.1f, after %.1f): ratio %.2f (target >= 0.80: %s)",
		mbps, got, objs, float64(objBytes)/float64(max(objs, 1))/(1<<20), float64(objBytes)/1e6, elapsed.Seconds(), fetches,
		raw, rawBefore, rawAfter, ratio, verdict(ratio >= 0.8))
	report(b, "cold fetch: gateway ranged GETs %d, mean %.0f KiB and %.1f ms each, %.2f in flight on average",
		gets.count, float64(objBytes)/float64(max(gets.count, 1))/1024, gets.mean()*1000, gets.sum/elapsed.Seconds())
	report(b, "cold fetch: gateway peak RSS (VmHWM) %.1f MiB; CPU seconds during the run (%.2fs wall, %d cores): %s",
		float64(hwm)/1024, elapsed.Seconds(), runtimeCores(), cpu)
}

// BenchmarkEndToEndLatency produces 2,000 records/s of 1 KiB for 10 s with
// the send time in each value, through a gateway with the default 100 ms
// flush interval, while a kgo consumer tails the topic from its end through
// the same gateway; latency is receipt time minus produce start time.
func BenchmarkEndToEndLatency(b *testing.B) {
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	const topic = "e2e"
	p := testenv.StartProcess(b, bucketURL, metadataURL, "--flush-interval", flushInterval.String())
	createTopic(b, p.Addr, topic, benchPartitions)

	prod := newProducer(b, p.Addr, topic, kgo.ProducerLinger(0))
	warmUp(b, prod, topic)
	cons := newClient(b, p.Addr,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: allPartitionsFrom(kgo.NewOffset().AtEnd())}),
		kgo.FetchMaxWait(5*time.Second),
	)

	var (
		mu       sync.Mutex
		lats     []time.Duration
		measure  atomic.Bool // set once a marked warm-up record arrived
		received = make(chan struct{}, 1)
	)
	ctx, cancel := context.WithCancel(context.Background())
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for {
			fs := cons.PollFetches(ctx)
			now := time.Now()
			if ctx.Err() != nil {
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				if len(r.Value) != recordSize {
					select { // a warm-up record: the consumer is tailing
					case received <- struct{}{}:
					default:
					}
					return
				}
				if !measure.Load() {
					return
				}
				sent := time.Unix(0, int64(binary.BigEndian.Uint64(r.Value)))
				mu.Lock()
				lats = append(lats, now.Sub(sent))
				mu.Unlock()
			})
		}
	}()
	// Produce warm-up records until the consumer sees one, so that it has
	// its end offsets and is long-polling before timing starts.
	for ready := false; !ready; {
		warmUp(b, prod, topic)
		select {
		case <-received:
			ready = true
		case <-time.After(2 * time.Second):
		}
	}
	measure.Store(true)

	b.ResetTimer()
	plats, errs := pacedProduce(b, prod, topic, latencyRate, latencyDuration, nil)
	n := len(plats)
	// Wait for the consumer to catch up (or give up after 10 s).
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		done := len(lats) >= n
		mu.Unlock()
		if done {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-consumed

	mu.Lock()
	defer mu.Unlock()
	if errs > 0 {
		b.Errorf("%d produces failed", errs)
	}
	if len(lats) < n {
		b.Errorf("consumer received %d of %d records", len(lats), n)
	}
	p50, p99 := percentile(lats, 50), percentile(lats, 99)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(percentile(plats, 99)), "produce-p99-ms")
	report(b, "end-to-end latency at %d rec/s × 1 KiB, flush %s: %d records received, p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (produce ack in the same run: p50 %.1f ms, p99 %.1f ms)",
		latencyRate, flushInterval, len(lats), ms(p50), ms(percentile(lats, 90)), ms(p99), ms(percentile(lats, 100)),
		ms(percentile(plats, 50)), ms(percentile(plats, 99)))
}

func allPartitionsFrom(o kgo.Offset) map[int32]kgo.Offset {
	m := make(map[int32]kgo.Offset, benchPartitions)
	for p := range int32(benchPartitions) {
		m[p] = o
	}
	return m
}

// endOffsets is the number of records in the topic: the sum of its
// partitions' end offsets (all start at 0).
func endOffsets(b *testing.B, addr, topic string) int64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(newClient(b, addr)).ListEndOffsets(ctx, topic)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		b.Fatalf("list end offsets of %s: %v", topic, err)
	}
	var n int64
	offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// rawGetMBps GETs every object under bucketURL whole, from concurrency
// readers, and returns MB/s, the object count and their bytes.
func rawGetMBps(b *testing.B, bucketURL string, concurrency int) (float64, int, int64) {
	b.Helper()
	ctx := context.Background()
	bucket, err := objstore.Open(ctx, bucketURL)
	if err != nil {
		b.Fatal(err)
	}
	defer bucket.Close()
	var keys []string
	if err := bucket.List(ctx, "", func(a objstore.Attrs) error {
		keys = append(keys, a.Key)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var (
		next   atomic.Int64
		total  atomic.Int64
		failed atomic.Pointer[error]
		wg     sync.WaitGroup
	)
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(keys) || failed.Load() != nil {
					return
				}
				data, err := bucket.Get(ctx, keys[i])
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				total.Add(int64(len(data)))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := failed.Load(); err != nil {
		b.Fatalf("GET: %v", *err)
	}
	return float64(total.Load()) / 1e6 / elapsed.Seconds(), len(keys), total.Load()
}
