// Package retention is the worker's log cleanup: time and size retention
// (retention.ms, retention.bytes), removal of index rows below the log start
// offset (DeleteRecords), and deletion of objects no index row references,
// after a grace period so that in-flight fetches finish. Each job is a pure
// planner and an executor that does the I/O; all are idempotent and safe to
// stop at any point.
package retention

import (
	"context"
	"errors"
	"fmt"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/worker/job"
)

// Retainer runs retention. It is not safe for concurrent use; the worker
// runs one at a time.
type Retainer struct{ c job.Config }

// New returns a Retainer; zero Now and Log default to time.Now and a
// logger that discards.
func New(c job.Config) *Retainer { return &Retainer{c: c.WithDefaults()} }

// Run applies retention and DeleteRecords cleanup to every partition of
// every topic, then deletes objects whose grace period has passed. A
// failing partition does not stop the others; their errors are joined.
func (r *Retainer) Run(ctx context.Context) error {
	topics, err := r.c.Store.Topics(ctx)
	if err != nil {
		return fmt.Errorf("retention: list topics: %w", err)
	}
	err = r.c.EachPartition(ctx, topics, func(t metadata.Topic, p int32, pol topicconfig.Policy) error {
		_, err := r.Partition(ctx, t, p, pol)
		return err
	})
	if err != nil && err == ctx.Err() {
		return err // stopped: the objects wait for the next pass
	}
	return errors.Join(err, r.DeleteObjects(ctx))
}

// Partition applies pol to one partition: it plans the log start offset
// time and size retention ask for, then trims the index below it (which
// also removes rows below a start DeleteRecords set) and the aborted
// transaction index below it, as Kafka deletes a segment's transaction
// index with the segment. A partition with nothing to trim costs no
// transaction, so a pass over many idle partitions stays cheap.
func (r *Retainer) Partition(ctx context.Context, t metadata.Topic, partition int32, pol topicconfig.Policy) (metadata.TrimResult, error) {
	st, err := r.c.Store.Partition(ctx, t.ID, partition)
	if err != nil {
		return metadata.TrimResult{}, fmt.Errorf("retention of %s/%d: read partition: %w", t.Name, partition, err)
	}
	start, why, oldest, err := r.plan(ctx, t, partition, pol, st)
	if err != nil {
		return metadata.TrimResult{}, fmt.Errorf("retention of %s/%d: %w", t.Name, partition, err)
	}
	res := metadata.TrimResult{State: st}
	if start >= 0 || (oldest >= 0 && oldest < st.LogStartOffset) {
		res, err = r.c.Store.TrimLog(ctx, t.ID, partition, start, r.c.Now().Add(r.c.Grace))
		if err != nil {
			return res, fmt.Errorf("retention of %s/%d: trim log to %d: %w", t.Name, partition, start, err)
		}
	}
	if res.RemovedRows > 0 || res.State.LogStartOffset != st.LogStartOffset {
		r.c.Log.Info("retention trimmed partition", "topic", t.Name, "partition", partition, "offset", res.State.LogStartOffset,
			"rows", res.RemovedRows, "marked", len(res.Marked), "reason", why)
	}
	// After the trim, not within it: a crash in between leaves entries
	// that cover nothing fetchable, and the next pass drops them.
	if res.State.LogStartOffset > 0 {
		if _, err := r.c.Store.DropAbortedTxnsBelow(ctx, t.ID, partition, res.State.LogStartOffset); err != nil {
			return res, fmt.Errorf("retention of %s/%d: %w", t.Name, partition, err)
		}
	}
	return res, nil
}

// plan returns the log start offset time and size retention ask for (-1:
// none) and which limit asked, reading the partition's index a page at a
// time from its oldest row, and that row's last offset (-1: no rows), which
// tells whether rows lie below the log start.
func (r *Retainer) plan(ctx context.Context, t metadata.Topic, partition int32, pol topicconfig.Policy, st metadata.PartitionState) (start int64, why string, oldest int64, err error) {
	start, oldest = -1, -1
	if !pol.Delete {
		rows, err := r.c.Store.Index(ctx, t.ID, partition, 0, 1)
		if len(rows) > 0 {
			oldest = rows[0].LastOffset
		}
		return start, "", oldest, err
	}
	in := Input{NowMs: r.c.Now().UnixMilli(), Policy: pol, NextOffset: st.NextOffset}
	if pol.RetentionBytes >= 0 {
		// Only size retention needs the total, a sum over every row.
		if _, in.Bytes, err = r.c.Store.PartitionSize(ctx, t.ID, partition); err != nil {
			return start, "", oldest, err
		}
	}
	err = r.c.IndexPages(ctx, t.ID, partition, func(rows []metadata.IndexEntry, more bool) bool {
		if oldest < 0 && len(rows) > 0 {
			oldest = rows[0].LastOffset
		}
		in.Rows, in.More = toRows(rows), more
		plan := PlanRetention(in)
		if plan.Start >= 0 {
			start, why = plan.Start, plan.Reason
		}
		in.Bytes = plan.Bytes
		return plan.Next
	})
	return start, why, oldest, err
}

func toRows(es []metadata.IndexEntry) []Row {
	rows := make([]Row, len(es))
	for i, e := range es {
		rows[i] = Row{BaseOffset: e.BaseOffset, LastOffset: e.LastOffset, Bytes: e.ByteLength, MaxTimestamp: e.MaxTimestamp}
	}
	return rows
}

// deleteBatch is how many expired objects DeleteObjects handles per step.
const deleteBatch = 500

// DeleteObjects marks objects no index row references (deleted topics, rows
// removed concurrently) and deletes from the bucket, then forgets, the
// marked objects whose grace period has passed. An object is deleted from
// the bucket before its row goes, so a crash in between only repeats the
// (idempotent) delete.
func (r *Retainer) DeleteObjects(ctx context.Context) error {
	now := r.c.Now()
	if n, err := r.c.Store.MarkUnreferenced(ctx, now.Add(r.c.Grace)); err != nil {
		return fmt.Errorf("delete objects: %w", err)
	} else if n > 0 {
		r.c.Log.Info("marked unreferenced objects for deletion", "objects", n, "delete_after", now.Add(r.c.Grace))
	}
	for {
		objs, err := r.c.Store.ExpiredObjects(ctx, now, deleteBatch)
		if err != nil {
			return fmt.Errorf("delete objects: %w", err)
		}
		var done []string
		var errs []error
		for _, o := range objs {
			if err := r.c.Bucket.Delete(ctx, o.Key); err != nil {
				errs = append(errs, fmt.Errorf("delete object %s: %w", o.Key, err))
				continue
			}
			done = append(done, o.Key)
		}
		if len(done) > 0 {
			if err := r.c.Store.ForgetObjects(ctx, done); err != nil {
				return fmt.Errorf("delete objects: %w", err)
			}
			r.c.Log.Info("deleted objects", "objects", len(done))
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if len(objs) < deleteBatch {
			return nil
		}
	}
}
