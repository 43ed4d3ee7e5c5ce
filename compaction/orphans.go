package compaction

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/segments"
)

// PlanOrphans picks, without I/O, the listed bucket objects to delete: those
// with no object row (known says which have one) and older than grace, so
// that a gateway or compaction between its PUT and its commit is never
// robbed of its object.
func PlanOrphans(listed []objstore.Attrs, known map[string]bool, now time.Time, grace time.Duration) []string {
	var out []string
	for _, a := range listed {
		if !known[a.Key] && a.LastModified.Before(now.Add(-grace)) {
			out = append(out, a.Key)
		}
	}
	return out
}

// orphanChunk is how many listed objects are looked up at once.
const orphanChunk = 500

// CollectOrphans deletes segment objects that are in the bucket but have no
// object row (a gateway died between PUT and commit, or a rewrite lost its
// race) once they are older than the grace period. It returns how many it
// deleted.
func (c *Compactor) CollectOrphans(ctx context.Context) (int, error) {
	now := c.c.Now()
	var listed []objstore.Attrs
	err := c.c.Bucket.List(ctx, segments.KeyPrefix, func(a objstore.Attrs) error {
		if a.LastModified.Before(now.Add(-c.c.Grace)) {
			listed = append(listed, a)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("collect orphans: %w", err)
	}
	deleted := 0
	var errs []error
	for lo := 0; lo < len(listed); lo += orphanChunk {
		chunk := listed[lo:min(lo+orphanChunk, len(listed))]
		keys := make([]string, len(chunk))
		for i, a := range chunk {
			keys[i] = a.Key
		}
		rows, err := c.c.Store.ObjectsByKey(ctx, keys)
		if err != nil {
			return deleted, fmt.Errorf("collect orphans: %w", err)
		}
		known := make(map[string]bool, len(rows))
		for k := range rows {
			known[k] = true
		}
		for _, k := range PlanOrphans(chunk, known, now, c.c.Grace) {
			if err := c.c.Bucket.Delete(ctx, k); err != nil {
				errs = append(errs, fmt.Errorf("delete orphan object %s: %w", k, err))
				continue
			}
			deleted++
			c.c.Log.Info("deleted orphan object", "object", k)
		}
	}
	return deleted, errors.Join(errs...)
}
