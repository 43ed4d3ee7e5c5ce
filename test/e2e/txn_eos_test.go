package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// eosJob is one consume-transform-produce job: it copies every record of
// src (partition p) to dst's partition p in transactions that also commit
// the consumed offsets of group, until those reach ends.
type eosJob struct {
	seeds               []string
	src, dst            string
	group, txnID        string
	ends                []int64
	progress, aborts    atomic.Int64 // records in committed transactions so far; aborted transactions
	retries, replaced   atomic.Int64 // txn_eos.py's calls that failed retriably, and producers it gave up
	lastAbort           atomic.Value // the error of the last abort, for the log
	partitions, records int
}

// TestExactlyOnceUnderKills runs a consume-transform-produce job on three
// gateways over MinIO and PostgreSQL, once with confluent_kafka's
// transactions (librdkafka 2.0.2) and once with kgo's
// GroupTransactSession, and SIGKILLs the gateway coordinating the job's
// transactional id three times while it runs, restarting it each time.
// Afterwards a read_committed consumer of the output sees every input
// record exactly once and nothing else, and every output record it does
// not see (both jobs abort every 7th transaction on purpose, beside what
// the kills abort) lies inside an aborted transaction, by the fetch
// responses' aborted transactions and the partitions' ABORT markers.
func TestExactlyOnceUnderKills(t *testing.T) {
	t.Parallel()
	jobs := []struct {
		name string
		run  func(context.Context, *eosJob) error
	}{
		{"confluent_kafka", runPythonEOS},
		{"kgo", runKgoEOS},
	}
	for _, job := range jobs {
		t.Run(job.name, func(t *testing.T) {
			_, _, gws := startCluster(t, 3)
			j := &eosJob{src: "eos-in", dst: "eos-out", group: "eos-group", txnID: "eos-" + job.name, partitions: 3, records: 6000}
			for _, gw := range gws {
				j.seeds = append(j.seeds, gw.Addr)
			}
			testenv.CreateTopics(t, gws[0].Addr, int32(j.partitions), j.src, j.dst)
			ctx := testCtx(t, 2*time.Minute)
			produceInput(t, ctx, j)

			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- job.run(ctx, j) }()
			logs := func() {
				for i, gw := range gws {
					t.Logf("gateway %d log:\n%s", i, testenv.Tail(gw.Log(), 3000))
				}
			}
			kills, err := killTxnCoordinator(t, ctx, gws, j, done)
			if err != nil {
				logs()
				t.Fatalf("the job failed: %v", err)
			}
			if j.aborts.Load() == 0 {
				t.Errorf("no transaction was aborted: nothing checks the aborted index")
			}
			t.Logf("the job copied %d records in %v with %d kills of its coordinator, %d aborted transactions (last: %v), %d calls retried and %d producers replaced",
				j.records, time.Since(start), kills, j.aborts.Load(), j.lastAbort.Load(), j.retries.Load(), j.replaced.Load())
			if kills < 3 {
				t.Errorf("the coordinator was killed %d times during the job, want 3", kills)
			}
			checkExactlyOnce(t, ctx, gws[0].Addr, j)
			if t.Failed() {
				logs()
			}
		})
	}
}

// produceInput writes the job's input: record i, valued i, to partition
// i mod partitions.
func produceInput(t *testing.T, ctx context.Context, j *eosJob) {
	t.Helper()
	cl := newClient(t, j.seeds[0], kgo.DefaultProduceTopic(j.src), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var rs []*kgo.Record
	for i := range j.records {
		rs = append(rs, &kgo.Record{Partition: int32(i % j.partitions), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		t.Fatalf("produce the input: %v", err)
	}
	j.ends = make([]int64, j.partitions)
	for i := range j.ends {
		j.ends[i] = int64(j.records / j.partitions)
	}
}

// killTxnCoordinator SIGKILLs the gateway coordinating the job's
// transactional id when the job has committed 1/8, 3/8 and 5/8 of the
// records, and restarts it once the others have noticed; it returns how
// many kills it made and the job's outcome once the job is done.
func killTxnCoordinator(t *testing.T, ctx context.Context, gws []*testenv.Process, j *eosJob, done <-chan error) (int, error) {
	t.Helper()
	kills := 0
	for k := range int64(3) {
		at := (2*k + 1) * int64(j.records) / 8
		for j.progress.Load() < at {
			select {
			case err := <-done:
				return kills, err
			case <-time.After(20 * time.Millisecond):
			}
		}
		victim := -1
		waitFor(t, 30*time.Second, "the transaction coordinator", func() bool {
			addr, err := txnCoordinator(ctx, gws[0].Addr, j.txnID)
			victim = slices.IndexFunc(gws, func(p *testenv.Process) bool { return p.Addr == addr })
			return err == nil && victim >= 0
		})
		gws[victim].Kill()
		other := gws[(victim+1)%len(gws)].Addr
		waitBrokers(t, other, func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == len(gws)-1 })
		gws[victim].Start(t)
		waitBrokers(t, other, func(m *kmsg.MetadataResponse) bool { return len(m.Brokers) == len(gws) })
		kills++
		t.Logf("kill %d: gateway %d, the coordinator, at %d committed records; restarted", kills, victim, j.progress.Load())
	}
	return kills, <-done
}

// runPythonEOS runs the job with txn_eos.py (confluent_kafka).
func runPythonEOS(ctx context.Context, j *eosJob) error {
	ends := make([]string, len(j.ends))
	for i, e := range j.ends {
		ends[i] = strconv.FormatInt(e, 10)
	}
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "txn_eos.py", strings.Join(j.seeds, ","), j.src, j.dst, j.group, j.txnID, strings.Join(ends, ","))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	finished := false
	var last []string // the script's last lines, for a failure's report
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		last = append(last[max(len(last)-29, 0):], sc.Text())
		word, rest, _ := strings.Cut(sc.Text(), " ")
		switch word {
		case "COMMITTED":
			n, _ := strconv.ParseInt(rest, 10, 64)
			j.progress.Store(n)
		case "ABORTED":
			j.aborts.Add(1)
			j.lastAbort.Store(rest)
		case "RETRIED":
			j.retries.Add(1)
		case "REPLACED":
			j.aborts.Add(1)
			j.replaced.Add(1)
		case "DONE":
			finished = true
		}
	}
	if err := cmd.Wait(); err != nil || !finished {
		return fmt.Errorf("txn_eos.py: %v (finished: %v)\nits last lines:\n%s\nstderr: %s", err, finished, strings.Join(last, "\n"), testenv.Tail(stderr.String(), 3000))
	}
	return nil
}

// runKgoEOS runs the job with kgo's GroupTransactSession, its documented
// loop: poll, Begin, produce, End trying to commit unless a produce
// failed; like txn_eos.py it aborts every 7th transaction on purpose.
func runKgoEOS(ctx context.Context, j *eosJob) error {
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(j.seeds...),
		kgo.TransactionalID(j.txnID),
		kgo.TransactionTimeout(10*time.Second),
		kgo.ConsumerGroup(j.group),
		kgo.ConsumeTopics(j.src),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.MetadataMinAge(100*time.Millisecond),
		kgo.MetadataMaxAge(time.Second),
	)
	if err != nil {
		return err
	}
	defer sess.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(j.seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	admin := kadm.NewClient(cl)
	transactions := 0
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		recs := sess.PollRecords(pctx, 50).Records()
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(recs) == 0 {
			if groupReached(ctx, admin, j) {
				return nil
			}
			continue
		}
		if err := sess.Begin(); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		e := kgo.AbortingFirstErrPromise(sess.Client())
		for _, r := range recs {
			sess.Produce(ctx, &kgo.Record{Topic: j.dst, Partition: r.Partition, Value: r.Value}, e.Promise())
		}
		produceErr := e.Err()
		if transactions++; transactions%7 == 0 && produceErr == nil {
			produceErr = errors.New("on purpose")
		}
		committed, err := sess.End(ctx, kgo.TransactionEndTry(produceErr == nil))
		if err != nil {
			return fmt.Errorf("end transaction: %w", err)
		}
		if !committed {
			j.aborts.Add(1)
			j.lastAbort.Store(fmt.Sprint(produceErr))
			continue
		}
		j.progress.Add(int64(len(recs)))
	}
}

// groupReached reports whether the job's group has committed the end of
// every input partition.
func groupReached(ctx context.Context, admin *kadm.Client, j *eosJob) bool {
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	offs, err := admin.FetchOffsets(fctx, j.group)
	if err != nil {
		return false
	}
	for p, end := range j.ends {
		if o, ok := offs.Lookup(j.src, int32(p)); !ok || o.Err != nil || o.At < end {
			return false
		}
	}
	return true
}

// checkExactlyOnce reads the job's output read_committed, which must hold
// every input value once, in its input partition, and nothing else; and
// the whole output read_uncommitted with raw fetches, whose records the
// read_committed consumer did not see must each lie inside an aborted
// transaction: from a FirstOffset the read_committed fetches report for
// its producer to that producer's next ABORT marker.
func checkExactlyOnce(t *testing.T, ctx context.Context, addr string, j *eosJob) {
	t.Helper()
	seen := map[[2]int64]bool{} // partition, offset
	values := map[int]bool{}
	for p, recs := range consumeAll(t, addr, []string{j.dst}, j.records, kgo.FetchIsolationLevel(kgo.ReadCommitted()))[j.dst] {
		for _, r := range recs {
			v, err := strconv.Atoi(string(r.Value))
			switch {
			case err != nil || v < 0 || v >= j.records:
				t.Errorf("output %d/%d: value %q is no input's", p, r.Offset, r.Value)
			case values[v]:
				t.Errorf("output %d/%d: input %d copied twice", p, r.Offset, v)
			case v%j.partitions != int(p):
				t.Errorf("output %d/%d: input %d came from partition %d", p, r.Offset, v, v%j.partitions)
			}
			values[v] = true
			seen[[2]int64{int64(p), r.Offset}] = true
		}
	}

	m, err := metadataFrom(ctx, addr, j.dst)
	if err != nil || len(m.Topics) != 1 {
		t.Fatalf("metadata of %s: %v", j.dst, err)
	}
	cl := newClient(t, addr)
	var hidden, inAborted, aborts int
	for p := range int32(j.partitions) {
		all, _ := fetchWhole(t, ctx, cl, m.Topics[0].TopicID, j.dst, p, 0)
		_, aborted := fetchWhole(t, ctx, cl, m.Topics[0].TopicID, j.dst, p, 1)
		aborts += len(aborted)
		for _, r := range all {
			if r.Attrs.IsControl() || seen[[2]int64{int64(p), r.Offset}] {
				continue
			}
			hidden++
			if insideAborted(r, aborted, all) {
				inAborted++
			} else {
				t.Errorf("output %d/%d (value %s, producer %d) is hidden from read_committed but in no aborted transaction", p, r.Offset, r.Value, r.ProducerID)
			}
		}
	}
	t.Logf("output: %d records read_committed, %d more read_uncommitted, %d of them inside %d aborted transactions", len(seen), hidden, inAborted, aborts)
	if hidden == 0 || aborts == 0 {
		t.Errorf("the job aborted transactions, yet their records are not in the output or the aborted index")
	}
}

// insideAborted reports whether r lies in one of its producer's aborted
// transactions: at or after the transaction's first offset and before the
// producer's first ABORT marker after that.
func insideAborted(r *kgo.Record, aborted []kmsg.FetchResponseTopicPartitionAbortedTransaction, log []*kgo.Record) bool {
	for _, a := range aborted {
		if a.ProducerID != r.ProducerID || r.Offset < a.FirstOffset {
			continue
		}
		for _, m := range log {
			if m.Attrs.IsControl() && m.ProducerID == a.ProducerID && m.Offset >= a.FirstOffset && isAbortMarker(m) {
				if r.Offset < m.Offset {
					return true
				}
				break
			}
		}
	}
	return false
}

// isAbortMarker reads a control record's key: version, then type 0
// (ABORT) or 1 (COMMIT).
func isAbortMarker(r *kgo.Record) bool {
	return len(r.Key) >= 4 && r.Key[2] == 0 && r.Key[3] == 0
}

// fetchWhole reads a partition from offset 0 to its end with raw Fetch
// requests at isolation level iso (0 read_uncommitted, up to the high
// watermark; 1 read_committed, up to the last stable offset) and returns
// its records, control records included, and the aborted transactions
// the responses reported.
func fetchWhole(t *testing.T, ctx context.Context, cl *kgo.Client, topicID [16]byte, topic string, partition int32, iso int8) ([]*kgo.Record, []kmsg.FetchResponseTopicPartitionAbortedTransaction) {
	t.Helper()
	var (
		recs    []*kgo.Record
		aborted []kmsg.FetchResponseTopicPartitionAbortedTransaction
	)
	for offset := int64(0); ; {
		req := kmsg.NewPtrFetchRequest()
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.IsolationLevel = 100, 1, 1<<20, iso
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, topicID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = partition, offset, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl.SeedBrokers()[0])
		if err != nil {
			t.Fatalf("fetch %s/%d at %d: %v", topic, partition, offset, err)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("fetch %s/%d at %d: %+v", topic, partition, offset, resp)
		}
		got := &resp.Topics[0].Partitions[0]
		if err := kerr.ErrorForCode(got.ErrorCode); err != nil {
			t.Fatalf("fetch %s/%d at %d: %v", topic, partition, offset, err)
		}
		end := got.HighWatermark
		if iso == 1 {
			end = got.LastStableOffset
			if end != got.HighWatermark {
				t.Errorf("%s/%d: last stable offset %d below the high watermark %d with no transaction open", topic, partition, end, got.HighWatermark)
				return recs, aborted
			}
		}
		if offset >= end {
			return recs, aborted
		}
		for _, a := range got.AbortedTransactions {
			if !slices.ContainsFunc(aborted, func(b kmsg.FetchResponseTopicPartitionAbortedTransaction) bool {
				return a.ProducerID == b.ProducerID && a.FirstOffset == b.FirstOffset
			}) {
				aborted = append(aborted, a)
			}
		}
		fp, next := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{KeepControlRecords: true, Offset: offset, Topic: topic, Partition: partition}, got, kgo.DefaultDecompressor(), nil)
		if fp.Err != nil && !errors.Is(fp.Err, kerr.OffsetOutOfRange) {
			t.Fatalf("parse fetch of %s/%d at %d: %v", topic, partition, offset, fp.Err)
		}
		if next <= offset {
			t.Fatalf("fetch of %s/%d at %d returned nothing below the end %d", topic, partition, offset, end)
		}
		recs, offset = append(recs, fp.Records...), next
	}
}
