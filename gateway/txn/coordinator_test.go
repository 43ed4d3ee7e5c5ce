package txn

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/caudal/caudal/gateway/writer"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/metadatatest"
	"github.com/caudal/caudal/objstore/objstoretest"
	"github.com/caudal/caudal/segments/segmentstest"
	"github.com/caudal/caudal/test/testclock"
	"github.com/twmb/franz-go/pkg/kerr"
)

type env struct {
	co    *Coordinator
	store metadata.Store
	w     *writer.Writer
	clk   *testclock.Clock
	part  metadata.TxnPartition
}

// newEnv is a coordinator over a fresh SQLite store and file bucket, with
// a topic of one partition, on a clock the test moves.
func newEnv(t *testing.T) *env {
	t.Helper()
	clk := testclock.New(time.UnixMilli(1_700_000_000_000))
	store := metadatatest.OpenSQLite(t, metadata.Options{Now: clk.Now})
	w, err := writer.New(writer.Config{Store: store, Bucket: objstoretest.OpenFile(t), FlushInterval: time.Millisecond,
		FlushBytes: 1 << 20, MaxBufferedBytes: 1 << 24})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(context.Background()) })
	tp, err := store.CreateTopic(context.Background(), metadata.TopicSpec{Name: "t", Partitions: 1, ReplicationFactor: 1})
	if err != nil {
		t.Fatal(err)
	}
	co := New(Config{Store: store, Writer: w, MaxTimeout: time.Minute, Now: clk.Now})
	return &env{co: co, store: store, w: w, clk: clk, part: metadata.TxnPartition{Topic: tp.ID, Partition: 0}}
}

// produce writes one transactional batch of the producer to the partition.
func (e *env) produce(t *testing.T, pid int64, epoch int16, seq int32) error {
	t.Helper()
	ack, err := e.w.Append([]writer.Item{{Topic: e.part.Topic, Partition: 0, Batch: segmentstest.Batch("v"),
		Meta: metadata.BatchAppend{Records: 1, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, Transactional: true}}})
	if err != nil {
		t.Fatal(err)
	}
	<-ack.Done()
	res, err := ack.Results()
	if err != nil {
		t.Fatal(err)
	}
	return res[0].Err
}

func (e *env) state(t *testing.T, id string) metadata.Transaction {
	t.Helper()
	tx, err := e.store.Transaction(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func (e *env) lso(t *testing.T) int64 {
	t.Helper()
	p, err := e.store.Partition(context.Background(), e.part.Topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p.LastStableOffset
}

func wantKerr(t *testing.T, err error, want *kerr.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func TestInitProducerIDFences(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, _, err := e.co.InitProducerID(ctx, "a", int32(2*time.Minute/time.Millisecond), -1, -1)
	wantKerr(t, err, kerr.InvalidTransactionTimeout)

	pid, epoch, err := e.co.InitProducerID(ctx, "a", 10_000, -1, -1)
	if err != nil || epoch != 0 {
		t.Fatalf("first init: %d/%d, %v", pid, epoch, err)
	}
	if err := e.co.AddPartitions(ctx, "a", pid, epoch, []metadata.TxnPartition{e.part}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.produce(t, pid, epoch, 0); err != nil {
		t.Fatal(err)
	}
	// A second producer of the id aborts the open transaction and gets a
	// newer epoch; the first is fenced from then on.
	pid2, epoch2, err := e.co.InitProducerID(ctx, "a", 10_000, -1, -1)
	if err != nil || pid2 != pid || epoch2 <= epoch {
		t.Fatalf("second init: %d/%d, %v", pid2, epoch2, err)
	}
	if got := e.state(t, "a"); got.State != metadata.TxnEmpty {
		t.Fatalf("state after fencing = %s", got.State)
	}
	if e.lso(t) != 2 { // the batch and the ABORT marker
		t.Fatalf("LSO %d after the fenced transaction was aborted, want 2", e.lso(t))
	}
	ab, _ := e.store.AbortedTxns(ctx, e.part.Topic, 0, 0, 10)
	if len(ab) != 1 || ab[0].FirstOffset != 0 {
		t.Fatalf("aborted index = %+v", ab)
	}
	wantKerr(t, e.co.AddPartitions(ctx, "a", pid, epoch, []metadata.TxnPartition{e.part}, false), kerr.ProducerFenced)
	_, _, err = e.co.EndTxn(ctx, "a", pid, epoch, true, false)
	wantKerr(t, err, kerr.ProducerFenced)
	// KIP-360: only the current producer may pass its id and epoch.
	_, _, err = e.co.InitProducerID(ctx, "a", 10_000, pid, epoch)
	wantKerr(t, err, kerr.ProducerFenced)
	if _, e3, err := e.co.InitProducerID(ctx, "a", 10_000, pid2, epoch2); err != nil || e3 != epoch2+1 {
		t.Fatalf("KIP-360 re-init: epoch %d, %v", e3, err)
	}
}

func TestEndTxn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pid, epoch, err := e.co.InitProducerID(ctx, "b", 10_000, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.co.EndTxn(ctx, "b", pid, epoch, true, false)
	wantKerr(t, err, kerr.InvalidTxnState)
	_, _, err = e.co.EndTxn(ctx, "nobody", 99, 0, true, false)
	wantKerr(t, err, kerr.InvalidProducerIDMapping)
	// A batch for a partition not added is refused by the commit.
	if err := e.produce(t, pid, epoch, 0); !errors.Is(err, metadata.ErrInvalidTxnState) {
		t.Fatalf("produce outside the transaction: %v", err)
	}
	wantKerr(t, e.co.AddPartitions(ctx, "b", pid, epoch, []metadata.TxnPartition{e.part}, true), kerr.InvalidTxnState)
	if err := e.co.AddPartitions(ctx, "b", pid, epoch, []metadata.TxnPartition{e.part}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.co.AddPartitions(ctx, "b", pid, epoch, []metadata.TxnPartition{e.part}, true); err != nil {
		t.Fatalf("verify an added partition: %v", err)
	}
	if err := e.produce(t, pid, epoch, 0); err != nil {
		t.Fatal(err)
	}
	if e.lso(t) != 0 {
		t.Fatalf("LSO %d with the transaction open, want 0", e.lso(t))
	}
	// Transaction version 2: the epoch is bumped at the end.
	p2, e2, err := e.co.EndTxn(ctx, "b", pid, epoch, true, true)
	if err != nil || p2 != pid || e2 != epoch+1 {
		t.Fatalf("EndTxn v5 = %d/%d, %v", p2, e2, err)
	}
	if got := e.state(t, "b"); got.State != metadata.TxnCompleteCommit {
		t.Fatalf("state = %s", got.State)
	}
	if e.lso(t) != 2 {
		t.Fatalf("LSO %d after commit, want 2", e.lso(t))
	}
	// Its retry with the old epoch gets the same answer.
	if p3, e3, err := e.co.EndTxn(ctx, "b", pid, epoch, true, true); err != nil || p3 != pid || e3 != e2 {
		t.Fatalf("retried EndTxn = %d/%d, %v", p3, e3, err)
	}
	// The old epoch is fenced.
	if err := e.produce(t, pid, epoch, 1); !errors.Is(err, metadata.ErrInvalidTxnState) && !errors.Is(err, metadata.ErrInvalidProducerEpoch) {
		t.Fatalf("produce at the old epoch: %v", err)
	}
}

func TestSweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	// A producer that begins a transaction and disappears.
	pid, epoch, err := e.co.InitProducerID(ctx, "hang", 5_000, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.co.AddPartitions(ctx, "hang", pid, epoch, []metadata.TxnPartition{e.part}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.produce(t, pid, epoch, 0); err != nil {
		t.Fatal(err)
	}
	e.co.Sweep(ctx)
	if e.state(t, "hang").State != metadata.TxnOngoing {
		t.Fatal("the sweep aborted a transaction before its timeout")
	}
	e.clk.Add(6 * time.Second)
	e.co.Sweep(ctx)
	got := e.state(t, "hang")
	if got.State != metadata.TxnCompleteAbort || got.Epoch != epoch+1 {
		t.Fatalf("after the timeout: %s at epoch %d", got.State, got.Epoch)
	}
	if e.lso(t) != 2 {
		t.Fatalf("LSO %d after the timed-out abort, want 2", e.lso(t))
	}

	// A commit prepared by a coordinator that died before its markers:
	// the next coordinator's sweep finishes it.
	pid, epoch, err = e.co.InitProducerID(ctx, "dead", 10_000, -1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.co.AddPartitions(ctx, "dead", pid, epoch, []metadata.TxnPartition{e.part}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.produce(t, pid, epoch, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.UpdateTransaction(ctx, "dead", func(tx *metadata.Transaction, _ bool) error {
		tx.State = metadata.TxnPrepareCommit
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.co.Sweep(ctx)
	if e.state(t, "dead").State != metadata.TxnPrepareCommit {
		t.Fatal("the sweep took a just-prepared transaction from its EndTxn")
	}
	e.clk.Add(3 * time.Second)
	e.co.Sweep(ctx)
	if got := e.state(t, "dead"); got.State != metadata.TxnCompleteCommit {
		t.Fatalf("prepared commit after takeover: %s", got.State)
	}
	if ab, _ := e.store.AbortedTxns(ctx, e.part.Topic, 0, 2, 10); len(ab) != 0 {
		t.Fatalf("a prepared commit was aborted: %+v", ab)
	}
}
