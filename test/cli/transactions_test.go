package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTransactionsTool abandons two transactions in the middle of a
// partition each and checks, on caudal dev and on MinIO + PostgreSQL,
// that `caudal transactions` lists them Ongoing, describes them with
// their partitions and their producers with their start offsets, and
// aborts them (one found by its start offset, one named by its producer),
// after which a read_committed consumer gets the records produced after
// them; kadm's calls of the same APIs agree.
func TestTransactionsTool(t *testing.T) {
	t.Parallel()
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			var p *testenv.Process
			if backend == testenv.Dev {
				p = testenv.StartDev(t, "--flush-interval", "10ms")
			} else {
				bucket, meta := testenv.StoreURLs(t, backend)
				p = testenv.StartProcess(t, bucket, meta, "--flush-interval", "10ms")
			}
			checkTransactionsTool(t, server{bin: testenv.CaudalBinary(t), bootstrap: p.Addr})
		})
	}
}

func checkTransactionsTool(t *testing.T, s server) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s.ok(t, "", "topics", "--create", "--topic", "orders", "--partitions", "2", "--replication-factor", "1")
	plain := newTxnTestClient(t, s)
	produce := func(cl *kgo.Client, partition int32, values ...string) {
		t.Helper()
		for _, v := range values {
			if err := cl.ProduceSync(ctx, &kgo.Record{Partition: partition, Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatalf("produce %s: %v", v, err)
			}
		}
	}
	produce(plain, 0, "before0", "before1", "before2")
	abandonTxn(t, ctx, s, "hanging-a", 0, "a0", "a1") // offsets 3 and 4
	abandonTxn(t, ctx, s, "hanging-b", 1, "b0")       // offset 0
	produce(plain, 0, "after0")
	produce(plain, 1, "after1")

	listed := parseTxnTable(t, s.ok(t, "", "transactions", "list").stdout,
		"TransactionalId", "Coordinator", "ProducerId", "TransactionState")
	for _, id := range []string{"hanging-a", "hanging-b"} {
		if r := rowWith(listed, "TransactionalId", id); r == nil || r["TransactionState"] != "Ongoing" {
			t.Fatalf("list: %s is %v in %v", id, r, listed)
		}
	}
	if r := parseTxnTable(t, s.ok(t, "", "transactions", "list", "--duration-filter", "3600000").stdout, "TransactionalId"); len(r) != 0 {
		t.Fatalf("list --duration-filter of an hour: %v", r)
	}
	described := parseTxnTable(t, s.ok(t, "", "transactions", "describe", "--transactional-id", "hanging-a").stdout,
		"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState", "TransactionTimeoutMs",
		"CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions")
	if d := described[0]; len(described) != 1 || d["TransactionState"] != "Ongoing" || d["TopicPartitions"] != "orders-0" ||
		d["TransactionTimeoutMs"] != "600000" || d["CurrentTransactionStartTimeMs"] == "None" {
		t.Fatalf("describe: %v", described)
	}
	wantFail(t, s.tool(t, "", "transactions", "describe", "--transactional-id", "nobody"), 1,
		"Failed to describe transaction state of transactional-id `nobody`: TRANSACTIONAL_ID_NOT_FOUND")

	producers := func(partition string) []map[string]string {
		t.Helper()
		return parseTxnTable(t, s.ok(t, "", "transactions", "describe-producers", "--topic", "orders", "--partition", partition).stdout,
			"ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp", "CurrentTransactionStartOffset")
	}
	a := rowWith(producers("0"), "ProducerId", described[0]["ProducerId"])
	if a == nil || a["CurrentTransactionStartOffset"] != "3" || a["LatestCoordinatorEpoch"] != "-1" || a["LastSequence"] != "1" {
		t.Fatalf("describe-producers of partition 0: %v", producers("0"))
	}
	checkAdminViews(t, ctx, s, described[0]["ProducerId"])

	if a, b := stableOffset(t, ctx, s, 0), stableOffset(t, ctx, s, 1); a != 3 || b != 0 {
		t.Fatalf("last stable offsets %d and %d before the aborts, want 3 and 0", a, b)
	}
	wantFail(t, s.tool(t, "", "transactions", "abort", "--topic", "orders", "--partition", "0", "--start-offset", "4"), 1,
		"Could not find any open transactions starting at offset 4 on partition orders-0")
	s.ok(t, "", "transactions", "abort", "--topic", "orders", "--partition", "0", "--start-offset", "3")
	// after0 follows a0 and a1: had they not been aborted, they would
	// come first.
	if got := readCommitted(t, ctx, s, 0, 4); !slices.Equal(got, []string{"before0", "before1", "before2", "after0"}) {
		t.Fatalf("read_committed after aborting by start offset got %v", got)
	}
	if a := rowWith(producers("0"), "ProducerId", described[0]["ProducerId"]); a["CurrentTransactionStartOffset"] != "None" {
		t.Fatalf("the aborted producer still has a transaction: %v", a)
	}

	b := rowWith(producers("1"), "CurrentTransactionStartOffset", "0")
	if b == nil {
		t.Fatalf("no open transaction at offset 0 of partition 1: %v", producers("1"))
	}
	s.ok(t, "", "transactions", "abort", "--topic", "orders", "--partition", "1",
		"--producer-id", b["ProducerId"], "--producer-epoch", b["ProducerEpoch"], "--coordinator-epoch", b["LatestCoordinatorEpoch"])
	if got := readCommitted(t, ctx, s, 1, 1); !slices.Equal(got, []string{"after1"}) {
		t.Fatalf("read_committed after aborting by producer got %v", got)
	}
}

// checkAdminViews describes and lists the open transaction "hanging-a",
// whose producer is pid, and the producers of its partition through kadm.
func checkAdminViews(t *testing.T, ctx context.Context, s server, pid string) {
	t.Helper()
	adm := kadm.NewClient(newTxnTestClient(t, s))
	listed, err := adm.ListTransactions(ctx, nil, []string{"Ongoing"})
	if err != nil || len(listed) != 2 || fmt.Sprint(listed["hanging-a"].ProducerID) != pid {
		t.Fatalf("kadm ListTransactions: %v %+v", err, listed)
	}
	described, err := adm.DescribeTransactions(ctx, "hanging-a")
	if d := described["hanging-a"]; err != nil || d.Err != nil || d.State != "Ongoing" || fmt.Sprint(d.ProducerID) != pid || len(d.Topics["orders"]) != 1 {
		t.Fatalf("kadm DescribeTransactions: %v %+v", err, d)
	}
	producers, err := adm.DescribeProducers(ctx, kadm.TopicsSet{"orders": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	var starts []int64
	for _, p := range producers["orders"].Partitions[0].ActiveProducers.Sorted() {
		if fmt.Sprint(p.ProducerID) == pid {
			starts = append(starts, p.CurrentTxnStartOffset)
		}
	}
	if !slices.Equal(starts, []int64{3}) {
		t.Fatalf("kadm DescribeProducers: the transaction's start offsets %v, want [3]", starts)
	}
}

// newTxnTestClient is a client of s that produces to "orders" by
// partition; it is closed with the test.
func newTxnTestClient(t *testing.T, s server, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.bootstrap), kgo.DefaultProduceTopic("orders"),
		kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// abandonTxn produces values to partition in a transaction of id with a
// ten-minute timeout, and closes the producer without ending it.
func abandonTxn(t *testing.T, ctx context.Context, s server, id string, partition int32, values ...string) {
	t.Helper()
	cl := newTxnTestClient(t, s, kgo.TransactionalID(id), kgo.TransactionTimeout(10*time.Minute))
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, &kgo.Record{Partition: partition, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatalf("produce %s in %s: %v", v, id, err)
		}
	}
	cl.Close()
}

// stableOffset is a partition of "orders"'s last stable offset.
func stableOffset(t *testing.T, ctx context.Context, s server, partition int32) int64 {
	t.Helper()
	stable, err := kadm.NewClient(newTxnTestClient(t, s)).ListCommittedOffsets(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	o, _ := stable.Lookup("orders", partition)
	return o.Offset
}

// readCommitted reads the first n values of a partition of "orders"
// read_committed.
func readCommitted(t *testing.T, ctx context.Context, s server, partition int32, n int) []string {
	t.Helper()
	cl := newTxnTestClient(t, s, kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"orders": {partition: kgo.NewOffset().AtStart()}}))
	var got []string
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("read_committed fetch after %v: %v", got, err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

// parseTxnTable parses a table printed as Kafka's prettyPrintTable does
// (cells padded and tab-separated, no spaces in a cell) whose header must
// start with the given columns, into one map per row.
func parseTxnTable(t *testing.T, out string, header ...string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	cols := strings.Fields(lines[0])
	if len(cols) < len(header) || !slices.Equal(cols[:len(header)], header) {
		t.Fatalf("header %q, want %q:\n%s", cols, header, out)
	}
	var rows []map[string]string
	for _, l := range lines[1:] {
		cells := strings.Split(strings.TrimSuffix(l, "\t"), "\t")
		if len(cells) != len(cols) {
			t.Fatalf("row %q has %d cells, the header %d", l, len(cells), len(cols))
		}
		row := map[string]string{}
		for i, c := range cells {
			row[cols[i]] = strings.TrimSpace(c)
		}
		rows = append(rows, row)
	}
	return rows
}

// rowWith is the first row whose column col is value, or nil.
func rowWith(rows []map[string]string, col, value string) map[string]string {
	for _, r := range rows {
		if r[col] == value {
			return r
		}
	}
	return nil
}

// TestKafkaTransactionsName: the tool answers as kafka-transactions.sh
// through a symlink, and a command line without a command is a usage
// error.
func TestKafkaTransactionsName(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	link := filepath.Join(t.TempDir(), "kafka-transactions.sh")
	if err := os.Symlink(s.bin, link); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, link, "", "--bootstrap-server", s.bootstrap, "list")
	if r.code != 0 || r.stdout != "TransactionalId\tCoordinator\tProducerId\tTransactionState\t\n" {
		t.Fatalf("kafka-transactions.sh list: %v", r)
	}
	wantFail(t, runBin(t, link, "", "--bootstrap-server", s.bootstrap), 2, "a command is required")
	wantFail(t, runBin(t, link, "", "--bootstrap-server", s.bootstrap, "abort", "--topic", "t", "--partition", "0"), 2,
		"must be identified either with --start-offset")
}
