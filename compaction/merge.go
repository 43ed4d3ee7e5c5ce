package compaction

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
)

// MergeOptions tune merge compaction.
type MergeOptions struct {
	// SmallObject: objects below this size are merge candidates (4 MiB).
	SmallObject int64
	// MinAge: objects younger than this are left alone (1 minute), so that
	// tailing readers find fresh data where the gateway cached it.
	MinAge time.Duration
	// TargetBytes bounds a merged object (8 MiB, the default flush size).
	TargetBytes int64
	// MaxRows bounds a merged group's rows (1,000): a merge reads each
	// row (by range, or from its object read whole: sources.go), and
	// holds a group it may still grow beside the next page of the index,
	// so this bounds what a partition of any length costs in memory.
	MaxRows int
}

func (o MergeOptions) withDefaults() MergeOptions {
	if o.SmallObject <= 0 {
		o.SmallObject = 4 << 20
	}
	if o.MinAge == 0 {
		o.MinAge = time.Minute
	}
	if o.TargetBytes <= 0 {
		o.TargetBytes = 8 << 20
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 1000
	}
	return o
}

// MergeInput is a page of one partition's index rows and the objects they
// point to.
type MergeInput struct {
	Now  time.Time
	Rows []metadata.IndexEntry // in offset order
	// More: rows follow Rows, so a group still open at their end may grow.
	More    bool
	Objects map[string]metadata.Object
	Options MergeOptions
}

// MergePlan is what PlanMerge decided.
type MergePlan struct {
	Groups [][]metadata.IndexEntry
	// Rest are the last rows of Rows, when More, that may yet merge with
	// the rows after them: plan them again ahead of the next page.
	Rest []metadata.IndexEntry
}

// PlanMerge picks groups of a partition's rows to rewrite, each group into
// one new object with one index row. A group is consecutive rows with dense
// offsets (each starting right after the previous one ends, so the
// concatenated batches keep the reader's offset arithmetic), none absolute,
// all small and in live objects older than MinAge, at most TargetBytes and
// MaxRows in all, and of at least two rows. A row is small in a gateway's
// object smaller than SmallObject, or in a merged object when the row
// itself is: a merged object holds many partitions' runs (pack.go), and
// judged by its size none of them would merge again, so each pass would
// add a row to every partition. Rows of a gateway's large object stay
// where they are even when small, or every busy topic would be rewritten
// once more. Within a
// run, leading rows larger than the rest of the run together are left out,
// so merged rows only merge again with as much new data as they hold: every
// byte is rewritten a logarithmic number of times, not once per pass.
func PlanMerge(in MergeInput) MergePlan {
	opt := in.Options.withDefaults()
	candidate := func(r metadata.IndexEntry) bool {
		o, ok := in.Objects[r.ObjectKey]
		small := o.Size < opt.SmallObject || (o.Merged && r.ByteLength < opt.SmallObject)
		return ok && !r.Absolute && o.State == metadata.ObjectLive && small && !o.CreatedAt.After(in.Now.Add(-opt.MinAge))
	}
	var plan MergePlan
	// flush splits a run into chunks of at most TargetBytes and MaxRows;
	// the last chunk of a run at the end of a page waits for the next.
	flush := func(run []metadata.IndexEntry, atEnd bool) {
		for len(run) > 0 {
			n, size := 0, int64(0)
			for n < len(run) && n < opt.MaxRows && (n == 0 || size+run[n].ByteLength <= opt.TargetBytes) {
				size += run[n].ByteLength
				n++
			}
			if atEnd && in.More && n == len(run) && n < opt.MaxRows {
				plan.Rest = run
				return
			}
			chunk := run[:n]
			run = run[n:]
			for len(chunk) >= 2 && chunk[0].ByteLength > size-chunk[0].ByteLength {
				size -= chunk[0].ByteLength
				chunk = chunk[1:]
			}
			if len(chunk) >= 2 {
				plan.Groups = append(plan.Groups, chunk)
			}
		}
	}
	start := 0
	for i, r := range in.Rows {
		if !candidate(r) {
			flush(in.Rows[start:i], false)
			start = i + 1
			continue
		}
		if i > start && r.BaseOffset != in.Rows[i-1].LastOffset+1 {
			flush(in.Rows[start:i], false)
			start = i
		}
	}
	flush(in.Rows[start:], true)
	return plan
}

// MergeResult counts what merging did.
type MergeResult struct {
	Groups       int   // merged groups (runs in new objects)
	Objects      int   // new objects
	RowsMerged   int   // old rows replaced
	BytesWritten int64 // bytes of the groups' runs
}

// MergePartition merges one partition's small objects as PlanMerge
// decides, one object per group, reading its index a page at a time. A
// group whose rows changed meanwhile is skipped (its new object is left
// for orphan GC).
func (c *Compactor) MergePartition(ctx context.Context, t metadata.Topic, partition int32) (MergeResult, error) {
	pk := newPacker(c)
	err := c.mergePartition(ctx, t, partition, pk)
	res, werr := pk.flush(ctx)
	return res, errors.Join(err, werr)
}

// mergePartition plans a partition's merge and hands its groups, read,
// to pk.
func (c *Compactor) mergePartition(ctx context.Context, t metadata.Topic, partition int32, pk *packer) error {
	var (
		rest     []metadata.IndexEntry
		firstErr error
	)
	err := c.c.IndexPages(ctx, t.ID, partition, func(page []metadata.IndexEntry, more bool) bool {
		rows := slices.Concat(rest, page)
		if len(rows) < 2 && !more {
			return false
		}
		plan, err := c.planMerge(ctx, rows, more)
		if err != nil {
			firstErr = fmt.Errorf("merge %s/%d: %w", t.Name, partition, err)
			return false
		}
		rest = plan.Rest
		for _, rows := range plan.Groups {
			g, err := c.readGroup(ctx, t, partition, rows)
			if err != nil {
				firstErr = cmp.Or(firstErr, err)
				continue
			}
			pk.add(ctx, g)
		}
		return ctx.Err() == nil
	})
	if err != nil {
		return fmt.Errorf("merge %s/%d: %w", t.Name, partition, err)
	}
	return firstErr
}

// planMerge looks up the objects of rows, a page of a partition's index,
// and plans their merge.
func (c *Compactor) planMerge(ctx context.Context, rows []metadata.IndexEntry, more bool) (MergePlan, error) {
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.ObjectKey
	}
	objs, err := c.c.Store.ObjectsByKey(ctx, keys)
	if err != nil {
		return MergePlan{}, err
	}
	return PlanMerge(MergeInput{Now: c.c.Now(), Rows: rows, More: more, Objects: objs, Options: c.c.Merge}), nil
}

// groupError says which group failed doing what.
func groupError(t metadata.Topic, partition int32, rows []metadata.IndexEntry, err error) error {
	return fmt.Errorf("merge %s/%d offsets %d-%d: %w", t.Name, partition, rows[0].BaseOffset, rows[len(rows)-1].LastOffset, err)
}

// readGroup reads the batches of a group's rows.
func (c *Compactor) readGroup(ctx context.Context, t metadata.Topic, partition int32, rows []metadata.IndexEntry) (mergedGroup, error) {
	g := mergedGroup{topic: t, partition: partition, rows: rows, maxTS: rows[0].MaxTimestamp}
	for _, r := range rows {
		b, err := c.readRow(ctx, r)
		if err != nil {
			return g, groupError(t, partition, rows, err)
		}
		bs, err := segments.SplitBatches(b)
		if err != nil {
			return g, groupError(t, partition, rows, fmt.Errorf("object %s: %w", r.ObjectKey, err))
		}
		g.batches = append(g.batches, bs...)
		g.size += int64(len(b))
		g.maxTS = max(g.maxTS, r.MaxTimestamp)
	}
	return g, nil
}

// swapGroup swaps a group's rows for one row pointing at its run in obj.
func (c *Compactor) swapGroup(ctx context.Context, g mergedGroup, obj metadata.Object, run segments.PartSpan) error {
	first, last := g.rows[0], g.rows[len(g.rows)-1]
	if want := last.LastOffset - first.BaseOffset + 1; run.OffsetCount != want {
		return groupError(g.topic, g.partition, g.rows, fmt.Errorf("rows hold %d offsets, their batches %d", want, run.OffsetCount))
	}
	row := metadata.IndexEntry{Topic: g.topic.ID, Partition: g.partition, BaseOffset: first.BaseOffset, LastOffset: last.LastOffset,
		ObjectKey: obj.Key, ByteOffset: run.Off, ByteLength: run.Len, MaxTimestamp: g.maxTS}
	err := c.c.Store.ReplaceIndex(ctx, metadata.IndexReplacement{Topic: g.topic.ID, Partition: g.partition, Old: g.rows,
		New: []metadata.IndexEntry{row}, Objects: []metadata.Object{obj}}, c.c.Now().Add(c.c.Grace))
	if err != nil {
		return groupError(g.topic, g.partition, g.rows, err)
	}
	c.c.Log.Debug("merged rows", "topic", g.topic.Name, "partition", g.partition, "offset", first.BaseOffset, "rows", len(g.rows), "object", obj.Key, "bytes", run.Len)
	return nil
}
