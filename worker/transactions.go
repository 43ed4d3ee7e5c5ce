package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/worker/job"
)

// PlanTxnExpiry picks, without I/O, the transactional ids that expire at
// now: those with no transaction open whose last change is at least
// expiration old, as Kafka's transaction coordinator expires ids in
// Empty, CompleteCommit or CompleteAbort after
// transactional.id.expiration.ms.
func PlanTxnExpiry(txns []metadata.Transaction, now time.Time, expiration time.Duration) []metadata.Transaction {
	var out []metadata.Transaction
	for _, t := range txns {
		if !t.State.Open() && !t.UpdatedAt.After(now.Add(-expiration)) {
			out = append(out, t)
		}
	}
	return out
}

// expireTransactions forgets the transactional ids PlanTxnExpiry picks, so
// that the state of producers long gone does not pile up in the metadata
// store. An id used again between the read and the delete stays (see
// ForgetTransactions); the next pass looks at it again.
func expireTransactions(ctx context.Context, c job.Config, log *slog.Logger) {
	age := time.Duration(c.Broker.Int("transactional.id.expiration.ms")) * time.Millisecond
	txns, err := c.Store.ListTransactions(ctx, metadata.TxnEmpty, metadata.TxnCompleteCommit, metadata.TxnCompleteAbort)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("transactional id expiry pass", "err", err)
		}
		return
	}
	n, err := c.Store.ForgetTransactions(ctx, PlanTxnExpiry(txns, c.Now(), age))
	if err != nil && ctx.Err() == nil {
		log.Error("transactional id expiry pass", "err", err)
	}
	if n > 0 {
		log.Info("expired transactional ids", "ids", n, "idle_for", age)
	}
}
