package compaction

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/segments"
)

// Orphan GC decides on the worker's own clock alone. An object without an
// object row may be a gateway's between its PUT and its commit, and a
// gateway commits only within segments.CommitTimeout of starting the PUT,
// on its own clock. Comparing the bucket's LastModified with the worker's
// clock would make deletion depend on two hosts' clocks agreeing: a worker
// an hour ahead would delete objects PUT a second ago. Instead the worker
// remembers when it first listed each object without a row, reading its
// clock after the listing, so the object's PUT had started before that
// reading; it deletes the object only when a later pass, reading its clock
// after its own listing and before the lookup, still finds no row and at
// least the grace period has passed between the two readings. With
// time.Now (Go's monotonic reading) that is elapsed time on this process's
// clock, whatever the wall clocks of the worker, the gateways and the
// bucket say or do, so the PUT started more than the grace period before
// the lookup; the worker refuses a grace shorter than
// segments.MinDeleteGrace, which leaves the margin explained there.
//
// The memory is this Compactor's: a restarted worker, or one that takes
// the lease over, starts again from first sight, which only delays
// deletion.
//
// That leaves a gateway that stalls longer than the margin between its
// deadline check and its commit. So before deleting, the worker fences the
// keys in the metadata store (ClaimOrphans): a commit that arrives later
// fails on the existing key, and its producers retry; a key that got
// committed meanwhile is left alone. Fences are dropped after
// orphanFenceAge, far beyond any commit's deadline.

// orphanFenceAge is how long a fenced key stays unusable.
const orphanFenceAge = 7 * 24 * time.Hour

// OrphanInput is what PlanOrphans decides on.
type OrphanInput struct {
	// Now is read after the listing and before the lookup of Rows.
	Now time.Time
	// Listed are keys listed under segments.KeyPrefix; Rows holds the
	// object rows of those that have one.
	Listed []string
	Rows   map[string]metadata.Object
	// FirstSeen says when earlier passes first saw a key without a row.
	FirstSeen map[string]time.Time
	Grace     time.Duration
}

// OrphanPlan is what PlanOrphans decided.
type OrphanPlan struct {
	Delete []string
	// FirstSeen holds every listed key without a row with when it was
	// first seen so, for the next pass.
	FirstSeen map[string]time.Time
}

// PlanOrphans picks, without I/O, the listed objects to delete: those with
// no object row that were first seen so at least the grace period ago, and
// those already fenced (a deletion that failed after its fence).
func PlanOrphans(in OrphanInput) OrphanPlan {
	p := OrphanPlan{FirstSeen: map[string]time.Time{}}
	for _, k := range in.Listed {
		if row, ok := in.Rows[k]; ok {
			if row.State == metadata.ObjectOrphan {
				p.Delete = append(p.Delete, k)
			}
			continue
		}
		first, ok := in.FirstSeen[k]
		if !ok {
			first = in.Now
		}
		p.FirstSeen[k] = first
		if in.Now.Sub(first) >= in.Grace {
			p.Delete = append(p.Delete, k)
		}
	}
	return p
}

// orphanChunk is how many listed objects are looked up at once.
const orphanChunk = 500

// CollectOrphans deletes segment objects that are in the bucket but have no
// object row (a gateway died between PUT and commit or gave up a late
// commit, or a rewrite lost its race) once it has seen them so for the
// grace period. It returns how many it deleted.
func (c *Compactor) CollectOrphans(ctx context.Context) (int, error) {
	var listed []string
	err := c.c.Bucket.List(ctx, segments.KeyPrefix, func(a objstore.Attrs) error {
		listed = append(listed, a.Key)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("collect orphans: %w", err)
	}
	now := c.c.Now()
	if _, err := c.c.Store.DropOrphanFences(ctx, orphanFenceAge); err != nil {
		return 0, fmt.Errorf("collect orphans: %w", err)
	}
	seen := map[string]time.Time{}
	deleted := 0
	var errs []error
	for lo := 0; lo < len(listed); lo += orphanChunk {
		chunk := listed[lo:min(lo+orphanChunk, len(listed))]
		rows, err := c.c.Store.ObjectsByKey(ctx, chunk)
		if err != nil {
			// The sightings of earlier passes stay; this pass's are lost,
			// which only delays deletion.
			return deleted, fmt.Errorf("collect orphans: %w", err)
		}
		plan := PlanOrphans(OrphanInput{Now: now, Listed: chunk, Rows: rows, FirstSeen: c.orphansSeen, Grace: c.c.Grace})
		maps.Copy(seen, plan.FirstSeen)
		fenced, err := c.c.Store.ClaimOrphans(ctx, plan.Delete)
		if err != nil {
			return deleted, fmt.Errorf("collect orphans: %w", err)
		}
		for _, k := range fenced {
			if err := c.c.Bucket.Delete(ctx, k); err != nil {
				errs = append(errs, fmt.Errorf("delete orphan object %s: %w", k, err))
				continue
			}
			deleted++
			c.c.Log.Info("deleted orphan object", "object", k)
		}
	}
	c.orphansSeen = seen
	return deleted, errors.Join(errs...)
}
