package metadata

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Maintenance holds the store operations of the worker's jobs: retention,
// merge and key compaction, and object garbage collection.
//
// Objects become garbage only one way: no index row references them any
// more (rows are added to an existing object only while it is a live
// merged one, by the swaps of its other partitions). Every operation that
// removes rows marks the objects it left unreferenced, and MarkUnreferenced
// sweeps up the rest (DeleteTopic, concurrent removals on PostgreSQL).
type Maintenance interface {
	// TrimLog advances the partition's log start offset to start (never
	// back, and never past the next offset: a larger start is clamped)
	// and removes every index row that lies entirely below the resulting
	// log start offset; start <= 0 only removes rows below the current
	// one (DeleteRecords cleanup). Objects left unreferenced are marked
	// with deleteAfter. One transaction.
	TrimLog(ctx context.Context, topic uuid.UUID, partition int32, start int64, deleteAfter time.Time) (TrimResult, error)

	// PartitionSize sums the byte lengths of the partition's index rows
	// and counts them.
	PartitionSize(ctx context.Context, topic uuid.UUID, partition int32) (rows, bytes int64, err error)

	// ReplaceIndex swaps index rows of one partition for rewritten ones in
	// one transaction: Old must be exactly the rows the store holds in
	// [Old[0].BaseOffset, Old[len-1].LastOffset] (else ErrConflict and
	// nothing changes), New (possibly empty) must lie in that range, and
	// Objects, the rewritten objects they point into, are recorded as live.
	// A Merged object holds several partitions' runs and is named by each
	// of their replacements: the first records it, the others find it
	// (ErrConflict if it is no longer live).
	// Objects of Old left unreferenced are marked with deleteAfter.
	ReplaceIndex(ctx context.Context, r IndexReplacement, deleteAfter time.Time) error

	// ObjectsByKey returns the object rows of those keys that have one.
	ObjectsByKey(ctx context.Context, keys []string) (map[string]Object, error)
	// MarkUnreferenced marks every live object no index row references
	// with deleteAfter and returns how many it marked.
	MarkUnreferenced(ctx context.Context, deleteAfter time.Time) (int, error)
	// ExpiredObjects returns up to limit marked objects whose delete-after
	// time is at or before t, in key order.
	ExpiredObjects(ctx context.Context, t time.Time, limit int) ([]Object, error)

	// ClaimOrphans fences keys of objects orphan GC is about to delete:
	// each key without an object row gets an ObjectOrphan row, so that a
	// commit of it arriving later, however late, fails on the existing
	// key instead of pointing records at a deleted object. It returns the
	// keys that are fenced (now or before); a key that has a live or
	// marked row was committed after all and must not be deleted.
	ClaimOrphans(ctx context.Context, keys []string) ([]string, error)
	// DropOrphanFences deletes ObjectOrphan rows created maxAge or longer
	// ago by the store's clock, and returns how many.
	DropOrphanFences(ctx context.Context, maxAge time.Duration) (int, error)

	// ExpireProducers deletes the idempotent-producer state of every
	// (producer, partition) last written maxAge or longer ago by the
	// store's clock, as Kafka expires producer ids after
	// producer.id.expiration.ms, and returns how many rows it deleted.
	// A producer that writes again afterwards is new to the partition: it
	// may start at any sequence (see prodState.check), and a batch it
	// resends is no longer recognised as a duplicate.
	ExpireProducers(ctx context.Context, maxAge time.Duration) (int, error)

	// TxnMaintenance: the aborted index and transactional ids
	// (transactions_maintenance.go).
	TxnMaintenance
}

// TrimResult is what TrimLog did.
type TrimResult struct {
	State       PartitionState // after the trim
	RemovedRows int
	Marked      []string // object keys marked for deletion
}

// IndexReplacement is one ReplaceIndex swap.
type IndexReplacement struct {
	Topic     uuid.UUID
	Partition int32
	Old       []IndexEntry
	New       []IndexEntry
	// Objects are the new objects New points into.
	Objects []Object
}

// ErrConflict: the rows a maintenance job planned on changed underneath
// it (retention or another job got there first); replan.
var ErrConflict = errors.New("index changed concurrently")
