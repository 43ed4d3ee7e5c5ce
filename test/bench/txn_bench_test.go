package bench

// Transaction benchmarks against `caudal gateway` running as a child
// process on MinIO + PostgreSQL, with kgo's transactional producer at the
// gateway's default transaction version (2, KIP-890: Produce v12 adds
// partitions implicitly, EndTxn v5 bumps the epoch). Like the produce
// benchmarks, each measures one fixed workload per invocation whatever
// b.N is (see produce_bench_test.go), next to a baseline from the same
// run.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
)

// txnProducers is how many transactional producers load the gateway: as
// many transactions of 1,000 records (1 MiB) in flight as the 64 MiB the
// 4 idempotent producers buffer (16,384 records each). One producer has
// one transaction in flight and waits for two flushes per transaction
// (its records', then its markers'), so 16 producers measured here
// stayed near 50 MB/s, bound by that wait rather than by the gateway.
const txnProducers = 64

// BenchmarkTxnProduceThroughput produces 256 MiB of 1 KiB records to 16
// partitions through one gateway (default 100 ms flush interval) in
// alternating runs, two of each: 4 idempotent kgo producers (acks=all), as
// BenchmarkProduceThroughput, and txnProducers transactional producers
// with distinct transactional ids committing transactions of 1,000
// records, the same record values in both. It reports MB/s and records/s
// of each, the ratio transactional/idempotent (the target: >= 0.80), and
// where a transaction's time and cost go: the phases of each transaction
// on the client (records acknowledged, then EndTxn), the gateway's
// requests per transaction and their mean durations, its flushes, and the
// CPU seconds per GB of every process. With CAUDAL_BENCH_PPROF set it
// writes a CPU profile of the gateway over the second transactional run.
// Last, on the same PostgreSQL, it times the store work of joining a
// transaction's 16 partitions one UpdateTransaction each, as Produce v12
// does, against one UpdateTransaction for all of them.
//
// The gateway first takes 512 MiB unmeasured (see
// BenchmarkProduceThroughput on why a fresh gateway is slower).
func BenchmarkTxnProduceThroughput(b *testing.B) {
	const clients = 4
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	httpAddr := testenv.FreeAddr(b)
	p := testenv.StartProcess(b, bucketURL, metadataURL, "--http-listen", httpAddr, "--pprof")
	pid := processPid(b, p)
	testenv.CreateTopics(b, p.Addr, benchPartitions, "warm", "idem", "txn")
	values := jsonValues(16384)
	produceRecords(b, []string{p.Addr}, "warm", values, 2*throughputBytes, clients)
	producers := newTxnProducers(b, p.Addr, "txn", txnProducers)

	var idem, txn []produceFigures
	b.ResetTimer()
	for round := range 2 {
		idem = append(idem, measureProduce(b, pid, httpAddr, func() (time.Duration, int) {
			return produceRecords(b, []string{p.Addr}, "idem", values, throughputBytes, clients)
		}))
		profiled := func() {}
		if round == 1 {
			profiled = profileGateway(b, httpAddr, 5*time.Second)
		}
		var run txnRun
		txn = append(txn, measureProduce(b, pid, httpAddr, func() (time.Duration, int) {
			run = produceTransactions(b, producers, values, throughputBytes)
			return run.elapsed, run.records
		}))
		profiled()
		i, t := idem[round], txn[round]
		report(b, "round %d: idempotent %.1f MB/s (%.0f records/s, %d producers), transactional %.1f MB/s (%.0f records/s, %d producers, %d transactions of %d records): ratio %.2f",
			round+1, i.mbps(), i.recordsPerSec(), clients, t.mbps(), t.recordsPerSec(), txnProducers, len(run.ends), txnRecords, t.mbps()/i.mbps())
		report(b, "round %d: per transaction: records acknowledged (Begin to Flush) p50 %.0f ms, p99 %.0f ms; EndTxn p50 %.0f ms, p99 %.0f ms",
			round+1, ms(percentile(run.fills, 50)), ms(percentile(run.fills, 99)), ms(percentile(run.ends, 50)), ms(percentile(run.ends, 99)))
		report(b, "round %d: gateway, transactional run: %s", round+1, t.txnRequests(len(run.ends)))
		report(b, "round %d: gateway, both runs: %s", round+1, compareFlushes(i, t))
		report(b, "round %d: CPU-s per GB of records, idempotent: %s; transactional: %s", round+1, i.cpuPerGB(), t.cpuPerGB())
	}
	b.StopTimer()

	ratios := make([]float64, len(txn))
	for r := range txn {
		ratios[r] = txn[r].mbps() / idem[r].mbps()
	}
	ratio := mean(ratios)
	b.ReportMetric(mean(mbpsOf(idem)), "idempotent-MB/s")
	b.ReportMetric(mean(mbpsOf(txn)), "transactional-MB/s")
	b.ReportMetric(ratio, "ratio")
	report(b, "transactional/idempotent throughput: %s MB/s over %s MB/s, ratio %.2f (range %.2f–%.2f over %d rounds; target >= 0.80: %s)",
		floats(mbpsOf(txn)), floats(mbpsOf(idem)), ratio, slices.Min(ratios), slices.Max(ratios), len(ratios), verdict(ratio >= 0.8))
	oneByOne, together := joinCosts(b, 100)
	report(b, "store work per transaction on this PostgreSQL, 100 each: 16 partitions joined one UpdateTransaction each (as when each Produce request holds one partition) p50 %.1f ms, p99 %.1f ms; in one UpdateTransaction (one Produce v12 or AddPartitionsToTxn holding all 16) p50 %.1f ms, p99 %.1f ms",
		ms(percentile(oneByOne, 50)), ms(percentile(oneByOne, 99)), ms(percentile(together, 50)), ms(percentile(together, 99)))
}

// BenchmarkTxnEndLatency times every EndTransaction(commit) of 4 kgo
// transactional producers each committing 50 transactions of 1,000
// records (Begin, produce, Flush, EndTransaction) against a gateway with
// the default 100 ms flush interval, and prints p50/p99 next to the flush
// interval and, from the same run, the gateway's own flush round trip
// (seal to commit) and PUT p50/p99 of an object of the size the gateway
// wrote plus CommitObject p50/p99 (as BenchmarkProduceLatency measures
// them). The target: EndTxn p99 <= flush interval + 2 × (PUT p99 +
// commit p99). The markers wait for the next flush, up to an interval,
// then for their object's PUT and commit, which may queue behind the
// previous object's: flushes commit in order.
func BenchmarkTxnEndLatency(b *testing.B) {
	const producers, txns = 4, 50
	srv := testenv.MinIO(b)
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	httpAddr := testenv.FreeAddr(b)
	p := testenv.StartProcess(b, bucketURL, metadataURL, "--flush-interval", flushInterval.String(), "--http-listen", httpAddr)
	testenv.CreateTopics(b, p.Addr, benchPartitions, "endtxn")
	values := jsonValues(txnRecords)

	cls := newTxnProducers(b, p.Addr, "endtxn", producers)
	before := scrapeMetrics(b, httpAddr)
	b.ResetTimer()
	run := produceTransactions(b, cls, values, producers*txns*txnRecords*recordSize)
	b.StopTimer()
	m := scrapeMetrics(b, httpAddr).sub(before)
	objs, objBytes := bucketObjects(b, bucketURL)
	objSize := int(objBytes / int64(max(objs, 1)))

	put := putLatencies(b, srv, objSize, 200)
	commit := commitLatencies(b, 200)
	bound := flushInterval + 2*(percentile(put, 99)+percentile(commit, 99))
	p50, p99 := percentile(run.ends, 50), percentile(run.ends, 99)
	flushes, commits, endTxn := m.hist("caudal_flush_duration_seconds", ""), m.hist("caudal_metadata_commit_duration_seconds", ""), m.request("EndTxn")
	b.ReportMetric(ms(p50), "endtxn-p50-ms")
	b.ReportMetric(ms(p99), "endtxn-p99-ms")
	b.ReportMetric(ms(bound), "bound-ms")
	report(b, "EndTxn (commit) latency, %d producers × %d transactions of %d records, %.1f MB/s: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; flush interval %.0f ms (p99 <= bound %.1f ms: %s)",
		producers, txns, txnRecords, float64(run.records*recordSize)/1e6/run.elapsed.Seconds(),
		ms(p50), ms(percentile(run.ends, 90)), ms(p99), ms(percentile(run.ends, 100)), ms(flushInterval), ms(bound), verdict(p99 <= bound))
	report(b, "EndTxn baselines: gateway wrote %d objects, mean %d KiB; PUT of %d KiB p50 %.1f ms p99 %.1f ms; commit (16 partitions, idempotent) p50 %.1f ms p99 %.1f ms; bound flush %.0f + 2 × (PUT p99 + commit p99) = %.1f ms",
		objs, objSize>>10, objSize>>10, ms(percentile(put, 50)), ms(percentile(put, 99)), ms(percentile(commit, 50)), ms(percentile(commit, 99)), ms(flushInterval), ms(bound))
	report(b, "EndTxn on the gateway: %d requests, mean %.1f ms; its flushes in the run: %d, seal to commit mean %.1f ms, of which metadata commit mean %.1f ms; records acknowledged before each EndTxn (Begin to Flush) p50 %.1f ms, p99 %.1f ms",
		endTxn.count, endTxn.mean()*1000, flushes.count, flushes.mean()*1000, commits.mean()*1000, ms(percentile(run.fills, 50)), ms(percentile(run.fills, 99)))
}

// produceFigures is one measured produce run: its records, time, the CPU
// every process spent and what the gateway's metrics moved.
type produceFigures struct {
	elapsed time.Duration
	records int
	// window is the wall time cpu and metrics cover: elapsed and the
	// workload's setup.
	window  time.Duration
	cpu     cpuSample
	metrics series
}

// measureProduce runs a produce workload and samples CPU and the
// gateway's metrics around it.
func measureProduce(b *testing.B, pid int, httpAddr string, workload func() (time.Duration, int)) produceFigures {
	b.Helper()
	m0, cpu0, start := scrapeMetrics(b, httpAddr), sampleCPU(pid), time.Now()
	var f produceFigures
	f.elapsed, f.records = workload()
	f.cpu, f.metrics, f.window = sampleCPU(pid).sub(cpu0), scrapeMetrics(b, httpAddr).sub(m0), time.Since(start)
	return f
}

func (f produceFigures) gb() float64 { return float64(f.records*recordSize) / 1e9 }

func (f produceFigures) mbps() float64 { return f.gb() * 1e3 / f.elapsed.Seconds() }

func (f produceFigures) recordsPerSec() float64 { return float64(f.records) / f.elapsed.Seconds() }

func (f produceFigures) cpuPerGB() string {
	c := f.cpu.scale(1 / f.gb())
	return fmt.Sprintf("%.2f (gateway %.2f, kgo %.2f, MinIO %.2f, PostgreSQL %.2f)", c.total(), c.gateway, c.clients, c.minio, c.postgres)
}

// txnRequests is the transaction APIs' requests per transaction (txns,
// warm-ups included) and their mean durations, and the error codes
// returned.
func (f produceFigures) txnRequests(txns int) string {
	line := ""
	for _, api := range []string{"Produce", "InitProducerID", "AddPartitionsToTxn", "EndTxn"} {
		r := f.metrics.request(api)
		line += fmt.Sprintf("%s %.2f per transaction, mean %.1f ms; ", api, float64(r.count)/float64(txns), r.mean()*1000)
	}
	return line + "error codes: " + f.metrics.errorCodes()
}

// compareFlushes puts two runs' produce requests and flushes side by side.
func compareFlushes(idem, txn produceFigures) string {
	var runs []string
	for _, r := range []struct {
		name string
		f    produceFigures
	}{{"idempotent", idem}, {"transactional", txn}} {
		produce := r.f.metrics.request("Produce")
		flush := r.f.metrics.hist("caudal_flush_duration_seconds", "")
		commit := r.f.metrics.hist("caudal_metadata_commit_duration_seconds", "")
		runs = append(runs, fmt.Sprintf("%s: %d Produce requests, mean %.1f ms; %d flushes (%.1f/s), seal to commit mean %.1f ms, metadata commit mean %.1f ms",
			r.name, produce.count, produce.mean()*1000, flush.count, float64(flush.count)/r.f.window.Seconds(), flush.mean()*1000, commit.mean()*1000))
	}
	return strings.Join(runs, ". ")
}

func mbpsOf(fs []produceFigures) []float64 {
	out := make([]float64, len(fs))
	for i, f := range fs {
		out[i] = f.mbps()
	}
	return out
}
