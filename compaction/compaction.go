// Package compaction is the worker's rewriting of segment objects: merging
// small objects into larger ones (one run per partition, pack.go), key compaction for
// cleanup.policy=compact, and garbage collection of orphan objects (written
// by a gateway or by this package but never committed). Each job is a pure
// planner and an executor that does the I/O. Rewrites follow one recipe,
// safe to stop at any point: PUT the new object, then one metadata
// transaction swaps the index rows if the old ones are still exactly there
// and marks the objects left unreferenced; a crash before the swap leaves
// an orphan that GC removes, and readers keep reading the old objects until
// their grace period ends.
package compaction

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/worker/job"
)

// Config is what the compaction jobs need: what every job of the worker
// needs, and compaction's own settings.
type Config struct {
	job.Config
	Merge MergeOptions
	// MaxDecompressed caps inflated records per batch (0: 64 MiB).
	MaxDecompressed int
}

// Compactor runs the compaction jobs; it is not safe for concurrent use.
type Compactor struct {
	c Config
	// orphansSeen: when orphan GC first saw each object without a row
	// (orphans.go).
	orphansSeen map[string]time.Time
	// rows reads index rows' bytes, sharing whole small objects across
	// the partitions of a pass (sources.go).
	rows *sources
}

// sourceCacheBytes bounds the whole objects a pass keeps for the rows
// it reads: 16 gateway objects of SmallObject's 4 MiB, beside the merged
// objects being built (job.DefaultParallel × 8 MiB).
const sourceCacheBytes = 64 << 20

// New returns a Compactor; zero fields get their defaults.
func New(c Config) *Compactor {
	c.Config = c.Config.WithDefaults()
	c.Merge = c.Merge.withDefaults()
	return &Compactor{c: c, rows: newSources(c.Bucket, c.Merge.SmallObject, sourceCacheBytes)}
}

// Run merges small objects and key-compacts compacted topics, partition by
// partition. A failing partition does not stop the others.
func (c *Compactor) Run(ctx context.Context) error {
	topics, err := c.c.Store.Topics(ctx)
	if err != nil {
		return fmt.Errorf("compaction: list topics: %w", err)
	}
	c.rows.reset()
	defer c.rows.reset() // the objects are not kept between passes
	pk := newPacker(c)
	err = c.c.EachPartition(ctx, topics, func(t metadata.Topic, p int32, pol topicconfig.Policy) error {
		var errs []error
		if pol.Compact {
			if _, err := c.CompactKeys(ctx, t, p, pol); err != nil && !skippable(err) {
				errs = append(errs, err)
			}
		}
		if err := c.mergePartition(ctx, t, p, pk); err != nil && !skippable(err) {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	res, werr := pk.flush(ctx)
	if res.Groups > 0 {
		c.c.Log.Info("merged small objects", "groups", res.Groups, "rows", res.RowsMerged, "objects", res.Objects, "bytes", res.BytesWritten)
	}
	return errors.Join(err, werr)
}

// skippable errors mean another change won the race; the next pass
// replans. Run drops them before joining its two jobs' errors, although
// EachPartition drops gone ones too: a gone error in the join would make
// EachPartition drop the other job's error with it.
func skippable(err error) bool {
	return job.Gone(err) || errors.Is(err, metadata.ErrConflict)
}

// partitionRows reads all index rows of a partition.
func (c *Compactor) partitionRows(ctx context.Context, t metadata.Topic, partition int32) ([]metadata.IndexEntry, error) {
	var all []metadata.IndexEntry
	err := c.c.IndexPages(ctx, t.ID, partition, func(rows []metadata.IndexEntry, _ bool) bool {
		all = append(all, rows...)
		return true
	})
	return all, err
}

// readRow reads one index row's stored bytes into memory the caller owns.
func (c *Compactor) readRow(ctx context.Context, r metadata.IndexEntry) ([]byte, error) {
	return c.rows.row(ctx, r)
}

// rowBatches returns a row's batches with their real offsets written in and
// listed, as a reader sees them.
func rowBatches(r metadata.IndexEntry, b []byte) ([]segments.BatchSpan, error) {
	if !r.Absolute {
		if _, err := segments.PatchOffsets(b, r.BaseOffset, 0); err != nil {
			return nil, err
		}
	}
	return segments.RowBatches(b, r.BaseOffset, r.Absolute)
}

// put writes a new object and returns its metadata row.
func (c *Compactor) put(ctx context.Context, data []byte) (metadata.Object, error) {
	key, err := segments.NewObjectKey()
	if err != nil {
		return metadata.Object{}, err
	}
	if err := c.c.Bucket.Put(ctx, key, data); err != nil {
		return metadata.Object{}, fmt.Errorf("put object %s: %w", key, err)
	}
	return metadata.Object{Key: key, Size: int64(len(data)), State: metadata.ObjectLive}, nil
}
