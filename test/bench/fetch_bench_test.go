package bench

// Fetch benchmarks against `caudal gateway` running as a child process on
// MinIO + PostgreSQL, each figure next to a baseline from the same run.
// Like the produce benchmarks, each measures one fixed workload per
// invocation whatever b.N is (see produce_bench_test.go).

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/test/testenv"
)

// BenchmarkColdFetchThroughput produces 1 GiB of 1 KiB records to 16
// partitions of each of three topics through one gateway (four times the
// read cache, and 1.5–2.5 s of reading, so that CPU counted in 10 ms
// ticks gives a steady ratio), kills it, and starts a new gateway process
// on the same stores. That gateway first
// serves all of topic "warm" to 4 consumers, as a gateway that has run for
// a while would have (its heap mapped, its cache full of other data), then
// is measured reading the other two, which it has never cached, each after
// a collection (settleHeap):
//
//   - "cold" with 4 kgo consumers, 4 partitions each, as a consumer group
//     splits them, with Kafka's default fetch sizes (fetch.max.bytes 50 MiB,
//     max.partition.fetch.bytes 1 MiB);
//   - "raw" with 4 clients sending the same Fetch requests without
//     decoding the records: what the gateway serves, apart from what a
//     consumer on the same cores spends on the records.
//
// The baseline is whole-object GETs of the same segment objects straight
// from MinIO, 4 concurrent, measured three times before and three times
// after (the median counts). All rates are the objects' bytes over the
// elapsed time.
func BenchmarkColdFetchThroughput(b *testing.B) {
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	const readers = 4 // as many as the baseline's concurrent GETs

	writer := testenv.StartProcess(b, bucketURL, metadataURL)
	keys := map[string][]string{}
	// "warm" as large as the others: its objects have their sizes, so the
	// gateway's pooled buffers have the shapes the measured reads need,
	// as they would after a while. With 256 MiB (smaller objects) the
	// cold read mapped 117–157 MiB of fresh pages for its larger objects.
	for _, topic := range []string{"warm", "cold", "raw"} {
		before := bucketKeys(b, bucketURL)
		testenv.CreateTopics(b, writer.Addr, benchPartitions, topic)
		produceVolume(b, writer.Addr, topic, 4*throughputBytes, 4)
		keys[topic] = slices.DeleteFunc(bucketKeys(b, bucketURL), func(k string) bool { return slices.Contains(before, k) })
	}
	writer.Kill() // every record was acknowledged, so all of it is durable

	objBytes, largest := objectsSize(b, bucketURL, keys["cold"])
	var raw baseline
	bufs := randomBuffers(readers, int(largest))
	rawGet := func() float64 { return rawGetMBps(b, bucketURL, keys["cold"], bufs) }
	raw.sample(3, rawGet)

	httpAddr := testenv.FreeAddr(b)
	// The killed writer stays registered until its heartbeat is older than
	// the reader's --gateway-timeout; a short one keeps clients off it.
	p := testenv.StartProcess(b, bucketURL, metadataURL, "--http-listen", httpAddr, "--pprof", "--heartbeat-interval", "200ms", "--gateway-timeout", "1s")
	time.Sleep(1500 * time.Millisecond)
	pid := processPid(b, p)
	consumeAll(b, p.Addr, "warm", endOffsets(b, p.Addr, "warm"), readers)
	settleHeap(b, httpAddr, nil) // the warm read was the work
	want := endOffsets(b, p.Addr, "cold")
	cpu0, ops0 := sampleCPU(pid), objstoreOps(b, httpAddr)
	profiled := profileGateway(b, httpAddr, 2*time.Second)

	b.ResetTimer()
	start := time.Now()
	got, polls := consumeAll(b, p.Addr, "cold", want, readers)
	elapsed := time.Since(start)
	b.StopTimer()
	profiled()
	cpu, gets := sampleCPU(pid).sub(cpu0), objectReads(objstoreOps(b, httpAddr), ops0)

	settleHeap(b, httpAddr, nil)
	cpu1 := sampleCPU(pid)
	start = time.Now()
	rawBytes := rawFetchAll(b, p.Addr, "raw", readers)
	rawElapsed := time.Since(start)
	rawCPU := sampleCPU(pid).sub(cpu1)
	hwm := procStatusKB(pid, "VmHWM")

	raw.sample(3, rawGet)
	relay := relayCPUPerGB(b, bucketURL, keys["cold"], bufs)
	mbps := float64(objBytes) / 1e6 / elapsed.Seconds()
	ratio := mbps / raw.median()
	rawObjBytes, _ := objectsSize(b, bucketURL, keys["raw"])
	fetchMBps := float64(rawObjBytes) / 1e6 / rawElapsed.Seconds()

	b.ReportMetric(mbps, "caudal-MB/s")
	b.ReportMetric(raw.median(), "rawget-MB/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(fetchMBps/raw.median(), "undecoded-ratio")
	b.ReportMetric(float64(hwm)/1024, "gw-peak-RSS-MiB")
	report(b, "cold fetch: caudal %.1f MB/s with %d kgo consumers (%d records, %d objects of %.1f MiB mean, %.1f MB in %.2fs, %d polls) vs raw MinIO GET ×%d %s: ratio %.2f to the median, %.2f to the best (target >= 0.80: %s)",
		mbps, readers, got, len(keys["cold"]), float64(objBytes)/float64(max(len(keys["cold"]), 1))/(1<<20), float64(objBytes)/1e6, elapsed.Seconds(), polls,
		readers, raw, ratio, mbps/raw.best(), verdict(ratio >= 0.8))
	report(b, "cold fetch: CPU seconds with kgo consumers (%.2fs wall, %d cores): %s", elapsed.Seconds(), runtimeCores(), cpu)
	report(b, "cold fetch: %s", cpuCeiling(cpu, float64(objBytes)/1e9, raw))
	report(b, "cold fetch: %s", cpuFloor(b, "", cpu, float64(objBytes)/1e9, raw, ratio))
	report(b, "cold fetch: %s", relayFloor(b, "", cpu.gateway/(float64(objBytes)/1e9), relay, fetchRelay))
	report(b, "cold fetch: the gateway read %s for %.1f MB of objects", gets, float64(objBytes)/1e6)
	report(b, "cold fetch, records not decoded: %.1f MB/s with %d fetch clients (%.1f MB of batches in %.2fs): ratio %.2f; CPU seconds: %s",
		fetchMBps, readers, float64(rawBytes)/1e6, rawElapsed.Seconds(), fetchMBps/raw.median(), rawCPU)
	report(b, "cold fetch, records not decoded: %s", cpuCeiling(rawCPU, float64(rawObjBytes)/1e9, raw))
	report(b, "cold fetch, records not decoded: %s", cpuFloor(b, "undecoded-", rawCPU, float64(rawObjBytes)/1e9, raw, fetchMBps/raw.median()))
	report(b, "cold fetch, records not decoded: %s", relayFloor(b, "undecoded-", rawCPU.gateway/(float64(rawObjBytes)/1e9), relay, fetchRelay))
	report(b, "cold fetch: gateway peak RSS (VmHWM) %.1f MiB", float64(hwm)/1024)
}

// objectReads describes the gateway's GETs between two scrapes.
func objectReads(now, before map[string]opStat) string {
	whole, ranged := now["get"].sub(before["get"]), now["get_range"].sub(before["get_range"])
	return fmt.Sprintf("%d whole GETs (%.1f MB, %.1f ms mean) and %d ranged GETs (%.1f MB, %.1f ms mean)",
		whole.count, whole.bytes/1e6, whole.mean()*1e3, ranged.count, ranged.bytes/1e6, ranged.mean()*1e3)
}

// BenchmarkEndToEndLatency produces 2,000 records/s of 1 KiB for 10 s with
// the send time in each value, through a gateway with the default 100 ms
// flush interval, while a kgo consumer tails the topic from its end through
// the same gateway; latency is receipt time minus produce start time.
func BenchmarkEndToEndLatency(b *testing.B) {
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	const topic = "e2e"
	p := testenv.StartProcess(b, bucketURL, metadataURL, "--flush-interval", flushInterval.String())
	testenv.CreateTopics(b, p.Addr, benchPartitions, topic)

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
	var n int64
	for _, end := range partitionEnds(b, addr, topic) {
		n += end
	}
	return n
}

// partitionEnds lists the end offset of each of topic's partitions.
func partitionEnds(b *testing.B, addr, topic string) map[int32]int64 {
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
	ends := map[int32]int64{}
	offs.Each(func(o kadm.ListedOffset) { ends[o.Partition] = o.Offset })
	return ends
}

// objectsSize sums the sizes of the objects with the given keys and finds
// the largest.
func objectsSize(b *testing.B, bucketURL string, keys []string) (total, largest int64) {
	b.Helper()
	bucket := openBucket(b, bucketURL)
	defer bucket.Close()
	for _, k := range keys {
		a, err := bucket.Stat(context.Background(), k)
		if err != nil {
			b.Fatal(err)
		}
		total += a.Size
		largest = max(largest, a.Size)
	}
	return total, largest
}

// bucketKeys lists the keys of every object under bucketURL.
func bucketKeys(b *testing.B, bucketURL string) []string {
	b.Helper()
	var keys []string
	for _, a := range listObjects(b, bucketURL) {
		keys = append(keys, a.Key)
	}
	return keys
}

// rawGetMBps GETs the objects with the given keys whole with the raw
// client, len(bufs) at a time, each into one of bufs, and returns the
// rate in MB/s.
func rawGetMBps(b *testing.B, bucketURL string, keys []string, bufs [][]byte) float64 {
	n, elapsed := getAll(b, bucketURL, keys, bufs, nil)
	return float64(n) / 1e6 / elapsed.Seconds()
}

// getAll GETs the objects at keys with the raw client, len(bufs) at a
// time, each worker reading into its buffer and calling send (if not nil)
// with each object. It returns the bytes read and the elapsed time.
func getAll(b *testing.B, bucketURL string, keys []string, bufs [][]byte, send func(worker int, data []byte) error) (int64, time.Duration) {
	b.Helper()
	ctx := context.Background()
	raw := newRawS3(b, bucketURL)
	defer raw.close()
	var (
		next   atomic.Int64
		total  atomic.Int64
		failed atomic.Pointer[error]
		wg     sync.WaitGroup
	)
	start := time.Now()
	for w, buf := range bufs {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(keys) || failed.Load() != nil {
					return
				}
				data, err := raw.get(ctx, keys[i], buf)
				if err == nil && send != nil {
					err = send(w, data)
				}
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
	return total.Load(), elapsed
}

// rawFetchAll reads every record batch of topic from the start with
// `clients` clients sending Fetch requests (v12, 50 MiB, 1 MiB per
// partition), each for every clients-th partition, and only walks the
// batch headers to find the next offsets. It returns the batch bytes.
func rawFetchAll(b *testing.B, addr, topic string, clients int) int64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ends := partitionEnds(b, addr, topic)
	var (
		total atomic.Int64
		wg    sync.WaitGroup
	)
	for c := range clients {
		next := map[int32]int64{}
		for p := int32(c); p < benchPartitions; p += int32(clients) {
			next[p] = 0
		}
		cl := newClient(b, addr, kgo.BrokerMaxReadBytes(128<<20), kgo.MaxVersions(kversion.V2_8_0()))
		wg.Go(func() {
			for len(next) > 0 && ctx.Err() == nil {
				n, err := fetchOnce(ctx, cl, topic, next, ends)
				if err != nil {
					b.Errorf("fetch %s: %v", topic, err)
					return
				}
				total.Add(n)
			}
		})
	}
	wg.Wait()
	return total.Load()
}

// fetchOnce sends one Fetch for the partitions in next, advances next past
// the whole batches returned, drops the partitions that reached their end,
// and returns the batch bytes.
func fetchOnce(ctx context.Context, cl *kgo.Client, topic string, next, ends map[int32]int64) (int64, error) {
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 1000, 1, 50<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	for p, off := range next {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, off, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return n, fmt.Errorf("partition %d: %w", p.Partition, err)
			}
			for data := p.RecordBatches; len(data) >= segments.HeaderSize; {
				h, err := segments.ParseBatchHeader(data)
				if err != nil || h.Size() > len(data) {
					break // a partial batch ends a response
				}
				next[p.Partition] = h.BaseOffset + int64(h.LastOffsetDelta) + 1
				n += int64(h.Size())
				data = data[h.Size():]
			}
			if next[p.Partition] >= ends[p.Partition] {
				delete(next, p.Partition)
			}
		}
	}
	return n, nil
}

// consumeAll reads want records of topic from the start with `consumers`
// kgo consumers, each assigned every consumers-th partition as a consumer
// group would split them (Kafka's default fetch sizes), and
// returns the records and polls it took.
func consumeAll(b *testing.B, addr, topic string, want int64, consumers int) (int64, int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		got, polls atomic.Int64
		wg         sync.WaitGroup
	)
	for c := range consumers {
		parts := map[int32]kgo.Offset{}
		for p := int32(c); p < benchPartitions; p += int32(consumers) {
			parts[p] = kgo.NewOffset().AtStart()
		}
		cl := newClient(b, addr,
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
			kgo.FetchMaxBytes(50<<20),
			kgo.FetchMaxPartitionBytes(1<<20),
			kgo.BrokerMaxReadBytes(128<<20),
			kgo.FetchMaxWait(time.Second),
		)
		wg.Go(func() {
			defer cl.Close()
			for got.Load() < want && ctx.Err() == nil {
				fs := cl.PollFetches(ctx)
				fs.EachError(func(t string, p int32, err error) {
					if ctx.Err() == nil {
						b.Errorf("fetch %s/%d: %v", t, p, err)
						cancel()
					}
				})
				got.Add(int64(fs.NumRecords()))
				polls.Add(1)
			}
			// The others may still be reading: stop once all is read.
			if got.Load() >= want {
				cancel()
			}
		})
	}
	wg.Wait()
	if got.Load() < want {
		b.Fatalf("consumed %d of %d records of %s", got.Load(), want, topic)
	}
	return got.Load(), int(polls.Load())
}
