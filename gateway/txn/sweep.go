package txn

import (
	"context"
	"time"

	"github.com/caudal/caudal/metadata"
)

// Start runs the sweep until Stop: every SweepInterval it completes the
// transactions this gateway coordinates that are left prepared (their
// coordinator died, or a marker write failed) and aborts those past their
// timeout, bumping the epoch so that their producer is fenced, as Kafka
// does.
func (co *Coordinator) Start() {
	go func() {
		defer close(co.done)
		t := time.NewTicker(co.c.SweepInterval)
		defer t.Stop()
		for {
			select {
			case <-co.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), co.c.SweepInterval*10)
				co.Sweep(ctx)
				cancel()
			}
		}
	}()
}

// Stop ends the sweep and waits for it.
func (co *Coordinator) Stop() {
	close(co.stop)
	<-co.done
}

// Sweep is one pass of the sweep.
func (co *Coordinator) Sweep(ctx context.Context) {
	open, err := co.c.Store.ListTransactions(ctx, metadata.TxnOngoing, metadata.TxnPrepareCommit, metadata.TxnPrepareAbort)
	if err != nil {
		co.c.Log.Warn("list open transactions", "err", err)
		return
	}
	now := co.c.Now()
	for _, t := range open {
		if co.owns(t.ID) != nil {
			continue
		}
		if t.State == metadata.TxnOngoing {
			if now.Sub(t.StartedAt) < time.Duration(t.TimeoutMs)*time.Millisecond {
				continue
			}
			co.abortTimedOut(ctx, t)
			continue
		}
		// A transaction prepared moments ago is being completed by the
		// EndTxn that prepared it; the sweep is for those left behind.
		if now.Sub(t.UpdatedAt) < 2*co.c.SweepInterval {
			continue
		}
		full, err := co.c.Store.Transaction(ctx, t.ID)
		if err == nil && full.State == t.State && full.UpdatedAt.Equal(t.UpdatedAt) {
			co.complete(ctx, full)
		}
	}
}

// abortTimedOut aborts an open transaction past its timeout, unless it
// changed since it was listed.
func (co *Coordinator) abortTimedOut(ctx context.Context, listed metadata.Transaction) {
	t, err := co.update(ctx, listed.ID, func(t *metadata.Transaction, found bool, src *ids) error {
		if !found || t.State != metadata.TxnOngoing || t.ProducerID != listed.ProducerID || t.Epoch != listed.Epoch {
			return errStop
		}
		t.State = metadata.TxnPrepareAbort
		return bumpEpoch(t, src)
	})
	if err != nil {
		co.c.Log.Warn("abort timed-out transaction", "transactional_id", listed.ID, "err", err)
		return
	}
	if t.State == metadata.TxnPrepareAbort {
		co.c.Log.Info("aborting timed-out transaction", "transactional_id", t.ID, "producer_id", t.ProducerID)
		co.complete(ctx, t)
	}
}
