package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// serverFlags are the flags shared by dev and gateway. Their names are
// caudal's public interface (DESIGN.md, "Configuration").
type serverFlags struct {
	kafkaListen string
	advertise   string
	httpListen  string
	bucketURL   string
	metadataURL string
	nodeID      int
	nodeIDFile  string // keeps the node id across restarts (gateway only)
	rack        string
	// heartbeatInterval and gatewayTimeout drive the gateway registry.
	heartbeatInterval time.Duration
	gatewayTimeout    time.Duration
	flushInterval     time.Duration
	flushBytes        int
	cacheBytes        int64
	// transactionVersion is the transaction.version feature offered.
	transactionVersion int
	// maxConnections, maxConnectionsPerIP and queuedMaxRequestBytes bound
	// what clients may hold (Kafka's max.connections,
	// max.connections.per.ip and queued.max.request.bytes).
	maxConnections        int
	maxConnectionsPerIP   int
	queuedMaxRequestBytes int64
	brokerConfigs         keyValues
	logLevel              string
	listeners             listenerFlags
	security              securityFlags
	pprof                 bool

	// groupInitialDelay is Kafka's group.initial.rebalance.delay.ms.
	groupInitialDelay time.Duration
}

func (f *serverFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.kafkaListen, "kafka-listen", "127.0.0.1:9092", "Kafka protocol listener `host:port`")
	fs.StringVar(&f.advertise, "advertise", "", "`host:port` given to clients in Metadata (default: the listen address)")
	fs.StringVar(&f.httpListen, "http-listen", "127.0.0.1:9644", "admin HTTP listener for /metrics, /healthz, /readyz (empty: off)")
	fs.StringVar(&f.bucketURL, "bucket-url", "", "object store: s3://BUCKET/PREFIX?endpoint=…&region=… or file:///DIR")
	fs.StringVar(&f.metadataURL, "metadata-url", "", "metadata store: postgres://… or sqlite:///PATH")
	fs.IntVar(&f.nodeID, "node-id", -1, "broker id in Metadata (-1: allocated by the metadata store)")
	fs.StringVar(&f.rack, "rack", "", "rack or zone reported for this gateway")
	fs.DurationVar(&f.heartbeatInterval, "heartbeat-interval", 3*time.Second, "how often the gateway renews its registration and refreshes the live gateways")
	fs.DurationVar(&f.gatewayTimeout, "gateway-timeout", 0, "heartbeat age after which a gateway no longer counts as live (0: 3 heartbeat intervals)")
	fs.DurationVar(&f.flushInterval, "flush-interval", 100*time.Millisecond, "longest a produced batch waits before its object is written; the latency/PUT-cost dial")
	fs.IntVar(&f.flushBytes, "flush-bytes", 8<<20, "object size that triggers a flush before the interval")
	fs.Int64Var(&f.cacheBytes, "cache-bytes", 256<<20, "size of the read cache of object bytes")
	fs.IntVar(&f.maxConnections, "max-connections", 0, "client connections served at once; more are closed at once (0: what the file descriptor limit leaves room for)")
	fs.IntVar(&f.maxConnectionsPerIP, "max-connections-per-ip", 0, "client connections served at once from one IP address (0: no limit)")
	fs.Int64Var(&f.queuedMaxRequestBytes, "queued-max-request-bytes", 100<<20, "bytes of request bodies held at once; past them, connections stop being read")
	fs.Var(&f.brokerConfigs, "broker-config", "broker setting `key=value` with Kafka's name (e.g. log.retention.hours=72); repeatable")
	fs.IntVar(&f.transactionVersion, "transaction-version", 2, "the transaction.version feature finalized for clients: 2 (KIP-890: an epoch bump per transaction, implicit partition adds) or 1")
	fs.DurationVar(&f.groupInitialDelay, "group-initial-rebalance-delay", 3*time.Second, "how long the first rebalance of an empty consumer group waits for more members, extended per new member up to the rebalance timeout (Kafka's group.initial.rebalance.delay.ms)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	f.listeners.register(fs)
	f.security.register(fs)
	fs.BoolVar(&f.pprof, "pprof", false, "serve /debug/pprof on --http-listen (profiles show what the gateway does; keep that port private)")
}

// parseFlags parses args, taking each flag not given on the command line
// from CAUDAL_<NAME> when that is set.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "CAUDAL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(env)
		if given[f.Name] || !ok || err != nil {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = fmt.Errorf("%s=%q: %w", env, v, e)
		}
	})
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return err
}

func (f *serverFlags) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), nil
}

// keyValues is a repeatable key=value flag; one value may also hold
// several pairs separated by commas (handy in environment variables).
type keyValues map[string]string

func (kv *keyValues) String() string {
	var parts []string
	for k, v := range *kv {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (kv *keyValues) Set(s string) error {
	if *kv == nil {
		*kv = keyValues{}
	}
	// A part without '=' continues the previous value, so list values
	// such as log.cleanup.policy=compact,delete survive.
	var pairs []string
	for _, part := range strings.Split(s, ",") {
		if !strings.Contains(part, "=") && len(pairs) > 0 {
			pairs[len(pairs)-1] += "," + part
			continue
		}
		pairs = append(pairs, part)
	}
	for _, pair := range pairs {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return fmt.Errorf("%q is not key=value", pair)
		}
		(*kv)[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return nil
}
