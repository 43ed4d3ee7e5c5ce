// Package worker runs caudal's background jobs (retention, object deletion,
// merge and key compaction, orphan GC, idempotent producer and
// transactional id expiry) under a lease in the metadata store, so exactly
// one worker of a cluster is active while others stand by and take over
// when its lease expires.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/caudal/caudal/compaction"
	"github.com/caudal/caudal/retention"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/worker/job"
)

// LeaseName is the metadata-store lease the active worker holds.
const LeaseName = "worker"

// Config is the worker's. Of the jobs' Config, Store, Bucket and Broker
// are required, and Grace (default 5m) must be at least
// segments.MinDeleteGrace (see CheckGrace).
type Config struct {
	job.Config
	// RetentionInterval: how often retention, object deletion and orphan
	// GC run (5m). CompactionInterval: merge and key compaction (1m).
	RetentionInterval  time.Duration
	CompactionInterval time.Duration
	Merge              compaction.MergeOptions
	// LeaseTTL: a worker that stops renewing loses the lease after this
	// long (30s); it renews every third of it.
	LeaseTTL time.Duration
	// Holder names this worker in the lease (default host-pid-random).
	Holder string
}

func (c *Config) defaults() {
	c.Config = c.Config.WithDefaults()
	if c.RetentionInterval <= 0 {
		c.RetentionInterval = 5 * time.Minute
	}
	if c.CompactionInterval <= 0 {
		c.CompactionInterval = time.Minute
	}
	if c.Grace <= 0 {
		c.Grace = 5 * time.Minute
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	if c.Holder == "" {
		host, _ := os.Hostname()
		var r [4]byte
		rand.Read(r[:])
		c.Holder = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(r[:]))
	}
}

// CheckGrace refuses a grace period shorter than segments.MinDeleteGrace:
// orphan GC could then delete an object whose commit a gateway may still
// make, and the records it acknowledges would point at nothing.
func CheckGrace(grace time.Duration) error {
	if grace < segments.MinDeleteGrace {
		return fmt.Errorf("grace period %v is shorter than %v, the gateways' %v commit timeout plus a margin for commits in flight",
			grace, segments.MinDeleteGrace, segments.CommitTimeout)
	}
	return nil
}

// Run keeps trying to hold the lease until ctx ends, running the jobs while
// it does; it releases the lease on the way out.
func Run(ctx context.Context, c Config) error {
	if c.Store == nil || c.Bucket == nil || c.Broker == nil {
		return errors.New("worker: needs a metadata store, a bucket and broker settings")
	}
	c.defaults()
	if err := CheckGrace(c.Grace); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	log := c.Log.With("holder", c.Holder)
	var (
		cancelJobs context.CancelFunc
		jobsDone   chan struct{}
		renewedAt  time.Time
	)
	stopJobs := func() {
		if cancelJobs != nil {
			cancelJobs()
			<-jobsDone
			cancelJobs, jobsDone = nil, nil
		}
	}
	defer func() {
		stopJobs()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := c.Store.ReleaseLease(rctx, LeaseName, c.Holder); err != nil {
			log.Warn("release worker lease", "err", err)
		}
	}()
	tick := time.NewTicker(c.LeaseTTL / 3)
	defer tick.Stop()
	for {
		_, held, err := c.Store.AcquireLease(ctx, LeaseName, c.Holder, c.LeaseTTL)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			log.Warn("renew worker lease", "err", err)
			// Without a renewal the lease lapses after its TTL; stop
			// before another worker may take over.
			if cancelJobs != nil && time.Since(renewedAt) > c.LeaseTTL*2/3 {
				log.Warn("worker lease may have lapsed: stopping jobs")
				stopJobs()
			}
		case held:
			renewedAt = time.Now()
			if cancelJobs == nil {
				log.Info("worker lease acquired: running jobs")
				cancelJobs, jobsDone = startJobs(ctx, c, log)
			}
		default:
			if cancelJobs != nil {
				log.Warn("worker lease lost: standing by")
				stopJobs()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// startJobs runs runJobs in a goroutine until cancel is called; done is
// closed when it has returned.
func startJobs(ctx context.Context, c Config, log *slog.Logger) (cancel context.CancelFunc, done chan struct{}) {
	jctx, cancel := context.WithCancel(ctx)
	done = make(chan struct{})
	go func() { defer close(done); runJobs(jctx, c, log) }()
	return cancel, done
}

// runJobs runs the jobs one at a time until ctx ends: retention, object
// deletion, orphan GC, producer and transactional id expiry every
// RetentionInterval,
// compaction every CompactionInterval, each once at the start.
func runJobs(ctx context.Context, c Config, log *slog.Logger) {
	jc := c.Config
	jc.Log = log
	ret := retention.New(jc)
	comp := compaction.New(compaction.Config{Config: jc, Merge: c.Merge})
	nextRet, nextComp := time.Now(), time.Now()
	for {
		now := time.Now()
		if !now.Before(nextRet) {
			// Dynamic broker configs (retention defaults, producer expiry)
			// apply from the next pass.
			if err := c.Broker.LoadDynamic(ctx, c.Store, ""); err != nil {
				log.Warn("load dynamic broker configs", "err", err)
			}
			RetentionPass(ctx, ret, comp, log)
			expireProducers(ctx, c.Store, c.Broker, log)
			expireTransactions(ctx, jc, log)
			nextRet = time.Now().Add(c.RetentionInterval)
		}
		if !now.Before(nextComp) && ctx.Err() == nil {
			CompactionPass(ctx, comp, log)
			nextComp = time.Now().Add(c.CompactionInterval)
		}
		wait := time.Until(nextRet)
		if nextComp.Before(nextRet) {
			wait = time.Until(nextComp)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
	}
}

// RetentionPass runs retention (with object deletion) and orphan GC once.
func RetentionPass(ctx context.Context, ret *retention.Retainer, comp *compaction.Compactor, log *slog.Logger) {
	if err := ret.Run(ctx); err != nil && ctx.Err() == nil {
		log.Error("retention pass", "err", err)
	}
	if _, err := comp.CollectOrphans(ctx); err != nil && ctx.Err() == nil {
		log.Error("orphan gc pass", "err", err)
	}
}

// CompactionPass runs merge and key compaction once.
func CompactionPass(ctx context.Context, comp *compaction.Compactor, log *slog.Logger) {
	if err := comp.Run(ctx); err != nil && ctx.Err() == nil {
		log.Error("compaction pass", "err", err)
	}
}
