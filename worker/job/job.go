// Package job is what the worker's jobs (retention, compaction) share: the
// stores and settings they run with, the walk over every partition of
// every topic and the paging through a partition's index. It imports
// neither the jobs nor the worker that runs them.
package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/objstore"
	"github.com/google/uuid"
)

// Config is what a job runs with; Store, Bucket and Broker are required.
type Config struct {
	Store  metadata.Store
	Bucket objstore.Bucket
	// Broker holds the broker-level settings topic configs fall back to.
	Broker *topicconfig.Broker
	// Grace is how long an object no index row references any more stays
	// readable before it is deleted (in-flight fetches may still read it),
	// and how long orphan GC must have seen an object without a metadata
	// row, on Now, before it deletes it.
	Grace time.Duration
	Now   func() time.Time
	Log   *slog.Logger
	// Parallel is how many partitions EachPartition works on at once (0:
	// one; caudal worker runs DefaultParallel).
	Parallel int
}

// DefaultParallel is caudal worker's --partitions-at-once. A partition's
// job waits on GETs, a PUT and a transaction in turn, so a pass over
// 10,000 partitions goes several times faster with a few at once; each
// holds at most one merged object (8 MiB) and its batches in memory.
const DefaultParallel = 4

// WithDefaults returns c with a zero Now and Log set to time.Now and a
// logger that discards.
func (c Config) WithDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// EachPartition calls fn for every partition of topics with its topic's
// policy, on up to Parallel partitions at once, and returns ctx's error as
// soon as ctx ends. A failing partition does not stop the others: fn's
// errors are joined, but for those saying the topic or partition was
// deleted meanwhile, which leave nothing to do.
func (c Config) EachPartition(ctx context.Context, topics []metadata.Topic, fn func(t metadata.Topic, partition int32, pol topicconfig.Policy) error) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		slot = make(chan struct{}, max(c.Parallel, 1))
	)
	defer wg.Wait()
	for _, t := range topics {
		pol := c.Broker.Policy(t.Configs)
		for p := range t.Partitions {
			select {
			case slot <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			wg.Add(1)
			go func() {
				defer func() { <-slot; wg.Done() }()
				if err := fn(t, p, pol); err != nil && !Gone(err) {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Gone reports whether err says the topic or partition was deleted
// meanwhile, which leaves a job nothing to do there.
func Gone(err error) bool {
	return errors.Is(err, metadata.ErrUnknownTopic) || errors.Is(err, metadata.ErrUnknownPartition)
}

// pageRows is how many index rows one read takes.
const pageRows = 1000

// IndexPages calls fn with a partition's index rows in offset order, a page
// at a time, until fn returns false or the rows run out; more says whether
// rows may follow the page.
func (c Config) IndexPages(ctx context.Context, topic uuid.UUID, partition int32, fn func(rows []metadata.IndexEntry, more bool) bool) error {
	from := int64(0)
	for {
		rows, err := c.Store.Index(ctx, topic, partition, from, pageRows)
		if err != nil {
			return fmt.Errorf("read index from %d: %w", from, err)
		}
		more := len(rows) == pageRows
		if !fn(rows, more) || !more {
			return nil
		}
		from = rows[len(rows)-1].LastOffset + 1
	}
}
