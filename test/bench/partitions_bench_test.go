package bench

// 10,000 partitions (issue 18, item 4): 100 topics of 100 partitions on
// one gateway over MinIO and PostgreSQL, produced to at a low rate on
// every partition, and what that costs the gateway's Metadata answers,
// its flush commits, its memory, and the worker's passes.

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/compaction"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/retention"
	"github.com/caudal/caudal/test/testenv"
	"github.com/caudal/caudal/worker/job"
)

const (
	manyTopics     = 100
	manyPartitions = 100 // per topic
	// manyRounds: each round produces one record to every partition,
	// spread evenly over a second, so that each 100 ms flush touches
	// about 1,000 partitions.
	manyRounds = 5
	// metadataRequests and commitRuns are the samples behind the
	// Metadata and direct commit percentiles.
	metadataRequests = 50
	commitRuns       = 1000
	commitPartitions = 1000
)

// BenchmarkTenThousandPartitions prints, each with its target: Metadata
// for all 10,000 partitions (≤ 50 ms), the commit of a flush touching
// 1,000 partitions, from the gateway's own metric while it flushes them
// (≤ 50 ms), the gateway's RSS and
// Go heap per partition, and one retention and one merge pass over all
// partitions, once with nothing to do and once rewriting everything.
func BenchmarkTenThousandPartitions(b *testing.B) {
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	httpAddr := testenv.FreeAddr(b)
	p := testenv.StartProcess(b, bucketURL, metadataURL, "--http-listen", httpAddr, "--pprof")
	pid := processPid(b, p)
	waitHTTP(b, httpAddr)
	idle := gatewayMemory(b, pid, httpAddr)

	topics := make([]string, manyTopics)
	for i := range topics {
		topics[i] = fmt.Sprintf("many-%03d", i)
	}
	start := time.Now()
	testenv.CreateTopics(b, p.Addr, manyPartitions, topics...)
	report(b, "created %d topics of %d partitions in %v; load %s", manyTopics, manyPartitions, time.Since(start).Round(time.Millisecond), machineLoad(b))
	created := gatewayMemory(b, pid, httpAddr)

	before, cpu0 := scrapeMetrics(b, httpAddr), sampleCPU(pid)
	records := produceEverywhere(b, p.Addr, topics)
	flushed, cpu := scrapeMetrics(b, httpAddr).sub(before), sampleCPU(pid).sub(cpu0)
	produced := gatewayMemory(b, pid, httpAddr)
	reportFlushCommits(b, flushed, records, cpu)
	for _, m := range []struct {
		when string
		mem  memory
	}{{"after creating them", created}, {"after producing to them", produced}} {
		d := m.mem.sub(idle)
		report(b, "gateway memory %s: RSS %+.1f MiB, Go heap in use %+.1f MiB over idle (%.1f / %.1f MiB): %.2f KiB RSS and %.2f KiB heap per partition (bounded: printed, no target); load %s",
			m.when, mib(d.rss), mib(d.heap), mib(idle.rss), mib(idle.heap), float64(d.rss)/1024/1e4, float64(d.heap)/1024/1e4, machineLoad(b))
	}

	before = scrapeMetrics(b, httpAddr)
	lats, size := metadataLatencies(b, p.Addr)
	served := scrapeMetrics(b, httpAddr).sub(before).request("Metadata")
	report(b, "Metadata for all %d topics (%d partitions, %d-byte response), %d requests: p50 %.2f ms, p99 %.2f ms at the client (the gateway's own mean %.2f ms), target ≤ 50 ms: %s; load %s",
		manyTopics, manyTopics*manyPartitions, size, len(lats), ms(percentile(lats, 50)), ms(percentile(lats, 99)), 1e3*served.mean(),
		verdict(percentile(lats, 99) <= 50*time.Millisecond), machineLoad(b))

	workerPasses(b, bucketURL, metadataURL)
}

// BenchmarkWideCommits prints the latency of CommitObject for an object
// on 1,000 partitions on PostgreSQL (≤ 50 ms), from one idempotent
// producer and from none, and where its CPU goes. It needs no gateway, so
// it runs apart from BenchmarkTenThousandPartitions.
func BenchmarkWideCommits(b *testing.B) {
	for _, idempotent := range []bool{false, true} {
		// sampleCPU counts this benchmark's own PostgreSQL server only.
		cpu0 := sampleCPU(0)
		lats := wideCommits(b, idempotent)
		cpu := sampleCPU(0).sub(cpu0).scale(1e3 / float64(len(lats)))
		report(b, "CommitObject of one object on %d partitions (one batch each, idempotent %v), %d commits one at a time on PostgreSQL: p50 %.2f ms, p99 %.2f ms, target ≤ 50 ms: %s; CPU per commit: caller %.1f ms, PostgreSQL %.1f ms; load %s",
			commitPartitions, idempotent, len(lats), ms(percentile(lats, 50)), ms(percentile(lats, 99)), verdict(percentile(lats, 99) <= 50*time.Millisecond),
			cpu.clients, cpu.postgres, machineLoad(b))
	}
}

// memory is a process's resident set and Go heap in use, in bytes.
type memory struct{ rss, heap int64 }

func (m memory) sub(o memory) memory { return memory{m.rss - o.rss, m.heap - o.heap} }

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// waitHTTP waits until the gateway's admin listener answers /healthz:
// StartProcess waits for the Kafka listener only, and the admin one may
// come up after it.
func waitHTTP(b *testing.B, httpAddr string) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + httpAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("gateway's admin listener %s: %v", httpAddr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gatewayMemory forces a garbage collection in the gateway
// (collectGateway), then reads its RSS and go_memstats_heap_inuse_bytes.
func gatewayMemory(b *testing.B, pid int, httpAddr string) memory {
	b.Helper()
	collectGateway(b, httpAddr)
	heap := scrapeMetrics(b, httpAddr)["go_memstats_heap_inuse_bytes"]
	return memory{rss: procStatusKB(pid, "VmRSS") << 10, heap: int64(heap)}
}

// produceEverywhere produces manyRounds records to every partition of
// topics from one idempotent producer, each round's records spread evenly
// over a second in ten steps, and returns how many it produced.
func produceEverywhere(b *testing.B, addr string, topics []string) int {
	b.Helper()
	cl := newClient(b, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProduceRequestTimeout(60*time.Second),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.MaxBufferedRecords(1<<16))
	var all []*kgo.Record
	for _, t := range topics {
		for p := range int32(manyPartitions) {
			all = append(all, &kgo.Record{Topic: t, Partition: p})
		}
	}
	const steps = 10
	per := len(all) / steps
	tick := time.NewTicker(time.Second / steps)
	defer tick.Stop()
	start := time.Now()
	n := 0
	for round := range manyRounds {
		for s := range steps {
			<-tick.C
			for _, r := range all[s*per : (s+1)*per] {
				cl.Produce(context.Background(), &kgo.Record{Topic: r.Topic, Partition: r.Partition, Value: fmt.Appendf(nil, "round %d", round)}, nil)
				n++
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.Flush(ctx); err != nil {
		b.Fatalf("flush producer: %v", err)
	}
	report(b, "produced %d records, one per partition per round, %d rounds of 1 s, in %v; load %s", n, manyRounds, time.Since(start).Round(time.Millisecond), machineLoad(b))
	return n
}

// reportFlushCommits prints the gateway's flush commits while every
// partition was produced to: how many partitions a flush touched, how
// long its metadata transaction took, how many commits failed (their
// producers retried), and the CPU the gateway and PostgreSQL spent per
// commit meanwhile (the gateway's includes serving the produce requests).
func reportFlushCommits(b *testing.B, d series, records int, cpu cpuSample) {
	b.Helper()
	const name = "caudal_metadata_commit_duration_seconds"
	c := d.hist(name, "")
	under := func(le string) float64 { return 100 * d[name+`_bucket{le="`+le+`"}`] / float64(max(c.count, 1)) }
	p99 := histBound(d, name, 0.99)
	per := cpu.scale(1e3 / float64(max(c.count, 1)))
	report(b, "gateway flush commits: %d commits of %.0f partitions on average, %.0f failed: mean %.2f ms, p99 ≤ %.0f ms, %.0f%% ≤ 32 ms, %.0f%% ≤ 64 ms (histogram buckets), target ≤ 50 ms: %s; CPU per commit: gateway %.1f ms, PostgreSQL %.1f ms; load %s",
		c.count, float64(records)/float64(max(c.count, 1)), d[`caudal_flush_errors_total{stage="commit"}`], 1e3*c.mean(), 1e3*p99, under("0.032"), under("0.064"),
		verdict(p99 <= 0.05), per.gateway, per.postgres, machineLoad(b))
}

// histBound is the upper bound of the smallest bucket of histogram name
// in d that holds the q-quantile of its observations: the quantile
// rounded up to the bucket edges, +Inf when it lies past the last.
func histBound(d series, name string, q float64) float64 {
	want := q * d[name+"_count"]
	bound := math.Inf(1)
	for k, n := range d {
		le, ok := strings.CutPrefix(k, name+`_bucket{le="`)
		if !ok || n < want {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSuffix(le, `"}`), 64); err == nil {
			bound = min(bound, v)
		}
	}
	return bound
}

// metadataLatencies times metadataRequests Metadata requests for all
// topics, one at a time, and returns their latencies and the size of
// the last response.
func metadataLatencies(b *testing.B, addr string) ([]time.Duration, int) {
	b.Helper()
	cl := newClient(b, addr)
	lats := make([]time.Duration, 0, metadataRequests)
	var resp *kmsg.MetadataResponse
	for range metadataRequests {
		req := kmsg.NewPtrMetadataRequest() // Topics nil: all of them
		start := time.Now()
		r, err := req.RequestWith(context.Background(), cl)
		lats = append(lats, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		resp = r
	}
	n := 0
	for _, t := range resp.Topics {
		n += len(t.Partitions)
	}
	if n != manyTopics*manyPartitions {
		b.Fatalf("Metadata listed %d partitions, want %d", n, manyTopics*manyPartitions)
	}
	return lats, len(resp.AppendTo(nil))
}

// workerPasses times one retention pass and one merge pass of the worker
// over every partition, first with nothing to do (the objects are younger
// than the merge's minimum age and retention's 168 h), then an hour later
// by the worker's clock, when the merge rewrites every partition's rows
// into one object, and eight days later, when retention drops them all.
func workerPasses(b *testing.B, bucketURL, metadataURL string) {
	b.Helper()
	ctx := context.Background()
	store, err := metadata.Open(ctx, metadataURL, metadata.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	reg := prometheus.NewRegistry()
	bucket, err := objstore.WithMetrics(openBucket(b, bucketURL), reg)
	if err != nil {
		b.Fatal(err)
	}
	defer bucket.Close()
	broker, err := topicconfig.NewBroker(nil)
	if err != nil {
		b.Fatal(err)
	}
	jobs := func(ahead time.Duration) (*retention.Retainer, *compaction.Compactor) {
		jc := job.Config{Store: store, Bucket: bucket, Broker: broker, Grace: time.Minute, Now: func() time.Time { return time.Now().Add(ahead) },
			Parallel: job.DefaultParallel}
		return retention.New(jc), compaction.New(compaction.Config{Config: jc})
	}
	timed := func(what string, run func(context.Context) error) {
		rows0, objs0 := indexSize(b, store)
		ops0 := bucketRequests(b, reg)
		start := time.Now()
		if err := run(ctx); err != nil {
			b.Fatalf("%s: %v", what, err)
		}
		elapsed := time.Since(start)
		ops := bucketRequests(b, reg)
		rows, objs := indexSize(b, store)
		report(b, "%s over %d partitions: %v (index rows %d → %d, live objects %d → %d; %d PUTs, %d whole and %d ranged GETs), target: seconds; load %s",
			what, manyTopics*manyPartitions, elapsed.Round(time.Millisecond), rows0, rows, objs0, objs,
			ops[objstore.OpPut]-ops0[objstore.OpPut], ops[objstore.OpGet]-ops0[objstore.OpGet], ops[objstore.OpGetRange]-ops0[objstore.OpGetRange], machineLoad(b))
	}
	ret, comp := jobs(0)
	timed("retention pass with nothing to do", ret.Run)
	timed("merge pass with nothing to do", comp.Run)
	_, comp = jobs(time.Hour)
	timed("merge pass rewriting every partition", comp.Run)
	ret, _ = jobs(8 * 24 * time.Hour)
	timed("retention pass dropping every row", ret.Run)
}

// indexSize counts the index rows and the live objects in store.
func indexSize(b *testing.B, store metadata.Store) (rows, objects int) {
	b.Helper()
	ctx := context.Background()
	topics, err := store.Topics(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range topics {
		for p := range t.Partitions {
			n, _, err := store.PartitionSize(ctx, t.ID, p)
			if err != nil {
				b.Fatal(err)
			}
			rows += int(n)
		}
	}
	return rows, liveObjects(b, store)
}

// wideCommits runs commitRuns CommitObject calls one at a time on a fresh
// PostgreSQL database, each for an object with a one-record batch on each
// of commitPartitions partitions (10 topics of 100), from one idempotent
// producer or from none, and returns their latencies. It drops the
// database when done: left behind, its million index rows had autovacuum
// working through the next call's commits on the same 2 cores.
func wideCommits(b *testing.B, idempotent bool) []time.Duration {
	b.Helper()
	ctx := context.Background()
	url := testenv.Postgres(b)
	store, err := metadata.Open(ctx, url, metadata.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		store.Close()
		testenv.DropPostgres(b, url)
	}()
	var ts []metadata.Topic
	for i := range commitPartitions / manyPartitions {
		t, err := store.CreateTopic(ctx, metadata.TopicSpec{Name: fmt.Sprintf("wide-%d", i), Partitions: manyPartitions, ReplicationFactor: 1})
		if err != nil {
			b.Fatal(err)
		}
		ts = append(ts, t)
	}
	producer := int64(-1)
	if idempotent {
		if producer, err = store.AllocateProducerID(ctx); err != nil {
			b.Fatal(err)
		}
	}
	const size = 100
	lats := make([]time.Duration, 0, commitRuns)
	for i := range commitRuns {
		c := metadata.ObjectCommit{Key: fmt.Sprintf("segments/wide-%d-%08d", time.Now().UnixNano(), i), Size: commitPartitions * size}
		for j, t := range ts {
			for p := range t.Partitions {
				off := int64(j*manyPartitions+int(p)) * size
				c.Runs = append(c.Runs, metadata.PartitionRun{Topic: t.ID, Partition: p, Batches: []metadata.BatchAppend{{
					ByteOffset: off, ByteLength: size, Records: 1, MaxTimestamp: time.Now().UnixMilli(), ProducerID: producer, BaseSequence: int32(i),
				}}})
			}
		}
		lats = append(lats, timedCommit(b, store, c))
	}
	return lats
}

// timedCommit commits c and returns how long CommitObject took; a failed
// commit, or a first batch the store refused, ends the benchmark.
func timedCommit(b *testing.B, store metadata.Store, c metadata.ObjectCommit) time.Duration {
	b.Helper()
	start := time.Now()
	res, err := store.CommitObject(context.Background(), c)
	took := time.Since(start)
	if err == nil {
		err = res.Runs[0][0].Err
	}
	if err != nil {
		b.Fatalf("commit %s: %v", c.Key, err)
	}
	return took
}

// bucketRequests counts the requests of a bucket wrapped by
// objstore.WithMetrics on reg, by operation.
func bucketRequests(b *testing.B, reg *prometheus.Registry) map[objstore.Op]uint64 {
	b.Helper()
	families, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	out := map[objstore.Op]uint64{}
	for _, f := range families {
		if f.GetName() != "caudal_objstore_operation_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" {
					out[objstore.Op(l.GetValue())] += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return out
}
