package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/objstore"
	"github.com/caudal/caudal/segments"
	"github.com/caudal/caudal/worker"
	"github.com/caudal/caudal/worker/job"
)

// workerFlags are `caudal worker`'s flags.
type workerFlags struct {
	bucketURL          string
	metadataURL        string
	retentionInterval  time.Duration
	compactionInterval time.Duration
	deleteGrace        time.Duration
	partitionsAtOnce   int
	brokerConfigs      keyValues
	logLevel           string
}

func (f *workerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.bucketURL, "bucket-url", "", "object store: s3://BUCKET/PREFIX?endpoint=…&region=… or file:///DIR")
	fs.StringVar(&f.metadataURL, "metadata-url", "", "metadata store: postgres://… or sqlite:///PATH")
	f.registerJobs(fs)
	fs.Var(&f.brokerConfigs, "broker-config", "broker setting `key=value` with Kafka's name (e.g. log.retention.hours=72); repeatable")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
}

// registerJobs registers the flags `caudal dev` shares with `caudal worker`.
func (f *workerFlags) registerJobs(fs *flag.FlagSet) {
	fs.DurationVar(&f.retentionInterval, "retention-check-interval", 5*time.Minute, "how often retention, object deletion and orphan GC run")
	fs.DurationVar(&f.compactionInterval, "compaction-interval", time.Minute, "how often merge and key compaction run")
	fs.IntVar(&f.partitionsAtOnce, "partitions-at-once", job.DefaultParallel, "how many partitions retention and compaction work on at once")
	fs.DurationVar(&f.deleteGrace, "delete-grace", 5*time.Minute, fmt.Sprintf("how long unreferenced objects stay readable before deletion; at least %v, the gateways' commit timeout plus a margin", segments.MinDeleteGrace))
}

func runWorker(args []string) error {
	fs := flag.NewFlagSet("caudal worker", flag.ContinueOnError)
	var f workerFlags
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.bucketURL == "" || f.metadataURL == "" {
		return errors.New("caudal worker needs --bucket-url and --metadata-url")
	}
	sf := serverFlags{logLevel: f.logLevel}
	log, err := sf.logger()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	bucket, err := objstore.Open(ctx, f.bucketURL)
	if err != nil {
		return fmt.Errorf("open bucket: %w", err)
	}
	defer bucket.Close()
	store, err := metadata.Open(ctx, f.metadataURL, metadata.Options{})
	if err != nil {
		return fmt.Errorf("open metadata store: %w", err)
	}
	defer store.Close()
	cfg, err := f.config(store, bucket, f.brokerConfigs, log)
	if err != nil {
		return err
	}
	log.Info("caudal worker is starting", "bucket", f.bucketURL)
	return worker.Run(ctx, cfg)
}

// config builds the worker's configuration; broker holds the
// --broker-config settings (the gateway's, in caudal dev).
func (f *workerFlags) config(store metadata.Store, bucket objstore.Bucket, broker map[string]string, log *slog.Logger) (worker.Config, error) {
	if err := worker.CheckGrace(f.deleteGrace); err != nil {
		return worker.Config{}, fmt.Errorf("--delete-grace: %w", err)
	}
	if f.partitionsAtOnce < 1 {
		return worker.Config{}, fmt.Errorf("--partitions-at-once %d: want at least 1", f.partitionsAtOnce)
	}
	bc, err := topicconfig.NewBroker(broker)
	if err != nil {
		return worker.Config{}, fmt.Errorf("--broker-config: %w", err)
	}
	return worker.Config{
		Config: job.Config{
			Store:    store,
			Bucket:   bucket,
			Broker:   bc,
			Grace:    f.deleteGrace,
			Log:      log.With("component", "worker"),
			Parallel: f.partitionsAtOnce,
		},
		RetentionInterval:  f.retentionInterval,
		CompactionInterval: f.compactionInterval,
	}, nil
}

// startDevWorker runs the worker beside caudal dev's gateway until ctx ends.
func startDevWorker(ctx context.Context, f workerFlags, store metadata.Store, bucket objstore.Bucket, broker map[string]string, log *slog.Logger) error {
	cfg, err := f.config(store, bucket, broker, log)
	if err != nil {
		return err
	}
	go func() {
		if err := worker.Run(ctx, cfg); err != nil {
			log.Error("worker stopped", "err", err)
		}
	}()
	return nil
}
