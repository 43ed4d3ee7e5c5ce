package bench

// Scale-out: aggregate produce throughput with 1, 2 and 3 gateway
// processes on this machine, all on the same MinIO and PostgreSQL. The
// producers are spread over the gateways (each seeded with a different
// one); partition leadership, chosen by rendezvous hashing over the live
// gateways, spreads their requests over all of them.

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/caudal/caudal/test/testenv"
)

// scaleBytes is the record payload per step (smaller than the single
// gateway benchmark's 256 MiB so the three steps take about a minute).
const scaleBytes = 128 << 20

// BenchmarkScaleOut reports MB/s of acknowledged records with 1, 2 and 3
// gateways, 6 idempotent producers (acks=all) in each step, the CPU
// seconds of the gateways, MinIO and PostgreSQL, and each step's speed-up
// over one gateway. On 2 cores the gateways, MinIO, PostgreSQL and the
// clients share the CPU, so saturation shows as a speed-up well below n.
func BenchmarkScaleOut(b *testing.B) {
	const clients = 6
	var base float64
	for n := 1; n <= 3; n++ {
		bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
		var addrs []string
		var pids []int
		for range n {
			p := testenv.StartProcess(b, bucketURL, metadataURL, "--heartbeat-interval", "250ms", "--gateway-timeout", "1s")
			addrs = append(addrs, p.Addr)
			pids = append(pids, processPid(b, p))
		}
		time.Sleep(600 * time.Millisecond) // every gateway sees the others
		topic := fmt.Sprintf("scale-%d", n)
		testenv.CreateTopics(b, addrs[0], benchPartitions, topic)
		cpu0 := gatewaysCPU(pids)
		cpuOther0 := sampleCPU(pids[0])
		elapsed, records := produceSpread(b, addrs, topic, scaleBytes, clients)
		cpu := gatewaysCPU(pids) - cpu0
		other := sampleCPU(pids[0]).sub(cpuOther0)
		mbps := float64(records*recordSize) / elapsed.Seconds() / 1e6
		if n == 1 {
			base = mbps
		}
		report(b, "%d gateway(s): %.1f MB/s (%d records of %d B in %v), speed-up %.2fx; CPU s: gateways %.1f, minio %.1f, postgres %.1f, clients %.1f",
			n, mbps, records, recordSize, elapsed.Round(time.Millisecond), mbps/base, cpu, other.minio, other.postgres, other.clients)
		b.ReportMetric(mbps, fmt.Sprintf("MB/s-%dgw", n))
	}
}

func gatewaysCPU(pids []int) float64 {
	var s float64
	for _, pid := range pids {
		s += procCPU(pid)
	}
	return s
}

// produceSpread produces total bytes of distinct random 1 KiB records
// (nothing on the way can shrink them) with produceRecords.
func produceSpread(b *testing.B, addrs []string, topic string, total, clients int, opts ...kgo.Opt) (time.Duration, int) {
	b.Helper()
	const distinct = 16384
	buf := make([]byte, distinct*recordSize)
	rand.Read(buf)
	values := make([][]byte, distinct)
	for i := range values {
		values[i] = buf[i*recordSize:][:recordSize]
	}
	return produceRecords(b, addrs, topic, values, total, clients, opts...)
}

// produceRecords produces total bytes of records with the given values
// round-robin over the topic's partitions from `clients` producers,
// producer c seeded with gateway c % len(addrs), as fast as they accept
// them, and returns the time from the first record to the last
// acknowledgement, after a warm-up, and the number of records. Any
// failed record fails b.
func produceRecords(b *testing.B, addrs []string, topic string, values [][]byte, total, clients int, opts ...kgo.Opt) (time.Duration, int) {
	b.Helper()
	records := total / recordSize
	cls := make([]*kgo.Client, clients)
	for i := range cls {
		cls[i] = newProducer(b, addrs[i%len(addrs)], topic, append([]kgo.Opt{
			kgo.MaxBufferedRecords(16384),
			kgo.ProducerBatchMaxBytes(1 << 20),
		}, opts...)...)
		warmUp(b, cls[i], topic)
	}
	var (
		failed atomic.Pointer[error]
		acked  sync.WaitGroup
		wg     sync.WaitGroup
	)
	start := time.Now()
	for c, cl := range cls {
		wg.Go(func() {
			for i := c; i < records; i += clients {
				acked.Add(1)
				r := &kgo.Record{Partition: int32(i % benchPartitions), Value: values[i%len(values)]}
				cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
					if err != nil {
						failed.CompareAndSwap(nil, &err)
					}
					acked.Done()
				})
			}
		})
	}
	wg.Wait()
	acked.Wait()
	elapsed := time.Since(start)
	if err := failed.Load(); err != nil {
		b.Fatalf("produce %s: %v", topic, *err)
	}
	return elapsed, records
}
