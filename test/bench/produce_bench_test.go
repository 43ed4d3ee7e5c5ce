package bench

// Produce benchmarks against `caudal gateway` running as a child process on
// MinIO + PostgreSQL. Every figure is printed next to a baseline measured in
// the same run: raw MinIO PUTs of the same bytes for throughput, and raw PUT
// and metadata-commit latencies for produce latency.
//
// Each benchmark measures one fixed workload per invocation, whatever b.N
// is: the workload is sized for a meaningful figure (≈256 MiB or ≈10 s),
// and repeating it b.N times would make `-benchtime 20x` take most of an
// hour. With -benchtime Nx (N > 1) the testing package invokes a benchmark
// twice (N=1, then N), so the workload runs twice and the second figures
// are the ones reported. Use -benchtime 1x for one measurement each.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/test/testenv"
)

const (
	benchPartitions = 16
	recordSize      = 1 << 10
	// throughputBytes is the record payload of the throughput workloads.
	throughputBytes = 256 << 20
	// latencyRate and latencyDuration shape the latency workloads.
	latencyRate     = 2000 // records per second
	latencyDuration = 10 * time.Second
	flushInterval   = 100 * time.Millisecond // the gateway's default
)

// BenchmarkProduceThroughput produces 1 GiB of 1 KiB records to 16
// partitions with 4 idempotent kgo producers (acks=all) and compares the
// rate with raw MinIO PUTs of the same bytes in 8 MiB objects (4 writers,
// measured three times before and three times after; the median is the
// baseline). It also
// reports the gateway's peak RSS (VmHWM) and the CPU seconds each process
// spent, since everything shares this machine's cores.
//
// The gateway first takes 512 MiB unmeasured, then 1 GiB between two
// collections (settleHeap): a gateway that has run for a while has its
// read cache full and its heap mapped. A new process maps ~700 MiB of
// fresh pages on the way there, and on sandboxed machines (gVisor) each
// first touch of a 4 KiB page costs ~13 µs (12 µs on the AMD EPYC
// Firecracker VMs), which alone made a fresh gateway 25–40% slower than a warm one.
func BenchmarkProduceThroughput(b *testing.B) {
	const clients = 4
	srv := testenv.MinIO(b)
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)

	var raw baseline
	rawData := randomBuffers(4, rawObjectSize)
	raw.sample(3, func() float64 { return rawPutMBps(b, srv, rawData, throughputBytes) })

	httpAddr := testenv.FreeAddr(b)
	p := testenv.StartProcess(b, bucketURL, metadataURL, "--http-listen", httpAddr, "--pprof")
	pid := processPid(b, p)
	testenv.CreateTopics(b, p.Addr, benchPartitions, "tput")
	produceVolume(b, p.Addr, "tput", 2*throughputBytes, clients)
	settleHeap(b, httpAddr, func() { produceVolume(b, p.Addr, "tput", 4*throughputBytes, clients) })

	cpu0 := sampleCPU(pid)
	// CPU is counted in 10 ms ticks and the machine's other work comes and
	// goes: 1 GiB (6–8 s here) keeps the CPU ratio within a few percent.
	profiled := profileGateway(b, httpAddr, 5*time.Second)
	b.ResetTimer()
	elapsed, records := produceVolume(b, p.Addr, "tput", 4*throughputBytes, clients)
	b.StopTimer()
	profiled()
	cpu := sampleCPU(pid).sub(cpu0)
	hwm := procStatusKB(pid, "VmHWM")
	ops := objstoreOps(b, httpAddr)
	objs, objBytes := bucketObjects(b, bucketURL)

	raw.sample(3, func() float64 { return rawPutMBps(b, srv, rawData, throughputBytes) })
	relay := relayPutCPUPerGB(b, srv, rawData, 2*throughputBytes)
	mbps := float64(records*recordSize) / 1e6 / elapsed.Seconds()
	ratio := mbps / raw.median()

	b.ReportMetric(mbps, "caudal-MB/s")
	b.ReportMetric(raw.median(), "rawput-MB/s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(hwm)/1024, "gw-peak-RSS-MiB")
	report(b, "produce throughput: caudal %.1f MB/s (%d records of 1 KiB in %.2fs, %d clients) vs raw MinIO PUT 8 MiB×4 %s: ratio %.2f to the median, %.2f to the best (target >= 0.80: %s)",
		mbps, records, elapsed.Seconds(), clients, raw, ratio, mbps/raw.best(), verdict(ratio >= 0.8))
	report(b, "produce throughput: gateway wrote %d objects, mean %.2f MiB; gateway peak RSS (VmHWM) %.1f MiB",
		objs, float64(objBytes)/float64(max(objs, 1))/(1<<20), float64(hwm)/1024)
	put := ops["put"]
	report(b, "produce throughput: gateway PUTs %d, mean %.0f ms each, %.1f in flight on average over the run",
		put.count, put.mean()*1000, put.sum/elapsed.Seconds())
	report(b, "produce throughput: CPU seconds during the run (%.2fs wall, %d cores): %s", elapsed.Seconds(), runtimeCores(), cpu)
	report(b, "produce throughput: %s", cpuCeiling(cpu, float64(records*recordSize)/1e9, raw))
	report(b, "produce throughput: %s", cpuFloor(b, "", cpu, float64(records*recordSize)/1e9, raw, ratio))
	report(b, "produce throughput: %s", relayFloor(b, "", cpu.gateway/(float64(records*recordSize)/1e9), relay, produceRelay))
}

// BenchmarkProduceLatency produces 2,000 records/s of 1 KiB for 10 s, one
// Produce call per record, against a gateway with the default 100 ms flush
// interval, three times with acks=all: idempotent with linger 0 and with
// linger 20 ms, and not idempotent with 32 requests in flight. It reports each record's latency from Produce to its promise
// p50/p99, and the produce requests' round trip on the wire (kgo's
// HookBrokerE2E: written to response read), which leaves out the time a
// record waits in the client. An idempotent producer keeps at most 5
// requests in flight per broker; with linger 0 it sends 5 small requests
// at the start of a flush cycle and the records after them wait for the
// next cycle, so record latency is about 1.5 cycles. Lingering 20 ms
// spreads the 5 requests over the cycle; without idempotence the client
// may keep a request in flight for every moment of the cycle.
//
// In the same run it measures PUT p50/p99 of an object of the size the
// gateway wrote (directly to MinIO through the s3:// bucket) and
// CommitObject p50/p99 for an idempotent 16-partition object on the same
// PostgreSQL, and checks p99 <= flush interval + PUT p99 + commit p99 +
// 10 ms.
func BenchmarkProduceLatency(b *testing.B) {
	srv := testenv.MinIO(b)
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	p := testenv.StartProcess(b, bucketURL, metadataURL, "--flush-interval", flushInterval.String())
	testenv.CreateTopics(b, p.Addr, benchPartitions, "lat")

	type run struct {
		name            string
		opts            []kgo.Opt
		records, onWire []time.Duration
	}
	runs := []*run{
		{name: "idempotent, linger 0", opts: []kgo.Opt{kgo.ProducerLinger(0)}},
		{name: "idempotent, linger 20ms", opts: []kgo.Opt{kgo.ProducerLinger(20 * time.Millisecond)}},
		{name: "not idempotent, linger 0, 32 in flight", opts: []kgo.Opt{
			kgo.ProducerLinger(0), kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(32)}},
	}
	b.ResetTimer()
	for _, r := range runs {
		wire := &produceRoundTrips{}
		cl := newProducer(b, p.Addr, "lat", append(r.opts, kgo.WithHooks(wire))...)
		warmUp(b, cl, "lat")
		wire.reset()
		var errs int
		r.records, errs = pacedProduce(b, cl, "lat", latencyRate, latencyDuration, nil)
		r.onWire = wire.lats()
		if errs > 0 {
			b.Errorf("%s: %d of %d produces failed", r.name, errs, len(r.records)+errs)
		}
		cl.Close()
	}
	b.StopTimer()
	objs, objBytes := bucketObjects(b, bucketURL)
	objSize := int(objBytes / int64(max(objs, 1)))

	put := putLatencies(b, srv, objSize, 200)
	commit := commitLatencies(b, 200)
	bound := flushInterval + percentile(put, 99) + percentile(commit, 99) + 10*time.Millisecond
	report(b, "produce latency baselines: gateway wrote %d objects, mean %d KiB; PUT of %d KiB p50 %.1f ms p99 %.1f ms; commit (16 partitions, idempotent) p50 %.1f ms p99 %.1f ms; bound flush %.0f + PUT p99 + commit p99 + 10 = %.1f ms",
		objs, objSize>>10, objSize>>10, ms(percentile(put, 50)), ms(percentile(put, 99)), ms(percentile(commit, 50)), ms(percentile(commit, 99)), ms(flushInterval), ms(bound))
	for _, r := range runs {
		p50, p99 := percentile(r.records, 50), percentile(r.records, 99)
		w50, w99 := percentile(r.onWire, 50), percentile(r.onWire, 99)
		b.ReportMetric(ms(p99), strings.NewReplacer(", ", "-", " ", "").Replace(r.name)+"-p99-ms")
		report(b, "produce latency, %s, %d rec/s × 1 KiB, %d records: record p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (p99 <= bound %.1f: %s); produce request round trip (%d requests) p50 %.1f ms, p99 %.1f ms (<= bound: %s)",
			r.name, latencyRate, len(r.records), ms(p50), ms(percentile(r.records, 90)), ms(p99), ms(percentile(r.records, 100)), ms(bound), verdict(p99 <= bound),
			len(r.onWire), ms(w50), ms(w99), verdict(w99 <= bound))
	}
	b.ReportMetric(ms(percentile(put, 99)), "put-p99-ms")
	b.ReportMetric(ms(percentile(commit, 99)), "commit-p99-ms")
	b.ReportMetric(ms(bound), "bound-ms")
}

// produceRoundTrips is a kgo hook collecting the round trip of every
// successful produce request: from written to its response read.
type produceRoundTrips struct {
	mu sync.Mutex
	ds []time.Duration
}

func (h *produceRoundTrips) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if key != kmsg.Produce.Int16() || e2e.Err() != nil {
		return
	}
	h.mu.Lock()
	h.ds = append(h.ds, e2e.DurationE2E())
	h.mu.Unlock()
}

func (h *produceRoundTrips) reset() {
	h.mu.Lock()
	h.ds = nil
	h.mu.Unlock()
}

func (h *produceRoundTrips) lats() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ds)
}

// BenchmarkProduceCompressed shows what checking compressed batches costs
// on produce: the gateway decompresses and walks every batch's records, as
// Kafka's broker does. One gateway takes 256 MiB of compressible 1 KiB
// records (JSON-like text) from 4 idempotent kgo producers (acks=all) to
// 16 partitions, uncompressed, then lz4, then zstd, after an unmeasured
// warm-up, and each run reports the rate of record bytes and the
// gateway's CPU seconds per GB of records.
//
// Validation's share is then isolated: the batches each run stored are
// read back from the bucket and, in this process on one core,
// segments.ValidateBatch runs over all of them, and so does decompression
// alone (the codec's decoder read to its end); both are CPU seconds per
// GB of records, next to the gateway's.
func BenchmarkProduceCompressed(b *testing.B) {
	const clients = 4
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	p := testenv.StartProcess(b, bucketURL, metadataURL)
	pid := processPid(b, p)
	runs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{{"none", kgo.NoCompression()}, {"lz4", kgo.Lz4Compression()}, {"zstd", kgo.ZstdCompression()}}
	testenv.CreateTopics(b, p.Addr, benchPartitions, "warm", "none", "lz4", "zstd")
	values := jsonValues(16384)
	produceRecords(b, []string{p.Addr}, "warm", values, throughputBytes, clients)
	stored := map[string]bool{}
	for _, a := range listObjects(b, bucketURL) {
		stored[a.Key] = true
	}

	b.ResetTimer()
	for _, r := range runs {
		cpu0 := sampleCPU(pid)
		elapsed, records := produceRecords(b, []string{p.Addr}, r.name, values, throughputBytes, clients, kgo.ProducerBatchCompression(r.codec))
		cpu := sampleCPU(pid).sub(cpu0)
		b.StopTimer()
		gb := float64(records*recordSize) / 1e9
		batches, objBytes := storedBatches(b, bucketURL, stored)
		validate := cpuSeconds(func() { validateAll(b, batches) })
		mbps := gb * 1e3 / elapsed.Seconds()
		b.ReportMetric(mbps, r.name+"-MB/s")
		b.ReportMetric(cpu.gateway/gb, r.name+"-gw-CPU-s/GB")
		b.ReportMetric(validate/gb, r.name+"-validate-CPU-s/GB")
		report(b, "produce %s: %.1f MB/s of records (%d records of 1 KiB in %.2fs, %d clients), %.1f MB to the bucket (%.2f:1); gateway %.2f CPU-s per GB of records",
			r.name, mbps, records, elapsed.Seconds(), clients, float64(objBytes)/1e6, gb*1e9/float64(objBytes), cpu.gateway/gb)
		line := fmt.Sprintf("produce %s: validation isolated: ValidateBatch over the %d stored batches %.3f CPU-s per GB of records (%.0f MB/s on one core), %.1f%% of the gateway's CPU",
			r.name, len(batches), validate/gb, gb*1e3/validate, 100*validate/cpu.gateway)
		if r.name != "none" {
			inflate := cpuSeconds(func() { inflateAll(b, batches) })
			line += fmt.Sprintf("; decompression alone %.3f CPU-s per GB (%.0f MB/s), validation %.2fx that", inflate/gb, gb*1e3/inflate, validate/inflate)
		}
		report(b, "%s", line)
		b.StartTimer()
	}
}

// jsonValues are n distinct recordSize values that compress as
// application data does: JSON-like text with a random token and numbers.
func jsonValues(n int) [][]byte {
	events := []string{"login", "logout", "purchase", "view", "search", "add-to-cart"}
	values := make([][]byte, n)
	for i := range values {
		var token [16]byte
		rand.Read(token[:])
		v := fmt.Appendf(make([]byte, 0, recordSize), `{"seq":%d,"user":"user-%d","event":%q,"token":"%x","attrs":{`,
			i, i*7919%5000, events[i%len(events)], token)
		for j := 0; len(v) < recordSize-40; j++ {
			v = fmt.Appendf(v, `"field-%d":%d,`, j, (i*2654435761+j*40503)%1000003)
		}
		v = append(v, `"end":true}}`...)
		values[i] = append(v, bytes.Repeat([]byte(" "), recordSize-len(v))...)
	}
	return values
}

// storedBatches reads the objects under bucketURL that are not in seen,
// adds them to it, and returns their record batches and their bytes.
func storedBatches(b *testing.B, bucketURL string, seen map[string]bool) ([][]byte, int64) {
	b.Helper()
	bucket := openBucket(b, bucketURL)
	defer bucket.Close()
	var (
		batches [][]byte
		size    int64
	)
	for _, a := range listObjects(b, bucketURL) {
		if seen[a.Key] {
			continue
		}
		seen[a.Key] = true
		size += a.Size
		data, err := bucket.Get(context.Background(), a.Key, nil)
		if err != nil {
			b.Fatal(err)
		}
		o, err := segments.ParseObject(a.Key, data)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range o.Entries {
			part, err := o.Partition(e.Topic, e.Partition)
			if err != nil {
				b.Fatal(err)
			}
			split, err := segments.SplitBatches(part)
			if err != nil {
				b.Fatal(err)
			}
			batches = append(batches, split...)
		}
	}
	return batches, size
}

// validateAll runs the gateway's produce validation over batches.
func validateAll(b *testing.B, batches [][]byte) {
	for _, batch := range batches {
		if _, err := segments.ValidateBatch(batch, segments.ValidateOptions{MaxDecompressed: segments.DecompressLimit}); err != nil {
			b.Fatalf("stored batch: %v", err)
		}
	}
}

// inflateAll decompresses the records of batches (lz4, zstd) through a
// 64 KiB buffer and does nothing else, with one reused decoder per codec
// as validation has.
func inflateAll(b *testing.B, batches [][]byte) {
	var (
		src bytes.Reader
		buf = make([]byte, 64<<10)
		lz  = lz4.NewReader(nil)
	)
	zd, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
	if err != nil {
		b.Fatal(err)
	}
	defer zd.Close()
	for _, batch := range batches {
		h, err := segments.ParseBatchHeader(batch)
		if err != nil {
			b.Fatal(err)
		}
		src.Reset(batch[segments.HeaderSize:])
		var r io.Reader
		switch h.Codec() {
		case segments.CodecNone: // a producer's warm-up records, too small to compress
			continue
		case segments.CodecLZ4:
			lz.Reset(&src)
			r = lz
		case segments.CodecZstd:
			if err := zd.Reset(&src); err != nil {
				b.Fatal(err)
			}
			r = zd
		default:
			b.Fatalf("inflate %s: not measured", h.Codec())
		}
		for err == nil {
			_, err = r.Read(buf)
		}
		if err != io.EOF {
			b.Fatalf("inflate %s: %v", h.Codec(), err)
		}
	}
}

// cpuSeconds is the CPU time this process spends running fn.
func cpuSeconds(fn func()) float64 {
	before := sampleCPU(0).clients
	fn()
	return sampleCPU(0).clients - before
}

// --- helpers shared by the produce and fetch benchmarks ---

// baseline is a raw MinIO rate sampled several times around a measurement.
// Ratios use its median: single samples on this shared 2-core machine
// ranged over a factor of two within one run.
type baseline struct {
	rates []float64 // MB/s
	// cpu is the CPU seconds MinIO and this process (the raw client)
	// spent over all samples, and mb the MB they moved: a run that moves
	// the same bytes can be compared per GB.
	cpu cpuSample
	mb  float64
}

// sample appends n samples of rate. Each starts with a collection, so
// that the garbage of earlier work in this process (another benchmark's
// consumers, under make bench) is not counted as the raw client's: it
// had made the raw client cost 0.90–0.94 CPU-s per GB where it cost
// 0.80–0.88 in a benchmark run alone.
func (s *baseline) sample(n int, rate func() float64) {
	for range n {
		runtime.GC()
		cpu0, start := sampleCPU(0), time.Now() // pid 0: no gateway to sample
		r := rate()
		s.cpu = s.cpu.add(sampleCPU(0).sub(cpu0))
		s.mb += r * time.Since(start).Seconds()
		s.rates = append(s.rates, r)
	}
}

func (s baseline) median() float64 {
	sorted := slices.Sorted(slices.Values(s.rates))
	if len(sorted) == 0 {
		return 0
	}
	if n := len(sorted); n%2 == 0 {
		return (sorted[n/2-1] + sorted[n/2]) / 2
	}
	return sorted[len(sorted)/2]
}

func (s baseline) best() float64 { return slices.Max(s.rates) }

// perGB is the samples' CPU seconds per GB moved.
func (s baseline) perGB() cpuSample { return s.cpu.scale(1e3 / max(s.mb, 1e-9)) }

func (s baseline) String() string {
	return fmt.Sprintf("median %.1f MB/s (%d samples, %.1f–%.1f)", s.median(), len(s.rates), slices.Min(s.rates), s.best())
}

// cpuCeiling explains a CPU-bound ratio: CPU seconds per GB of the run
// and of the baseline, and two ceilings on the ratio (see cpuCeilings).
func cpuCeiling(run cpuSample, gb float64, raw baseline) string {
	r, base := run.scale(1/gb), raw.perGB()
	free, rawCost := cpuCeilings(run, gb, raw)
	return fmt.Sprintf("CPU-s per GB: run %.2f (gateway %.2f, kgo %.2f, MinIO %.2f, PostgreSQL %.2f), raw %.2f (client %.2f, MinIO %.2f); ratio ceiling %.2f with a gateway that cost nothing, %.2f with one that cost what the raw client did and MinIO at its raw cost",
		r.total(), r.gateway, r.clients, r.minio, r.postgres, base.total(), base.clients, base.minio, free, rawCost)
}

// cpuCeilings are the ceilings on a CPU-bound throughput ratio: the
// baseline's CPU per GB over the run's with the gateway's replaced by
//
//   - nothing, everything else as in the run (free);
//   - what the baseline's client spent, since the gateway moves the same
//     bytes to or from MinIO (and more: it also talks to the clients),
//     with MinIO at its cost in the baseline (it rises when the cores are
//     shared) (rawCost).
func cpuCeilings(run cpuSample, gb float64, raw baseline) (free, rawCost float64) {
	r, base := run.scale(1/gb), raw.perGB()
	others := r.clients + r.postgres
	return base.total() / (others + r.minio), base.total() / (others + base.clients + base.minio)
}

// cpuFloor compares the gateway's CPU seconds per GB with the raw client's
// on the same bytes in the same run (a gateway that only received the
// bytes and sent them on would cost about 2×), and the throughput ratio
// with its ceiling for a gateway that cost what the raw client did. It
// reports the figures as metrics named with prefix.
func cpuFloor(b *testing.B, prefix string, run cpuSample, gb float64, raw baseline, ratio float64) string {
	gw, client := run.gateway/gb, raw.perGB().clients
	_, ceiling := cpuCeilings(run, gb, raw)
	b.ReportMetric(gw, prefix+"gw-CPU-s/GB")
	b.ReportMetric(client, prefix+"rawclient-CPU-s/GB")
	b.ReportMetric(gw/client, prefix+"gw/rawclient-CPU")
	b.ReportMetric(ratio/ceiling, prefix+"ratio/ceiling")
	return fmt.Sprintf("gateway %.2f CPU-s per GB, raw client %.2f: %.2f× the raw client (target <= 2: %s); throughput ratio %.2f is %.2f of its ceiling %.2f",
		gw, client, gw/client, verdict(gw/client <= 2), ratio, ratio/ceiling, ceiling)
}

// report prints a result line so that it shows in `go test -bench` output
// whatever the verbosity, and logs it with the benchmark.
func report(b *testing.B, format string, args ...any) {
	b.Helper()
	line := fmt.Sprintf(format, args...)
	fmt.Printf("    %s: %s\n", b.Name(), line)
	b.Log(line)
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile returns the q-th percentile (nearest rank) of ds; 100 is the
// maximum. ds is sorted in place.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds))*q/100+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// newClient connects a kgo client to a gateway; it is closed with b.
func newClient(b *testing.B, addr string, opts ...kgo.Opt) *kgo.Client {
	b.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cl.Close)
	return cl
}

// newProducer is an idempotent (acks=all) producer that picks each
// record's partition from Record.Partition.
func newProducer(b *testing.B, addr, topic string, opts ...kgo.Opt) *kgo.Client {
	b.Helper()
	return newClient(b, addr, append([]kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProduceRequestTimeout(60 * time.Second),
		// kgo compresses with snappy by default; the stored bytes should
		// be the produced bytes.
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	}, opts...)...)
}

// warmUp produces one record per partition synchronously, so that the
// producer id, metadata and connections exist before timing starts.
func warmUp(b *testing.B, cl *kgo.Client, topic string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var rs []*kgo.Record
	for p := range int32(benchPartitions) {
		rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: []byte("warm-up")})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		b.Fatalf("warm-up produce: %v", err)
	}
}

// produceVolume produces total bytes of 1 KiB records round-robin over the
// topic's partitions from `clients` producers as fast as they accept them
// and returns the time from the first record to the last acknowledgement,
// after a warm-up. Any failed record fails b.
func produceVolume(b *testing.B, addr, topic string, total, clients int) (time.Duration, int) {
	b.Helper()
	return produceSpread(b, []string{addr}, topic, total, clients)
}

// pacedProduce produces rate 1 KiB records per second for d, one Produce
// call per record, round-robin over the partitions, with the send time
// (UnixNano) in the value's first 8 bytes. It returns each acknowledged
// record's promise latency and the number of failures. If onSend is not
// nil it is called before each record is produced.
func pacedProduce(b *testing.B, cl *kgo.Client, topic string, rate int, d time.Duration, onSend func()) ([]time.Duration, int) {
	b.Helper()
	n := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	var (
		mu   sync.Mutex
		lats = make([]time.Duration, 0, n)
		errs int
		wg   sync.WaitGroup
	)
	ctx := context.Background()
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > time.Millisecond {
			time.Sleep(wait)
		}
		value := make([]byte, recordSize)
		rand.Read(value[8:])
		sent := time.Now()
		binary.BigEndian.PutUint64(value, uint64(sent.UnixNano()))
		if onSend != nil {
			onSend()
		}
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: int32(i % benchPartitions), Value: value}, func(_ *kgo.Record, err error) {
			lat := time.Since(sent)
			mu.Lock()
			if err != nil {
				errs++
			} else {
				lats = append(lats, lat)
			}
			mu.Unlock()
			wg.Done()
		})
	}
	wg.Wait()
	if behind := time.Since(start) - d; behind > time.Second {
		b.Logf("pacing fell %s behind the %s schedule", behind, d)
	}
	return lats, errs
}

// rawObjectSize is the size of the raw baseline's objects, the gateway's
// default flush.bytes.
const rawObjectSize = 8 << 20

// rawPutMBps PUTs total bytes in objects from data (one buffer per
// concurrent writer, rawObjectSize each) into a fresh bucket with the raw
// client and returns MB/s.
func rawPutMBps(b *testing.B, srv *testenv.MinIOServer, data [][]byte, total int) float64 {
	b.Helper()
	raw := newRawS3(b, srv.URL(srv.NewBucket(b), "raw"))
	defer raw.close()
	mbps := putBuffers(b, total/rawObjectSize, data, raw.put)
	b.SetBytes(0) // putBuffers sets it for its own use of b's timer
	return mbps
}

// putLatencies PUTs n objects of size bytes one at a time into a fresh
// bucket and returns each PUT's latency.
func putLatencies(b *testing.B, srv *testenv.MinIOServer, size, n int) []time.Duration {
	b.Helper()
	bucket := openBucket(b, srv.URL(srv.NewBucket(b), "raw"))
	defer bucket.Close()
	data := make([]byte, max(size, 1))
	rand.Read(data)
	lats := make([]time.Duration, 0, n)
	for i := range n {
		data[0] = byte(i) // distinct contents
		start := time.Now()
		if err := bucket.Put(context.Background(), fmt.Sprintf("segments/%08d", i), data); err != nil {
			b.Fatal(err)
		}
		lats = append(lats, time.Since(start))
	}
	return lats
}

// commitLatencies runs n CommitObject calls, one at a time, on a fresh
// database of the test PostgreSQL server, each for an object spanning 16
// partitions with one idempotent batch of 12 records per partition (about
// what 2,000 records/s leaves per partition per 100 ms flush), and returns
// each commit's latency.
func commitLatencies(b *testing.B, n int) []time.Duration {
	b.Helper()
	ctx := context.Background()
	store, err := metadata.Open(ctx, testenv.Postgres(b), metadata.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	t, err := store.CreateTopic(ctx, metadata.TopicSpec{Name: "commit", Partitions: benchPartitions, ReplicationFactor: 1})
	if err != nil {
		b.Fatal(err)
	}
	pid, err := store.AllocateProducerID(ctx)
	if err != nil {
		b.Fatal(err)
	}
	const records, size = 12, 12 * (recordSize + 80)
	lats := make([]time.Duration, 0, n)
	for i := range n {
		c := metadata.ObjectCommit{Key: fmt.Sprintf("segments/commit-%d-%08d", time.Now().UnixNano(), i), Size: benchPartitions * size}
		for p := range int32(benchPartitions) {
			c.Runs = append(c.Runs, metadata.PartitionRun{Topic: t.ID, Partition: p, Batches: []metadata.BatchAppend{{
				ByteOffset: int64(p) * size, ByteLength: size, Records: records, MaxTimestamp: time.Now().UnixMilli(),
				ProducerID: pid, ProducerEpoch: 0, BaseSequence: int32(i * records),
			}}})
		}
		start := time.Now()
		res, err := store.CommitObject(ctx, c)
		lats = append(lats, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if e := res.Runs[0][0].Err; e != nil {
			b.Fatalf("commit %d: %v", i, e)
		}
	}
	return lats
}

// openBucket opens the bucket at url, or ends the benchmark.
func openBucket(b *testing.B, url string) objstore.Bucket {
	b.Helper()
	bucket, err := objstore.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	return bucket
}

// listObjects lists every object under bucketURL.
func listObjects(b *testing.B, bucketURL string) []objstore.Attrs {
	b.Helper()
	bucket := openBucket(b, bucketURL)
	defer bucket.Close()
	var objs []objstore.Attrs
	if err := bucket.List(context.Background(), "", func(a objstore.Attrs) error {
		objs = append(objs, a)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return objs
}

// bucketObjects counts the objects under the bucket URL and their bytes.
func bucketObjects(b *testing.B, bucketURL string) (int, int64) {
	b.Helper()
	objs := listObjects(b, bucketURL)
	var total int64
	for _, a := range objs {
		total += a.Size
	}
	return len(objs), total
}

// opStat is one object store operation's count and total seconds, from
// the gateway's caudal_objstore_operation_duration_seconds histogram, and
// its bytes from caudal_objstore_bytes_total.
type opStat struct {
	count int
	sum   float64
	bytes float64
}

func (o opStat) sub(p opStat) opStat {
	return opStat{o.count - p.count, o.sum - p.sum, o.bytes - p.bytes}
}

func (o opStat) mean() float64 { return o.sum / float64(max(o.count, 1)) }

// objstoreOps scrapes the gateway's /metrics for its successful object
// store operations, by op.
func objstoreOps(b *testing.B, httpAddr string) map[string]opStat {
	b.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		b.Logf("scrape gateway metrics: %v", err)
		return nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	ops := map[string]opStat{}
	for line := range strings.SplitSeq(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, "caudal_objstore_")
		if !ok || strings.HasPrefix(rest, "operation_duration") && !strings.Contains(rest, `outcome="ok"`) {
			continue
		}
		_, after, _ := strings.Cut(rest, `op="`)
		op, _, _ := strings.Cut(after, `"`)
		fields := strings.Fields(rest)
		v, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
		s := ops[op]
		switch {
		case strings.HasPrefix(rest, "operation_duration_seconds_sum{"):
			s.sum = v
		case strings.HasPrefix(rest, "operation_duration_seconds_count{"):
			s.count = int(v)
		case strings.HasPrefix(rest, "bytes_total{"):
			s.bytes = v
		}
		ops[op] = s
	}
	return ops
}

// processPid is the gateway child process's pid.
func processPid(b *testing.B, p *testenv.Process) int {
	b.Helper()
	pid := p.Pid()
	if pid == 0 {
		b.Fatalf("caudal at %s is not running", p.Addr)
	}
	return pid
}

// procStatusKB reads one "kB" field of /proc/<pid>/status (0 if absent).
func procStatusKB(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v
		}
	}
	return 0
}

// cpuSample is CPU seconds (user+system) used so far by the gateway, this
// test process (clients), MinIO and PostgreSQL, and the gateway's minor
// page faults: on sandboxed machines a first touch of a page costs ~13 µs,
// enough to dominate a gateway that maps fresh memory for every object.
type cpuSample struct {
	gateway, clients, minio, postgres float64
	// The gateway's minor page faults and context switches: on the VMs
	// this runs on each costs about as much as copying 10–50 KiB.
	faults, switches int64
}

func (s cpuSample) sub(o cpuSample) cpuSample {
	return cpuSample{s.gateway - o.gateway, s.clients - o.clients, s.minio - o.minio, s.postgres - o.postgres, s.faults - o.faults, s.switches - o.switches}
}

func (s cpuSample) add(o cpuSample) cpuSample {
	return cpuSample{s.gateway + o.gateway, s.clients + o.clients, s.minio + o.minio, s.postgres + o.postgres, s.faults + o.faults, s.switches + o.switches}
}

func (s cpuSample) scale(f float64) cpuSample {
	return cpuSample{s.gateway * f, s.clients * f, s.minio * f, s.postgres * f, int64(float64(s.faults) * f), int64(float64(s.switches) * f)}
}

func (s cpuSample) total() float64 { return s.gateway + s.clients + s.minio + s.postgres }

func (s cpuSample) String() string {
	return fmt.Sprintf("gateway %.1f, kgo clients+bench %.1f, minio %.1f, postgres %.1f; gateway minor faults %d (%.0f MiB of pages), context switches %d",
		s.gateway, s.clients, s.minio, s.postgres, s.faults, float64(s.faults)/256, s.switches)
}

// sampleCPU counts only the processes this benchmark started: the
// gateway, this process, and testenv's MinIO and PostgreSQL servers, found
// by their pids (other work on the machine runs its own).
func sampleCPU(gatewayPid int) cpuSample {
	var s cpuSample
	s.gateway, s.faults, s.switches = procCPU(gatewayPid), procMinorFaults(gatewayPid), procSwitches(gatewayPid)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s.clients = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	s.minio = procCPU(testenv.MinIOPid())
	s.postgres = postmasterCPU(testenv.PostgresPid())
	return s
}

// postmasterCPU is the CPU seconds of a PostgreSQL server: the postmaster,
// the children it has reaped (fields 16 and 17: backends of closed
// connections) and its live children (backends, background workers).
func postmasterCPU(pid int) float64 {
	if pid == 0 {
		return 0
	}
	cpu := procCPU(pid) + (procStat(pid, 16)+procStat(pid, 17))/100
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err == nil && int(procStat(child, 4)) == pid {
			cpu += procCPU(child)
		}
	}
	return cpu
}

// procCPU is a process's user+system CPU seconds from /proc/<pid>/stat:
// fields 14 and 15, in clock ticks (100 Hz).
func procCPU(pid int) float64 {
	return (procStat(pid, 14) + procStat(pid, 15)) / 100
}

// procMinorFaults is a process's minor page faults (field 10).
func procMinorFaults(pid int) int64 { return int64(procStat(pid, 10)) }

// procSwitches is the context switches of all of a process's threads
// (its /proc status counts only the main thread's), 0 if unreadable.
// Threads that exited are not counted; Go's runtime keeps its threads.
func procSwitches(pid int) int64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var n int64
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				c, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += c
			}
		}
	}
	return n
}

// procStat is field n (from 1) of /proc/<pid>/stat, 0 if unreadable.
func procStat(pid, n int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields 3 on follow the parenthesised command name.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if n-3 < 0 || n-3 >= len(f) {
		return 0
	}
	v, _ := strconv.ParseFloat(f[n-3], 64)
	return v
}

func runtimeCores() int { return runtime.NumCPU() }

// settleHeap brings the heap of the gateway behind httpAddr (started with
// --pprof) to the state a long-running one is in before a measured run:
// a collection, work, and a collection again, so that the run's
// allocations go to pages its heap already mapped, freed by the last
// collection, as they do once a gateway's heap has cycled through its
// goal. Without it the gateway of a benchmark still grows its heap
// through fresh pages during the run, each one faulted in at 12 µs on
// the AMD EPYC Firecracker VMs: 5,800–10,300 faults in
// BenchmarkProduceThroughput's measured GiB, 0.07–0.12 CPU-s per GB that
// a gateway pays once in its life. testing collects this process's
// garbage before each benchmark too, and the relays before theirs. work,
// nil for none, should allocate what the run will.
func settleHeap(b *testing.B, httpAddr string, work func()) {
	b.Helper()
	collectGateway(b, httpAddr)
	if work != nil {
		work()
		collectGateway(b, httpAddr)
	}
}

// collectGateway runs a garbage collection in the gateway, through
// pprof's heap profile with gc=1.
func collectGateway(b *testing.B, httpAddr string) {
	b.Helper()
	resp, err := http.Get("http://" + httpAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		b.Fatalf("collect the gateway's garbage: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("collect the gateway's garbage: %s", resp.Status)
	}
}

// profileGateway, when CAUDAL_BENCH_PPROF names a directory, records a CPU
// profile of the gateway behind httpAddr for d into <dir>/<benchmark>.pprof
// while the caller runs its workload; the returned func waits for it.
func profileGateway(b *testing.B, httpAddr string, d time.Duration) func() {
	b.Helper()
	dir := os.Getenv("CAUDAL_BENCH_PPROF")
	if dir == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", httpAddr, max(int(d.Seconds()), 1))
		resp, err := http.Get(url)
		if err != nil {
			b.Logf("profile gateway: %v", err)
			return
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK { // a gateway started without --pprof
			b.Logf("profile gateway: %s: %s", resp.Status, data)
			return
		}
		name := filepath.Join(dir, strings.ReplaceAll(b.Name(), "/", "_")+".pprof")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			b.Logf("write profile: %v", err)
		}
	}()
	return func() { <-done }
}
