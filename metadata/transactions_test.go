package metadata_test

import (
	"errors"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

func txnBatch(pid int64, epoch int16, seq int32, records int64) metadata.BatchAppend {
	b := idem(pid, epoch, seq, records)
	b.Transactional = true
	return b
}

func marker(pid int64, epoch int16, commit bool) metadata.BatchAppend {
	return metadata.BatchAppend{ByteLength: 70, Records: 1, MaxTimestamp: 1, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: -1, Control: true, Commit: commit}
}

// openTxn stores an ongoing transaction of id holding parts.
func openTxn(t *testing.T, s metadata.Store, id string, pid int64, epoch int16, parts ...metadata.TxnPartition) {
	t.Helper()
	if _, err := s.UpdateTransaction(ctx, id, func(tx *metadata.Transaction, found bool) error {
		tx.ProducerID, tx.Epoch, tx.State, tx.TimeoutMs = pid, epoch, metadata.TxnOngoing, 60000
		tx.StartedAt = time.UnixMilli(1)
		tx.Partitions = append(tx.Partitions, parts...)
		return nil
	}); err != nil {
		t.Fatalf("open transaction %s: %v", id, err)
	}
}

func prepare(t *testing.T, s metadata.Store, id string, state metadata.TxnState) {
	t.Helper()
	if _, err := s.UpdateTransaction(ctx, id, func(tx *metadata.Transaction, found bool) error {
		tx.State = state
		return nil
	}); err != nil {
		t.Fatalf("prepare %s: %v", id, err)
	}
}

func lso(t *testing.T, s metadata.Store, topic uuid.UUID, part int32) int64 {
	t.Helper()
	p, err := s.Partition(ctx, topic, part)
	if err != nil {
		t.Fatalf("partition: %v", err)
	}
	return p.LastStableOffset
}

// TestTransactionMarkers walks a partition through an aborted and a
// committed transaction: the last stable offset stops at an open
// transaction's first offset, an ABORT marker indexes the aborted range,
// a COMMIT applies staged offsets, and markers or batches outside a
// transaction are refused.
func TestTransactionMarkers(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		tp := mustTopic(t, s, "txn", 1)
		p0 := metadata.TxnPartition{Topic: tp.ID, Partition: 0}
		pid, err := s.AllocateProducerID(ctx)
		if err != nil {
			t.Fatal(err)
		}

		// A transactional batch for a partition not in a transaction.
		res := commitOne(t, s, tp.ID, 0, txnBatch(pid, 0, 0, 2))
		wantErr(t, res[0].Err, metadata.ErrInvalidTxnState)

		commitOne(t, s, tp.ID, 0, plain(0, 10, 3, 1)) // offsets 0-2
		openTxn(t, s, "a", pid, 0, p0)
		if got := lso(t, s, tp.ID, 0); got != 3 {
			t.Fatalf("LSO with nothing written in the transaction = %d, want 3", got)
		}
		res = commitOne(t, s, tp.ID, 0, txnBatch(pid, 0, 0, 2), plain(0, 10, 1, 1)) // 3-4 txn, 5 plain
		if res[0].Err != nil || res[0].BaseOffset != 3 {
			t.Fatalf("transactional batch: %+v", res[0])
		}
		if got := lso(t, s, tp.ID, 0); got != 3 {
			t.Fatalf("LSO = %d, want 3 (first offset of the open transaction)", got)
		}
		// A fenced epoch is refused.
		res = commitOne(t, s, tp.ID, 0, txnBatch(pid, 0, 2, 1))
		if res[0].Err != nil {
			t.Fatalf("next batch: %v", res[0].Err)
		}
		if err := s.StageTxnOffsets(ctx, "a", "g", []metadata.GroupOffset{{Topic: "in", Partition: 0, Offset: 7}}); err != nil {
			t.Fatal(err)
		}
		if pend, err := s.PendingTxnOffsets(ctx, "g"); err != nil || len(pend) != 1 {
			t.Fatalf("pending offsets = %v, %v", pend, err)
		}

		// An ABORT without the completion matching the stored state is
		// refused whole.
		c := metadata.TxnCompletion{TransactionalID: "a", ProducerID: pid, Epoch: 0, Commit: false, StartedAt: time.UnixMilli(1)}
		r := mustCommit(t, s, metadata.ObjectCommit{Key: newKey(), Size: 70, Completions: []metadata.TxnCompletion{c},
			Runs: []metadata.PartitionRun{{Topic: tp.ID, Partition: 0, Batches: []metadata.BatchAppend{marker(pid, 0, false)}}}})
		wantErr(t, r.Runs[0][0].Err, metadata.ErrInvalidTxnState)

		prepare(t, s, "a", metadata.TxnPrepareAbort)
		r = mustCommit(t, s, metadata.ObjectCommit{Key: newKey(), Size: 70, Completions: []metadata.TxnCompletion{c},
			Runs: []metadata.PartitionRun{{Topic: tp.ID, Partition: 0, Batches: []metadata.BatchAppend{marker(pid, 0, false)}}}})
		if r.Runs[0][0].Err != nil || r.Runs[0][0].BaseOffset != 7 {
			t.Fatalf("abort marker: %+v", r.Runs[0][0])
		}
		if got := lso(t, s, tp.ID, 0); got != 8 {
			t.Fatalf("LSO after abort = %d, want 8", got)
		}
		ab, err := s.AbortedTxns(ctx, tp.ID, 0, 0, 8)
		if err != nil || len(ab) != 1 || ab[0] != (metadata.AbortedTxn{ProducerID: pid, FirstOffset: 3, LastOffset: 7}) {
			t.Fatalf("aborted = %+v, %v", ab, err)
		}
		if ab, _ := s.AbortedTxns(ctx, tp.ID, 0, 8, 20); len(ab) != 0 {
			t.Fatalf("aborted past the marker = %+v", ab)
		}
		if pend, _ := s.PendingTxnOffsets(ctx, "g"); len(pend) != 0 {
			t.Fatalf("offsets staged by an aborted transaction remain: %v", pend)
		}
		if offs, _ := s.FetchOffsets(ctx, "g"); len(offs) != 0 {
			t.Fatalf("aborted transaction committed offsets %v", offs)
		}
		tx, err := s.Transaction(ctx, "a")
		if err != nil || tx.State != metadata.TxnCompleteAbort || len(tx.Partitions) != 0 {
			t.Fatalf("transaction after abort = %+v, %v", tx, err)
		}
		// The same completion again (a retry) is refused.
		r = mustCommit(t, s, metadata.ObjectCommit{Key: newKey(), Size: 70, Completions: []metadata.TxnCompletion{c},
			Runs: []metadata.PartitionRun{{Topic: tp.ID, Partition: 0, Batches: []metadata.BatchAppend{marker(pid, 0, false)}}}})
		wantErr(t, r.Runs[0][0].Err, metadata.ErrInvalidTxnState)

		// A committed transaction, with the epoch bumped at its end
		// (transaction version 2): its offsets become visible.
		openTxn(t, s, "a", pid, 0, p0)
		commitOne(t, s, tp.ID, 0, txnBatch(pid, 0, 3, 1))
		if err := s.StageTxnOffsets(ctx, "a", "g", []metadata.GroupOffset{{Topic: "in", Partition: 0, Offset: 9}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateTransaction(ctx, "a", func(tx *metadata.Transaction, found bool) error {
			tx.State, tx.Epoch = metadata.TxnPrepareCommit, 1
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// The old epoch is fenced once the transaction moved on.
		res = commitOne(t, s, tp.ID, 0, txnBatch(pid, 0, 4, 1))
		wantErr(t, res[0].Err, metadata.ErrInvalidProducerEpoch)
		// A late completion of another transaction at the same epoch
		// (one that started at another time) does not end this one.
		c = metadata.TxnCompletion{TransactionalID: "a", ProducerID: pid, Epoch: 1, Commit: true, StartedAt: time.UnixMilli(2)}
		r = mustCommit(t, s, metadata.ObjectCommit{Key: newKey(), Size: 70, Completions: []metadata.TxnCompletion{c},
			Runs: []metadata.PartitionRun{{Topic: tp.ID, Partition: 0, Batches: []metadata.BatchAppend{marker(pid, 1, true)}}}})
		wantErr(t, r.Runs[0][0].Err, metadata.ErrInvalidTxnState)
		c.StartedAt = time.UnixMilli(1)
		r = mustCommit(t, s, metadata.ObjectCommit{Key: newKey(), Size: 70, Completions: []metadata.TxnCompletion{c},
			Runs: []metadata.PartitionRun{{Topic: tp.ID, Partition: 0, Batches: []metadata.BatchAppend{marker(pid, 1, true)}}}})
		if r.Runs[0][0].Err != nil {
			t.Fatalf("commit marker: %v", r.Runs[0][0].Err)
		}
		offs, err := s.FetchOffsets(ctx, "g")
		if err != nil || len(offs) != 1 || offs[0].Offset != 9 {
			t.Fatalf("committed offsets = %+v, %v", offs, err)
		}
		if ab, _ := s.AbortedTxns(ctx, tp.ID, 0, 0, 100); len(ab) != 1 {
			t.Fatalf("a commit added to the aborted index: %+v", ab)
		}
		if got, next := lso(t, s, tp.ID, 0), nextOffset(t, s, tp.ID, 0); got != next {
			t.Fatalf("LSO %d != next offset %d with no open transaction", got, next)
		}
		// The marker fenced epoch 0 on the partition for idempotence too.
		res = commitOne(t, s, tp.ID, 0, idem(pid, 0, 5, 1))
		wantErr(t, res[0].Err, metadata.ErrInvalidProducerEpoch)

		prods, err := s.PartitionProducers(ctx, tp.ID, 0)
		if err != nil || len(prods) != 1 || prods[0].ProducerID != pid || prods[0].Epoch != 1 || prods[0].TxnStartOffset != -1 {
			t.Fatalf("producers = %+v, %v", prods, err)
		}
		list, err := s.ListTransactions(ctx, metadata.TxnOngoing)
		if err != nil || len(list) != 0 {
			t.Fatalf("ongoing = %+v, %v", list, err)
		}
	})
}

// TestUpdateTransactionAnswers checks that what UpdateTransaction's
// callback refuses with comes back as that refusal on every backend, not
// as ErrUnavailable: on PostgreSQL a coordinator's "producer fenced" was
// taken for a lost connection, and clients retried it forever.
func TestUpdateTransactionAnswers(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		refused := errors.New("refused by the coordinator")
		openTxn(t, e.s, "answers", 7, 0)
		_, err := e.s.UpdateTransaction(ctx, "answers", func(tx *metadata.Transaction, found bool) error {
			tx.Epoch = 5 // dropped with the refusal
			return refused
		})
		if !errors.Is(err, refused) || errors.Is(err, metadata.ErrUnavailable) {
			t.Fatalf("UpdateTransaction = %v, want the callback's error and not ErrUnavailable", err)
		}
		if got, err := e.s.Transaction(ctx, "answers"); err != nil || got.Epoch != 0 {
			t.Fatalf("after a refusal the transaction is %+v, %v; want epoch 0 kept", got, err)
		}
	})
}
