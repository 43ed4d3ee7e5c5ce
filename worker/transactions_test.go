package worker

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/metadatatest"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/worker/job"
)

func TestPlanTxnExpiry(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	const exp = time.Hour
	txn := func(id string, state metadata.TxnState, idle time.Duration) metadata.Transaction {
		return metadata.Transaction{ID: id, State: state, UpdatedAt: now.Add(-idle)}
	}
	for _, tc := range []struct {
		name string
		in   []metadata.Transaction
		want []string
	}{
		{"none", nil, nil},
		{"ended and idle for the expiration", []metadata.Transaction{
			txn("empty", metadata.TxnEmpty, exp), txn("commit", metadata.TxnCompleteCommit, exp), txn("abort", metadata.TxnCompleteAbort, 2*exp)},
			[]string{"empty", "commit", "abort"}},
		{"idle a millisecond short", []metadata.Transaction{txn("young", metadata.TxnCompleteCommit, exp-time.Millisecond)}, nil},
		{"open transactions never expire here", []metadata.Transaction{
			txn("ongoing", metadata.TxnOngoing, 10*exp), txn("prepare commit", metadata.TxnPrepareCommit, 10*exp), txn("prepare abort", metadata.TxnPrepareAbort, 10*exp)},
			nil},
		{"mixed", []metadata.Transaction{txn("old", metadata.TxnEmpty, 2*exp), txn("new", metadata.TxnEmpty, 0), txn("open", metadata.TxnOngoing, 2*exp)},
			[]string{"old"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, x := range PlanTxnExpiry(tc.in, now, exp) {
				got = append(got, x.ID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("expired %v, want %v", got, tc.want)
			}
		})
	}
}

// The worker forgets a transactional id transactional.id.expiration.ms
// (seven days unless set) after its last change, on its own clock, and
// never one with a transaction open.
func TestExpireTransactions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		broker map[string]string
		kept   time.Duration // idle this long, the id stays
	}{
		{"default", nil, 7 * 24 * time.Hour},
		{"set", map[string]string{"transactional.id.expiration.ms": "60000"}, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			storeNow := time.UnixMilli(1_700_000_000_000)
			store := metadatatest.OpenSQLite(t, metadata.Options{Now: func() time.Time { return storeNow }})
			broker, err := topicconfig.NewBroker(tc.broker)
			if err != nil {
				t.Fatal(err)
			}
			for id, state := range map[string]metadata.TxnState{"ended": metadata.TxnCompleteCommit, "open": metadata.TxnOngoing} {
				if _, err := store.UpdateTransaction(ctx, id, func(tx *metadata.Transaction, _ bool) error {
					tx.ProducerID, tx.State, tx.TimeoutMs = int64(len(id)), state, 60000
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			workerNow := storeNow
			c := job.Config{Store: store, Broker: broker, Now: func() time.Time { return workerNow }}
			log := slog.New(slog.DiscardHandler)
			for _, step := range []struct {
				advance   time.Duration
				endedKept bool
			}{{tc.kept - time.Millisecond, true}, {time.Millisecond, false}} {
				workerNow = workerNow.Add(step.advance)
				expireTransactions(ctx, c, log)
				_, err := store.Transaction(ctx, "ended")
				if kept := err == nil; kept != step.endedKept || (err != nil && !errors.Is(err, metadata.ErrNotFound)) {
					t.Fatalf("idle %v: ended id kept %v (%v), want %v", workerNow.Sub(storeNow), kept, err, step.endedKept)
				}
				if _, err := store.Transaction(ctx, "open"); err != nil {
					t.Fatalf("open transaction expired: %v", err)
				}
			}
		})
	}
}
