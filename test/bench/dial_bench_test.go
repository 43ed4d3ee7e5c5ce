package bench

// The latency dial: what each --flush-interval costs in latency and in
// S3 requests, measured rather than derived (issue 18, item 6).

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// s3PutPrice is S3 Standard's list price of one PUT ($0.005 per 1,000),
// and month the seconds in 30 days, for the cost column.
const (
	s3PutPrice = 0.005 / 1000
	month      = 30 * 24 * time.Hour
)

// dialIntervals are the flush intervals the dial table covers.
var dialIntervals = []time.Duration{
	2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond,
	50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
}

// dialRounds is how many times the whole table is measured; each cell
// prints its range over the rounds.
const dialRounds = 2

// dialClient is one producer configuration of the table.
type dialClient struct {
	name string
	opts []kgo.Opt
}

// dialClients are an idempotent producer (kgo keeps at most 5 requests in
// flight per broker) and one without idempotence, which may keep a
// request in flight for every moment of a flush cycle, both acks=all
// with linger 0, as in BenchmarkProduceLatency.
var dialClients = []dialClient{
	{"idempotent, 5 in flight", []kgo.Opt{kgo.ProducerLinger(0)}},
	{"not idempotent, 32 in flight", []kgo.Opt{kgo.ProducerLinger(0), kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(32)}},
}

// BenchmarkLatencyDial measures the flush interval's trade: for each of
// dialIntervals, a gateway process with that --flush-interval on MinIO and
// PostgreSQL takes 2,000 records/s of 1 KiB for 10 s from each of
// dialClients in turn, one Produce call per record over 16 partitions,
// while a kgo consumer tails the topic through the same gateway. Each row
// gives the records' produce latency (Produce to its promise) and
// end-to-end latency (Produce to receipt by the consumer) p50/p99, the
// gateway's PUTs per second (flushes counted by its
// caudal_flush_duration_seconds histogram over the produce window) and
// what that many PUTs cost a month at S3's list price, and the machine's
// 1-minute load average after the run.
//
// The baseline of each row, from the same round: p99 of raw PUTs of an
// object of the mean size that gateway wrote, straight to MinIO, plus p99
// of CommitObject for a 16-partition idempotent object on the same
// PostgreSQL: a request that arrives as an object opens waits the flush
// interval, then the object's PUT and commit. The table is measured dialRounds times,
// round after round so that a slow spell of this shared machine touches
// every interval alike, and prints each cell's range as a Markdown table.
// Issue 18's target: at 5 ms, produce and end-to-end p99 at most 15 and
// 20 ms.
func BenchmarkLatencyDial(b *testing.B) {
	srv := testenv.MinIO(b)
	rows := map[dialKey]*dialRow{}
	b.ResetTimer()
	for range dialRounds {
		commit := percentile(commitLatencies(b, 100), 99)
		for _, interval := range dialIntervals {
			figures, objSize := dialInterval(b, interval)
			put := percentile(putLatencies(b, srv, objSize, 100), 99)
			for i, f := range figures {
				key := dialKey{interval, i}
				if rows[key] == nil {
					rows[key] = &dialRow{}
				}
				rows[key].add(f, put+commit)
			}
		}
	}
	b.StopTimer()
	report(b, "latency dial at %d rec/s × 1 KiB over %d partitions for %s per row, %d rounds (ranges); S3 PUT at $%.3f per 1,000, %.0f s a month:",
		latencyRate, benchPartitions, latencyDuration, dialRounds, s3PutPrice*1000, month.Seconds())
	fmt.Print(dialTable(rows))
	for i, c := range dialClients {
		r := rows[dialKey{5 * time.Millisecond, i}]
		produce, e2e := slices.Max(r.produceP99), slices.Max(r.e2eP99)
		report(b, "latency dial target at 5 ms, %s: produce p99 %.1f ms <= 15 ms: %s; end-to-end p99 %.1f ms <= 20 ms: %s",
			c.name, produce, verdict(produce <= 15), e2e, verdict(e2e <= 20))
		b.ReportMetric(produce, fmt.Sprintf("5ms-client%d-produce-p99-ms", i))
		b.ReportMetric(e2e, fmt.Sprintf("5ms-client%d-e2e-p99-ms", i))
	}
}

// dialKey is a row of the table: a flush interval and an index into
// dialClients.
type dialKey struct {
	interval time.Duration
	client   int
}

// dialFigures are one client's measurement at one flush interval.
type dialFigures struct {
	produce, e2e []time.Duration
	putsPerSec   float64
	load         float64 // the machine's 1-minute load average after the run
}

// dialRow collects a row's figures over the rounds, in milliseconds.
type dialRow struct {
	produceP50, produceP99, e2eP50, e2eP99, floorP99, putsPerSec, load []float64
}

func (r *dialRow) add(f dialFigures, floor time.Duration) {
	r.produceP50 = append(r.produceP50, ms(percentile(f.produce, 50)))
	r.produceP99 = append(r.produceP99, ms(percentile(f.produce, 99)))
	r.e2eP50 = append(r.e2eP50, ms(percentile(f.e2e, 50)))
	r.e2eP99 = append(r.e2eP99, ms(percentile(f.e2e, 99)))
	r.floorP99 = append(r.floorP99, ms(floor))
	r.putsPerSec = append(r.putsPerSec, f.putsPerSec)
	r.load = append(r.load, f.load)
}

// dialTable renders the rows as a Markdown table, each cell the range of
// its rounds.
func dialTable(rows map[dialKey]*dialRow) string {
	var sb strings.Builder
	sb.WriteString("| flush | client | produce p50 ms | produce p99 ms | end-to-end p50 ms | end-to-end p99 ms | PUT p99 + commit p99 ms (raw) | PUTs/s | S3 PUTs $/month | load |\n")
	sb.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, interval := range dialIntervals {
		for i, c := range dialClients {
			r := rows[dialKey{interval, i}]
			cost := make([]float64, len(r.putsPerSec))
			for j, puts := range r.putsPerSec {
				cost[j] = puts * month.Seconds() * s3PutPrice
			}
			fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", interval, c.name,
				span(r.produceP50, 1), span(r.produceP99, 1), span(r.e2eP50, 1), span(r.e2eP99, 1),
				span(r.floorP99, 1), span(r.putsPerSec, 1), span(cost, 0), span(r.load, 1))
		}
	}
	return sb.String()
}

// span is the range of xs, "min–max", or one value when they agree at
// prec decimals.
func span(xs []float64, prec int) string {
	lo := strconv.FormatFloat(slices.Min(xs), 'f', prec, 64)
	hi := strconv.FormatFloat(slices.Max(xs), 'f', prec, 64)
	if lo == hi {
		return lo
	}
	return lo + "–" + hi
}

// dialInterval starts a gateway with the given flush interval on fresh
// stores, measures each of dialClients against it on a topic of its own,
// stops it, and returns the figures and the mean size of the objects it
// wrote.
func dialInterval(b *testing.B, interval time.Duration) ([]dialFigures, int) {
	b.Helper()
	bucketURL, metadataURL := testenv.StoreURLs(b, testenv.Cloud)
	httpAddr := testenv.FreeAddr(b)
	p := testenv.StartProcess(b, bucketURL, metadataURL, "--flush-interval", interval.String(), "--http-listen", httpAddr)
	defer p.Terminate()
	figures := make([]dialFigures, len(dialClients))
	for i, c := range dialClients {
		topic := fmt.Sprintf("dial-%d", i)
		testenv.CreateTopics(b, p.Addr, benchPartitions, topic)
		figures[i] = measureDial(b, p.Addr, httpAddr, topic, c)
	}
	objs, objBytes := bucketObjects(b, bucketURL)
	return figures, int(objBytes / int64(max(objs, 1)))
}

// measureDial produces latencyRate records/s for latencyDuration with
// client c while a consumer tails the topic, and returns the records'
// produce and end-to-end latencies and the gateway's PUTs per second over
// the produce window.
func measureDial(b *testing.B, addr, httpAddr, topic string, c dialClient) dialFigures {
	b.Helper()
	prod := newProducer(b, addr, topic, c.opts...)
	defer prod.Close()
	t := startTailer(b, addr, topic)
	defer t.stop()
	t.waitTailing(b, prod, topic)

	m0, start := scrapeMetrics(b, httpAddr), time.Now()
	produced, errs := pacedProduce(b, prod, topic, latencyRate, latencyDuration, nil)
	window := time.Since(start)
	flushes := scrapeMetrics(b, httpAddr).sub(m0).hist("caudal_flush_duration_seconds", "")
	if errs > 0 {
		b.Errorf("%s: %d of %d produces failed", c.name, errs, len(produced)+errs)
	}
	received := t.waitReceived(len(produced), 10*time.Second)
	if len(received) < len(produced) {
		b.Errorf("%s: consumer received %d of %d records", c.name, len(received), len(produced))
	}
	return dialFigures{produce: produced, e2e: received, putsPerSec: float64(flushes.count) / window.Seconds(), load: loadAverage(b)}
}

// loadAverage is the machine's 1-minute load average: other work on these
// shared cores shows in the latencies, so every row says how busy they were.
func loadAverage(b *testing.B) float64 {
	b.Helper()
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		b.Fatal(err)
	}
	load, err := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	if err != nil {
		b.Fatalf("/proc/loadavg: %v", err)
	}
	return load
}

// tailer is a kgo consumer tailing all partitions of a topic from their
// end, which records each measured record's end-to-end latency from the
// send time pacedProduce writes into its value.
type tailer struct {
	cl        *kgo.Client
	cancel    context.CancelFunc
	done      chan struct{}
	warm      chan struct{} // a warm-up record arrived
	measuring atomic.Bool

	mu     sync.Mutex
	lats   []time.Duration
	want   int
	caught chan struct{} // closed once want records arrived
}

func startTailer(b *testing.B, addr, topic string) *tailer {
	b.Helper()
	t := &tailer{
		cl: newClient(b, addr,
			kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: allPartitionsFrom(kgo.NewOffset().AtEnd())}),
			kgo.FetchMaxWait(5*time.Second)),
		done:   make(chan struct{}),
		warm:   make(chan struct{}, 1),
		caught: make(chan struct{}),
		want:   -1,
	}
	var ctx context.Context
	ctx, t.cancel = context.WithCancel(context.Background())
	go t.poll(ctx)
	return t
}

func (t *tailer) poll(ctx context.Context) {
	defer close(t.done)
	for {
		fs := t.cl.PollFetches(ctx)
		now := time.Now()
		if ctx.Err() != nil {
			return
		}
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Value) != recordSize { // warm-up: the consumer is tailing
				select {
				case t.warm <- struct{}{}:
				default:
				}
				return
			}
			if t.measuring.Load() {
				t.received(now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(r.Value)))))
			}
		})
	}
}

func (t *tailer) received(lat time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lats = append(t.lats, lat)
	if len(t.lats) == t.want {
		close(t.caught)
	}
}

// waitTailing produces warm-up records until the consumer sees one, so
// that it has its end offsets and long-polls before measuring starts.
func (t *tailer) waitTailing(b *testing.B, prod *kgo.Client, topic string) {
	b.Helper()
	for {
		warmUp(b, prod, topic)
		select {
		case <-t.warm:
			t.measuring.Store(true)
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// waitReceived waits up to timeout for n measured records and returns
// the latencies of those that arrived.
func (t *tailer) waitReceived(n int, timeout time.Duration) []time.Duration {
	t.mu.Lock()
	t.want = n
	if len(t.lats) >= n {
		close(t.caught)
	}
	t.mu.Unlock()
	select {
	case <-t.caught:
	case <-time.After(timeout):
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.lats)
}

func (t *tailer) stop() {
	t.cancel()
	<-t.done
	t.cl.Close()
}
