package metadata_test

import (
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// abortOne writes one aborted transaction of id on partition 0 of topic:
// records transactional records, then its ABORT marker, whose offset it
// returns.
func abortOne(t *testing.T, s metadata.Store, topic uuid.UUID, id string, pid int64, records int64) int64 {
	t.Helper()
	openTxn(t, s, id, pid, 0, metadata.TxnPartition{Topic: topic})
	commitOne(t, s, topic, 0, txnBatch(pid, 0, 0, records))
	prepare(t, s, id, metadata.TxnPrepareAbort)
	c := metadata.TxnCompletion{TransactionalID: id, ProducerID: pid, Commit: false, StartedAt: time.UnixMilli(1)}
	r := mustCommit(t, s, metadata.ObjectCommit{Size: 70, Completions: []metadata.TxnCompletion{c},
		Runs: []metadata.PartitionRun{{Topic: topic, Batches: []metadata.BatchAppend{marker(pid, 0, false)}}}})
	if err := r.Runs[0][0].Err; err != nil {
		t.Fatalf("abort marker: %v", err)
	}
	return r.Runs[0][0].BaseOffset
}

// The aborted index loses the entries retention left below the log start
// and those whose markers compaction removed, and no others.
func TestDropAbortedTxns(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		tp := mustTopic(t, s, "aborts", 2)
		var markers []int64
		for i, id := range []string{"a", "b", "c", "d"} {
			pid, err := s.AllocateProducerID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			markers = append(markers, abortOne(t, s, tp.ID, id, pid, int64(i+1)))
		}
		left := func() []int64 {
			t.Helper()
			ab, err := s.AbortedTxns(ctx, tp.ID, 0, 0, 1<<62)
			if err != nil {
				t.Fatal(err)
			}
			var offs []int64
			for _, a := range ab {
				offs = append(offs, a.LastOffset)
			}
			return offs
		}
		// Below the second marker: only the first goes; the second's
		// marker is at the log start, still readable.
		if n, err := s.DropAbortedTxnsBelow(ctx, tp.ID, 0, markers[1]); err != nil || n != 1 {
			t.Fatalf("dropped %d below %d: %v", n, markers[1], err)
		}
		if n, err := s.DropAbortedTxnsBelow(ctx, tp.ID, 1, 1<<62); err != nil || n != 0 {
			t.Fatalf("dropped %d of another partition: %v", n, err)
		}
		if got := left(); len(got) != 3 || got[0] != markers[1] {
			t.Fatalf("left %v after dropping below %d, markers %v", got, markers[1], markers)
		}
		// Markers by offset: an offset that is no marker changes nothing.
		if n, err := s.DropAbortedTxns(ctx, tp.ID, 0, []int64{markers[2], markers[2] + 1}); err != nil || n != 1 {
			t.Fatalf("dropped %d by marker: %v", n, err)
		}
		if got := left(); len(got) != 2 || got[0] != markers[1] || got[1] != markers[3] {
			t.Fatalf("left %v, want markers %d and %d", got, markers[1], markers[3])
		}
		if n, err := s.DropAbortedTxns(ctx, tp.ID, 0, nil); err != nil || n != 0 {
			t.Fatalf("dropped %d of no markers: %v", n, err)
		}
	})
}

// ForgetTransactions deletes an ended transactional id as it was read,
// and keeps one that changed since or is open.
func TestForgetTransactions(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		tp := mustTopic(t, s, "forget", 1)
		for i, id := range []string{"ended", "changed", "open"} {
			abortOne(t, s, tp.ID, id, int64(100+i), 1)
		}
		read, err := s.ListTransactions(ctx)
		if err != nil || len(read) != 3 {
			t.Fatalf("transactions %+v, %v", read, err)
		}
		e.clock.Add(time.Second)
		if _, err := s.UpdateTransaction(ctx, "changed", func(tx *metadata.Transaction, _ bool) error { tx.Epoch++; return nil }); err != nil {
			t.Fatal(err)
		}
		openTxn(t, s, "open", 102, 0, metadata.TxnPartition{Topic: tp.ID})
		for i := range read {
			if read[i].ID == "open" {
				// As read now: open, which is never forgotten.
				if read[i], err = s.Transaction(ctx, "open"); err != nil {
					t.Fatal(err)
				}
			}
		}
		if n, err := s.ForgetTransactions(ctx, read); err != nil || n != 1 {
			t.Fatalf("forgot %d, %v", n, err)
		}
		left, err := s.ListTransactions(ctx)
		if err != nil || len(left) != 2 || left[0].ID != "changed" || left[1].ID != "open" {
			t.Fatalf("left %+v, %v", left, err)
		}
	})
}
