package compaction

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments"
	"github.com/google/uuid"
)

// A merge pass packs the groups of many partitions into shared objects of
// up to TargetBytes, one run per partition per object, as gateways write
// theirs. Written one object per group, a pass over 10,000 partitions at a
// low rate made 10,000 objects of a few hundred bytes out of the fifty
// the gateways had written: more objects, PUTs and GETs than before the
// merge. Each partition's rows are still swapped by their own
// ReplaceIndex, which records the object on the first swap (Merged), so a
// partition that changed meanwhile only leaves its run unreferenced.
//
// An object is deleted once its last run has left, by a later merge or by
// retention, so the runs that moved on before take space until then, as
// the other partitions' runs of a gateway's object do after a merge.

// maxRuns bounds the partitions of one merged object, as a gateway's
// flush of a busy cluster does: each trim of a partition asks whether its
// object is still referenced, and on PostgreSQL that probe passes over
// the object's rows already removed, so its cost grows with the rows an
// object ever had. Dropping every row of 10,000 partitions took 4.5 s
// with all of them in one object, 3.2-3.5 s at 1,000 an object, as with
// one-run objects; merging them took 3.3-3.7 s and 5.0-5.3 s.
const maxRuns = 1000

// mergedGroup is a planned group with its batches read.
type mergedGroup struct {
	topic     metadata.Topic
	partition int32
	rows      []metadata.IndexEntry
	batches   [][]byte
	size      int64
	maxTS     int64
}

// packer gathers groups into the next object and writes it once full. It
// is shared by the partitions of a pass, which add to it in parallel.
type packer struct {
	c *Compactor

	mu     sync.Mutex
	groups []mergedGroup
	size   int64
	parts  map[partKey]bool // an object holds one run per partition
	res    MergeResult
	errs   []error
}

type partKey struct {
	topic     uuid.UUID
	partition int32
}

func newPacker(c *Compactor) *packer { return &packer{c: c, parts: map[partKey]bool{}} }

// add puts g in the next object. When g would take the object past
// TargetBytes or maxRuns, or its partition is already in it, the object is
// written first, by this caller.
func (p *packer) add(ctx context.Context, g mergedGroup) {
	k := partKey{g.topic.ID, g.partition}
	p.mu.Lock()
	var full []mergedGroup
	if p.parts[k] || len(p.groups) == maxRuns || (len(p.groups) > 0 && p.size+g.size > p.c.c.Merge.TargetBytes) {
		full = p.takeLocked()
	}
	p.groups = append(p.groups, g)
	p.size += g.size
	p.parts[k] = true
	p.mu.Unlock()
	if full != nil {
		p.write(ctx, full)
	}
}

// flush writes what the next object holds and returns what the packer
// did since the last flush.
func (p *packer) flush(ctx context.Context) (MergeResult, error) {
	p.mu.Lock()
	last := p.takeLocked()
	p.mu.Unlock()
	if len(last) > 0 {
		p.write(ctx, last)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	res, err := p.res, errors.Join(p.errs...)
	p.res, p.errs = MergeResult{}, nil
	return res, err
}

func (p *packer) takeLocked() []mergedGroup {
	gs := p.groups
	p.groups, p.size, p.parts = nil, 0, map[partKey]bool{}
	return gs
}

// write PUTs one object of gs and swaps each group's rows for its run. A
// group whose rows changed meanwhile is skipped, its run left
// unreferenced in the object.
func (p *packer) write(ctx context.Context, gs []mergedGroup) {
	parts := make([]segments.Part, len(gs))
	for i, g := range gs {
		parts[i] = segments.Part{Topic: g.topic.ID, Partition: g.partition, Batches: g.batches}
	}
	data, spans, err := segments.WriteObject(parts)
	var obj metadata.Object
	if err == nil {
		obj, err = p.c.put(ctx, data)
	}
	if err != nil {
		p.failed(fmt.Errorf("merge %d groups into one object: %w", len(gs), err))
		return
	}
	obj.Merged = true
	// The swaps are independent transactions (an object holds one run
	// per partition), so they run Parallel at a time: one after another,
	// an object of 10,000 quiet partitions took 7.8 s of round trips, 3.6
	// s four at a time. Racing swaps on PostgreSQL may each leave a
	// gateway object referenced only by the other's rows; retention's
	// MarkUnreferenced sweep marks those.
	var wg sync.WaitGroup
	slot := make(chan struct{}, max(p.c.c.Parallel, 1))
	for i, g := range gs {
		slot <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slot; wg.Done() }()
			p.swapped(g, spans[i].Len, p.c.swapGroup(ctx, g, obj, spans[i]))
		}()
	}
	wg.Wait()
	p.mu.Lock()
	p.res.Objects++
	p.mu.Unlock()
	p.c.c.Log.Debug("wrote merged object", "object", obj.Key, "groups", len(gs), "bytes", obj.Size)
}

// swapped counts a group's swap, which wrote n bytes of its run.
func (p *packer) swapped(g mergedGroup, n int64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case skippable(err):
		p.c.c.Log.Info("merge skipped: index changed", "topic", g.topic.Name, "partition", g.partition, "offset", g.rows[0].BaseOffset, "err", err)
	case err != nil:
		p.errs = append(p.errs, err)
	default:
		p.res.Groups++
		p.res.RowsMerged += len(g.rows)
		p.res.BytesWritten += n
	}
}

func (p *packer) failed(err error) {
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.mu.Unlock()
}
