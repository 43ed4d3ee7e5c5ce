// Package txn is the transaction coordinator. Its state is not in memory:
// every transactional id's producer id, epoch, state, partitions, groups
// and timeout live in the metadata store (metadata.Transactions) and each
// request reads and changes them in one store transaction, so that when a
// coordinator's gateway dies the next one (rendezvous placement, like
// group coordinators) simply goes on: its sweep finishes what was being
// committed or aborted and aborts what timed out.
//
// Ending a transaction is two steps, as in Kafka: the state moves to
// PrepareCommit or PrepareAbort, then COMMIT or ABORT markers go to every
// partition through the gateway's normal flush path, and the metadata
// commit of the object holding them also completes the transaction
// (applies its staged offsets, releases its partitions). A crash between
// the two leaves a Prepare state that the sweep completes; a commit that
// was prepared is never lost.
//
// The protocol is Kafka's, so errors are kerr values.
package txn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/caudal/caudal/gateway/writer"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Config is what a Coordinator needs.
type Config struct {
	Store  metadata.Store
	Writer *writer.Writer
	// Coordinates reports whether this gateway coordinates a
	// transactional id.
	Coordinates func(id string) bool
	// MaxTimeout is transaction.max.timeout.ms.
	MaxTimeout time.Duration
	// SweepInterval is how often open transactions are checked for
	// timeouts and unfinished completions (default 1 s).
	SweepInterval time.Duration
	Now           func() time.Time
	Log           *slog.Logger
}

// Coordinator serves the transaction APIs for the transactional ids this
// gateway coordinates.
type Coordinator struct {
	c    Config
	stop chan struct{}
	done chan struct{}
}

// New returns a Coordinator; Start runs its sweep.
func New(c Config) *Coordinator {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = time.Second
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = 15 * time.Minute
	}
	return &Coordinator{c: c, stop: make(chan struct{}), done: make(chan struct{})}
}

// owns is NOT_COORDINATOR when another gateway coordinates the id.
func (co *Coordinator) owns(id string) error {
	if co.c.Coordinates != nil && !co.c.Coordinates(id) {
		return kerr.NotCoordinator
	}
	return nil
}

// errStop ends an UpdateTransaction without storing anything, when the
// request needs no change.
var errStop = errors.New("no change")

// errNeedID asks update for a new producer id: one cannot be allocated
// inside the store transaction (SQLite has a single writer connection).
var errNeedID = errors.New("a new producer id is needed")

// ids hands a change the producer id allocated for it.
type ids struct{ spare int64 }

// take returns the spare producer id, or errNeedID when there is none yet.
func (s *ids) take() (int64, error) {
	if s.spare < 0 {
		return 0, errNeedID
	}
	id := s.spare
	s.spare = -1
	return id, nil
}

// update runs fn on the transaction's stored state; fn returning errStop
// leaves it as it was and is not an error. When fn needs a new producer
// id, one is allocated and fn runs again.
func (co *Coordinator) update(ctx context.Context, id string, fn func(t *metadata.Transaction, found bool, ids *ids) error) (metadata.Transaction, error) {
	src := &ids{spare: -1}
	for {
		var seen metadata.Transaction
		t, err := co.c.Store.UpdateTransaction(ctx, id, func(t *metadata.Transaction, found bool) error {
			err := fn(t, found, src)
			seen = *t
			return err
		})
		switch {
		case errors.Is(err, errStop):
			return seen, nil
		case errors.Is(err, errNeedID):
			if src.spare, err = co.c.Store.AllocateProducerID(ctx); err != nil {
				return t, err
			}
			continue
		}
		return t, err
	}
}

// checkProducer is Kafka's check of a request's producer id and epoch
// against the transaction's.
func checkProducer(t *metadata.Transaction, found bool, pid int64, epoch int16) error {
	switch {
	case !found || t.ProducerID != pid:
		return kerr.InvalidProducerIDMapping
	case epoch < t.Epoch:
		return kerr.ProducerFenced
	case epoch > t.Epoch:
		return kerr.InvalidProducerEpoch
	}
	return nil
}

// begin opens a transaction if none is: the first partition or group
// added starts its timeout.
func (co *Coordinator) begin(t *metadata.Transaction) error {
	switch t.State {
	case metadata.TxnPrepareCommit, metadata.TxnPrepareAbort:
		return kerr.ConcurrentTransactions
	case metadata.TxnOngoing:
		return nil
	}
	t.State, t.StartedAt = metadata.TxnOngoing, co.c.Now()
	t.Partitions, t.Groups = nil, nil
	return nil
}

// bumpEpoch raises the producer epoch, or moves to a new producer id when
// the epoch would run out, as Kafka does.
func bumpEpoch(t *metadata.Transaction, src *ids) error {
	if t.Epoch < math.MaxInt16-1 {
		t.Epoch++
		return nil
	}
	id, err := src.take()
	if err != nil {
		return err
	}
	t.ProducerID, t.Epoch = id, 0
	return nil
}

// complete writes the markers of a transaction in a Prepare state, which
// completes it. A completion that finds the transaction already completed
// (by another gateway's sweep, or an earlier attempt whose answer was
// lost) is not an error.
func (co *Coordinator) complete(ctx context.Context, t metadata.Transaction) error {
	// The producer may go away meanwhile; what was prepared is finished
	// regardless, within the flush path's own bound.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), segments.CommitTimeout)
	defer cancel()
	commit := t.State == metadata.TxnPrepareCommit
	c := metadata.TxnCompletion{TransactionalID: t.ID, ProducerID: t.ProducerID, Epoch: t.Epoch, Commit: commit, StartedAt: t.StartedAt}
	var err error
	if len(t.Partitions) == 0 {
		err = co.c.Store.CompleteTransaction(ctx, c)
	} else {
		err = co.writeMarkers(ctx, t, c)
	}
	if errors.Is(err, metadata.ErrInvalidTxnState) {
		now, lerr := co.c.Store.Transaction(ctx, t.ID)
		if lerr == nil && (now.ProducerID != t.ProducerID || now.Epoch != t.Epoch || now.State != t.State || !now.StartedAt.Equal(t.StartedAt)) {
			return nil
		}
	}
	if err != nil {
		co.c.Log.Warn("transaction markers not written; will retry", "transactional_id", t.ID, "err", err)
	}
	return err
}

func (co *Coordinator) writeMarkers(ctx context.Context, t metadata.Transaction, c metadata.TxnCompletion) error {
	ts := co.c.Now().UnixMilli()
	batch := segments.ControlBatch(t.ProducerID, t.Epoch, c.Commit, ts)
	items := make([]writer.Item, len(t.Partitions))
	for i, p := range t.Partitions {
		items[i] = writer.Item{Topic: p.Topic, Partition: p.Partition, Batch: batch, Meta: metadata.BatchAppend{
			Records: 1, MaxTimestamp: ts, ProducerID: t.ProducerID, ProducerEpoch: t.Epoch, BaseSequence: -1,
			Control: true, Commit: c.Commit,
		}}
	}
	ack, err := co.c.Writer.AppendMarkers(items, c)
	if err != nil {
		return err
	}
	select {
	case <-ack.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	results, err := ack.Results()
	if err != nil {
		return err
	}
	for i, r := range results {
		// A partition deleted since it joined gets no marker; the
		// completion still releases it.
		if r.Err != nil && !errors.Is(r.Err, metadata.ErrUnknownPartition) {
			p := t.Partitions[i]
			return fmt.Errorf("write marker to %s/%d for producer %d epoch %d: %w", p.Topic, p.Partition, t.ProducerID, t.Epoch, r.Err)
		}
	}
	return nil
}
