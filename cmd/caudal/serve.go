package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/caudal/caudal/gateway"
	"github.com/caudal/caudal/gateway/cluster"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/objstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// shutdownTimeout bounds the final flush on SIGTERM/SIGINT.
const shutdownTimeout = 30 * time.Second

func runDev(args []string) error {
	fs := flag.NewFlagSet("caudal dev", flag.ContinueOnError)
	var f serverFlags
	f.register(fs)
	var wf workerFlags
	wf.registerJobs(fs)
	dataDir := fs.String("data-dir", "./data", "where caudal dev keeps its objects and metadata")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "objects"), 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if f.bucketURL == "" {
		f.bucketURL = "file://" + filepath.Join(dir, "objects")
	}
	if f.metadataURL == "" {
		f.metadataURL = "sqlite://" + filepath.Join(dir, "metadata.db")
	}
	if f.nodeID < 0 {
		f.nodeID = 0
	}
	return serve(f, &wf)
}

func runGateway(args []string) error {
	fs := flag.NewFlagSet("caudal gateway", flag.ContinueOnError)
	var f serverFlags
	f.register(fs)
	// Only caudal gateway keeps its node id in a file: caudal dev is node
	// 0 on a store of its own. Empty by default, as gateways are stateless
	// (a Kubernetes Deployment has no disk to keep it on); a gateway
	// restarted under a new id takes its old entry's address over anyway.
	fs.StringVar(&f.nodeIDFile, "node-id-file", "", "file that keeps the node id across restarts, as Kafka's meta.properties (empty: a new id per start unless --node-id)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.bucketURL == "" || f.metadataURL == "" {
		return errors.New("caudal gateway needs --bucket-url and --metadata-url")
	}
	return serve(f, nil)
}

// serve runs one gateway until SIGTERM or SIGINT, then flushes what is
// buffered and acknowledges it before exiting. With dev, the worker runs
// in-process too.
func serve(f serverFlags, dev *workerFlags) error {
	log, err := f.logger()
	if err != nil {
		return err
	}
	if f.transactionVersion != 1 && f.transactionVersion != 2 {
		return errors.New("--transaction-version must be 1 or 2")
	}
	if f.groupInitialDelay < 0 {
		return errors.New("--group-initial-rebalance-delay must not be negative")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	bucket, err := objstore.Open(ctx, f.bucketURL)
	if err != nil {
		return fmt.Errorf("open bucket: %w", err)
	}
	defer bucket.Close()
	if bucket, err = objstore.WithMetrics(bucket, reg); err != nil {
		return err
	}
	store, err := metadata.Open(ctx, f.metadataURL, metadata.Options{})
	if err != nil {
		return fmt.Errorf("open metadata store: %w", err)
	}
	defer store.Close()

	sasl, authz, err := f.security.config()
	if err != nil {
		return err
	}
	if err := f.security.bootstrapAdmin(ctx, store, log); err != nil {
		return err
	}
	bound, err := f.listeners.bind(f.kafkaListen, f.advertise, log)
	if err != nil {
		return err
	}
	var listeners []gateway.Listener
	for _, b := range bound {
		listeners = append(listeners, b.Listener)
	}
	// The registry knows a gateway by its first listener's address.
	advertise := bound[0].Advertise
	nodeID := int32(f.nodeID)
	if f.nodeIDFile != "" {
		if nodeID, err = cluster.ReadNodeID(f.nodeIDFile, nodeID); err != nil {
			return fmt.Errorf("--node-id-file: %w", err)
		}
	}
	// The gateway registers itself (node id, address, rack) and
	// heartbeats in the metadata store.
	gw, err := gateway.New(gateway.Config{
		Advertise:             advertise,
		BucketURL:             f.bucketURL,
		NodeID:                nodeID,
		Rack:                  f.rack,
		HeartbeatInterval:     f.heartbeatInterval,
		GatewayTimeout:        f.gatewayTimeout,
		FlushInterval:         f.flushInterval,
		FlushBytes:            f.flushBytes,
		CacheBytes:            f.cacheBytes,
		MaxConnections:        f.maxConnections,
		MaxConnectionsPerIP:   f.maxConnectionsPerIP,
		QueuedMaxRequestBytes: f.queuedMaxRequestBytes,
		Listeners:             listeners,
		SASL:                  sasl,
		Authorizer:            authz,
		Broker:                f.brokerConfigs,
		Logger:                log,
		Registerer:            reg,
		// Kafka's group.initial.rebalance.delay.ms.
		GroupInitialRebalanceDelay: f.groupInitialDelay,
		TransactionVersion:         int16(f.transactionVersion),
	}, store, bucket)
	if err != nil {
		return err
	}
	if f.nodeIDFile != "" {
		if err := cluster.WriteNodeID(f.nodeIDFile, gw.NodeID()); err != nil {
			return fmt.Errorf("--node-id-file: %w", err)
		}
	}
	if dev != nil {
		if err := startDevWorker(ctx, *dev, store, bucket, f.brokerConfigs, log); err != nil {
			return err
		}
	}
	if f.httpListen != "" {
		go serveHTTP(ctx, log, f.httpListen, f.pprof, reg, store, bucket)
	}
	errc := make(chan error, len(bound))
	for _, b := range bound {
		go func() { errc <- gw.ServeListener(b.ln, b.Name) }()
		log.Info("caudal is serving kafka", "listener", b.Name, "protocol", b.Protocol, "listen", b.ln.Addr().String(),
			"advertise", b.Advertise, "node", gw.NodeID())
	}

	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down: flushing buffered batches")
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if cerr := gw.Close(sctx); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// serveHTTP serves /metrics, /healthz (the process is up) and /readyz (the
// metadata store and the bucket answer).
func serveHTTP(ctx context.Context, log *slog.Logger, addr string, withPprof bool, reg *prometheus.Registry, store metadata.Store, bucket objstore.Bucket) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if withPprof {
		// Profiles of a live gateway are how performance problems get
		// found, but they show its insides: only when asked for.
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready(r.Context(), store, bucket); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("admin http server", "err", err)
	}
}

func ready(ctx context.Context, store metadata.Store, bucket objstore.Bucket) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := store.Topics(ctx); err != nil {
		return fmt.Errorf("metadata store: %w", err)
	}
	if _, err := bucket.Stat(ctx, "readyz-probe"); err != nil && !errors.Is(err, objstore.ErrNotFound) {
		return fmt.Errorf("bucket: %w", err)
	}
	return nil
}
