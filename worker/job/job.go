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
}

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
// policy, and returns ctx's error as soon as ctx ends. A failing partition
// does not stop the others: fn's errors are joined, but for those saying
// the topic or partition was deleted meanwhile, which leave nothing to do.
func (c Config) EachPartition(ctx context.Context, topics []metadata.Topic, fn func(t metadata.Topic, partition int32, pol topicconfig.Policy) error) error {
	var errs []error
	for _, t := range topics {
		pol := c.Broker.Policy(t.Configs)
		for p := range t.Partitions {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := fn(t, p, pol); err != nil && !Gone(err) {
				errs = append(errs, err)
			}
		}
	}
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
