package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kgo"
)

// txnRecords is the size of every measured transaction, in records.
const txnRecords = 1000

// txnRun is what one transactional workload measured.
type txnRun struct {
	elapsed time.Duration
	records int
	// fills are each transaction's BeginTransaction to Flush returned
	// (its records acknowledged), ends each EndTransaction(commit) call.
	fills, ends []time.Duration
}

// newTxnProducers starts n transactional producers of topic with
// distinct transactional ids. Each commits two small transactions to
// every partition first, so that its producer id, metadata and
// connections exist before anything is measured, and it runs at
// transaction version 2: kgo learns the finalized version from its first
// connection's ApiVersions, so its first transaction runs at version 1
// (AddPartitionsToTxn) and the next begins with a new InitProducerId.
func newTxnProducers(b *testing.B, addr, topic string, n int) []*kgo.Client {
	b.Helper()
	run := fmt.Sprintf("%s-%d", topic, time.Now().UnixNano())
	cls := make([]*kgo.Client, n)
	var (
		failed atomic.Pointer[error]
		wg     sync.WaitGroup
	)
	for i := range cls {
		cls[i] = newProducer(b, addr, topic, kgo.TransactionalID(fmt.Sprintf("%s-%d", run, i)),
			kgo.MaxBufferedRecords(16384), kgo.ProducerBatchMaxBytes(1<<20))
		wg.Go(func() {
			for range 2 {
				var warm []*kgo.Record
				for p := range int32(benchPartitions) {
					warm = append(warm, &kgo.Record{Partition: p, Value: []byte("warm-up")})
				}
				if _, _, err := commitTransaction(context.Background(), cls[i], warm); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("warm-up transaction: %v", *err)
	}
	return cls
}

// produceTransactions produces total bytes of records with the given
// values from the transactional producers cls, round-robin over the
// topic's partitions as produceRecords does, each in transactions of
// txnRecords records (Begin, produce, Flush, commit, repeat), and returns
// the time from the first record to the last commit with every
// transaction's phases. Any failure fails b.
func produceTransactions(b *testing.B, cls []*kgo.Client, values [][]byte, total int) txnRun {
	b.Helper()
	ctx := context.Background()
	producers := len(cls)
	records := total / recordSize
	var (
		mu     sync.Mutex
		out    = txnRun{records: records}
		failed error
		wg     sync.WaitGroup
	)
	start := time.Now()
	for c, cl := range cls {
		wg.Go(func() {
			var txn []*kgo.Record
			for i := c; i < records; i += producers {
				txn = append(txn, &kgo.Record{Partition: int32(i % benchPartitions), Value: values[i%len(values)]})
				if len(txn) < txnRecords && i+producers < records {
					continue
				}
				fill, end, err := commitTransaction(ctx, cl, txn)
				mu.Lock()
				out.fills, out.ends = append(out.fills, fill), append(out.ends, end)
				if err != nil && failed == nil {
					failed = err
				}
				mu.Unlock()
				if err != nil {
					return
				}
				txn = txn[:0]
			}
		})
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	if failed != nil {
		b.Fatalf("transactions: %v", failed)
	}
	return out
}

// commitTransaction produces rs in one transaction and commits it,
// returning the time from BeginTransaction until Flush returned and the
// time EndTransaction took.
func commitTransaction(ctx context.Context, cl *kgo.Client, rs []*kgo.Record) (fill, end time.Duration, err error) {
	start := time.Now()
	if err := cl.BeginTransaction(); err != nil {
		return 0, 0, err
	}
	var produced atomic.Pointer[error]
	for _, r := range rs {
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				produced.CompareAndSwap(nil, &err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, 0, err
	}
	if err := produced.Load(); err != nil {
		return 0, 0, fmt.Errorf("produce: %w", *err)
	}
	flushed := time.Now()
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return 0, 0, fmt.Errorf("commit: %w", err)
	}
	return flushed.Sub(start), time.Since(flushed), nil
}

// series is every sample of a gateway's /metrics, keyed by the series as
// exposed: name{labels}.
type series map[string]float64

// scrapeMetrics reads the gateway's /metrics behind httpAddr.
func scrapeMetrics(b *testing.B, httpAddr string) series {
	b.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		b.Fatalf("scrape gateway metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatalf("scrape gateway metrics: %v", err)
	}
	s := series{}
	for line := range strings.SplitSeq(string(body), "\n") {
		i := strings.LastIndexByte(line, ' ')
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			s[line[:i]] = v
		}
	}
	return s
}

// sub is s less an earlier scrape: what happened in between.
func (s series) sub(before series) series {
	d := series{}
	for k, v := range s {
		d[k] = v - before[k]
	}
	return d
}

// hist is histogram name's count and sum for labels (`api="EndTxn"`, or
// "" for an unlabelled one).
func (s series) hist(name, labels string) opStat {
	if labels != "" {
		labels = "{" + labels + "}"
	}
	return opStat{count: int(s[name+"_count"+labels]), sum: s[name+"_sum"+labels]}
}

// request is one Kafka API's requests in s.
func (s series) request(api string) opStat {
	return s.hist("caudal_requests_duration_seconds", `api="`+api+`"`)
}

// errorCodes lists the error codes the gateway returned, as "API ERROR×n".
func (s series) errorCodes() string {
	var out []string
	for k, v := range s {
		if rest, ok := strings.CutPrefix(k, "caudal_request_errors_total{"); ok && v > 0 {
			out = append(out, fmt.Sprintf("%s×%.0f", strings.TrimSuffix(rest, "}"), v))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// joinCosts times, on a fresh database of the test PostgreSQL, the store
// work that adds 16 partitions to each of n transactions in two ways,
// alternating: one UpdateTransaction per partition, as a Produce v12
// request joins them (gateway/produce.go, joinTxn, at each partition's
// first batch of a transaction), and one for all 16, as one
// AddPartitionsToTxn request does. It returns each transaction's time for
// both.
func joinCosts(b *testing.B, n int) (oneByOne, together []time.Duration) {
	b.Helper()
	ctx := context.Background()
	_, store := cloudStores(b)
	t, err := store.CreateTopic(ctx, metadata.TopicSpec{Name: "join", Partitions: benchPartitions, ReplicationFactor: 1})
	if err != nil {
		b.Fatal(err)
	}
	update := func(id string, fn func(tx *metadata.Transaction)) {
		if _, err := store.UpdateTransaction(ctx, id, func(tx *metadata.Transaction, _ bool) error {
			fn(tx)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	parts := make([]metadata.TxnPartition, benchPartitions)
	for p := range parts {
		parts[p] = metadata.TxnPartition{Topic: t.ID, Partition: int32(p)}
	}
	for i := range 2 * n {
		id := fmt.Sprintf("join-%d", i)
		pid, err := store.AllocateProducerID(ctx)
		if err != nil {
			b.Fatal(err)
		}
		update(id, func(tx *metadata.Transaction) {
			tx.ProducerID, tx.State, tx.TimeoutMs, tx.StartedAt = pid, metadata.TxnOngoing, 60_000, time.Now()
		})
		start := time.Now()
		if i%2 == 1 {
			update(id, func(tx *metadata.Transaction) { tx.Partitions = append(tx.Partitions, parts...) })
			together = append(together, time.Since(start))
			continue
		}
		for _, p := range parts {
			update(id, func(tx *metadata.Transaction) { tx.Partitions = append(tx.Partitions, p) })
		}
		oneByOne = append(oneByOne, time.Since(start))
	}
	return oneByOne, together
}
