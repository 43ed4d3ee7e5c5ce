// Package gateway is caudal's Kafka protocol edge: connections, framing,
// dispatch, one file per served Kafka API (opening with the versions it
// serves and how it behaves), and the mapping of typed errors to Kafka
// error codes. It decodes a request, calls the package under gateway/ that
// does the work (groups, writer, reader, cluster) and encodes the answer;
// it buffers no objects, caches no bytes and runs no group state machine.
// A gateway is stateless: topics, offsets and the index live in the
// metadata store and record bytes in segment objects in the bucket, so any
// gateway can serve any partition.
package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/caudal/caudal/gateway/acl"
	"github.com/caudal/caudal/gateway/auth"
	"github.com/caudal/caudal/gateway/cluster"
	"github.com/caudal/caudal/gateway/groups"
	"github.com/caudal/caudal/gateway/quota"
	"github.com/caudal/caudal/gateway/reader"
	"github.com/caudal/caudal/gateway/txn"
	"github.com/caudal/caudal/gateway/writer"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/caudal/caudal/objstore"
	"github.com/prometheus/client_golang/prometheus"
)

// Config holds what a gateway needs besides its stores.
type Config struct {
	// Advertise is the host:port given to clients in Metadata responses.
	Advertise string
	// NodeID is this gateway's broker id in Metadata responses; below
	// zero, the metadata store allocates one.
	NodeID int32
	Rack   string
	// HeartbeatInterval is how often the gateway refreshes its registry
	// row and its list of live gateways; GatewayTimeout is how old a
	// heartbeat may be for its gateway to count as live. Both go to
	// gateway/cluster as they are; it applies their defaults.
	HeartbeatInterval time.Duration
	GatewayTimeout    time.Duration
	// ClusterID is reported in Metadata and DescribeCluster.
	ClusterID string
	// BucketURL is reported by DescribeLogDirs as the one log dir,
	// without credentials or query (describe_log_dirs.go).
	BucketURL string

	// TransactionVersion is the transaction.version feature finalized in
	// ApiVersions: 2 (the default) lets clients use KIP-890's transaction
	// version 2, 1 keeps them on the older protocol.
	TransactionVersion int16

	// FlushInterval and FlushBytes bound how long a produced batch waits
	// and how large an object grows before it is written.
	FlushInterval time.Duration
	FlushBytes    int
	// MaxBufferedBytes bounds produced bytes not yet committed; producers
	// wait when it is reached.
	MaxBufferedBytes int
	// CacheBytes sizes the read cache of object bytes.
	CacheBytes int64

	// MaxConnections and MaxConnectionsPerIP bound client connections
	// (Kafka's max.connections and max.connections.per.ip); past them a
	// connection is closed at once. MaxConnections defaults to what the
	// process's file descriptor limit leaves room for; the per-IP bound
	// defaults to none.
	MaxConnections      int
	MaxConnectionsPerIP int
	// QueuedMaxRequestBytes bounds the bytes of request bodies the
	// gateway holds (Kafka's queued.max.request.bytes); default 100 MiB.
	QueuedMaxRequestBytes int64

	// Listeners are served by ServeListener; Serve serves a plaintext
	// listener advertised as Advertise (listeners.go).
	Listeners []Listener
	// SASL configures authentication on SASL listeners (sasl.go).
	SASL SASLConfig
	// Authorizer turns Kafka's ACLs on (authorize.go); off, every
	// request is allowed, as in Kafka without authorizer.class.name.
	Authorizer AuthorizerConfig

	// Broker holds broker-level settings and topic defaults, with Kafka's
	// names (auto.create.topics.enable, num.partitions, log.retention.ms…).
	Broker map[string]string
	// GroupInitialRebalanceDelay is Kafka's
	// group.initial.rebalance.delay.ms (gateway/groups): zero, as here
	// by default, lets an empty group's first rebalance end as soon as
	// its members have joined; the command line's default is Kafka's 3 s.
	GroupInitialRebalanceDelay time.Duration

	Logger *slog.Logger
	Now    func() time.Time
	// Registerer receives the gateway's Prometheus metrics; nil keeps
	// them unregistered.
	Registerer prometheus.Registerer
}

// maxRequestBytes is Kafka's socket.request.max.bytes default.
const maxRequestBytes = 100 << 20

// Gateway serves the Kafka protocol over the metadata store and bucket.
type Gateway struct {
	cfg    Config
	log    *slog.Logger
	store  metadata.Store
	bucket objstore.Bucket

	topics  *cluster.Topics
	writer  *writer.Writer
	reader  *reader.Reader
	configs *topicconfig.Broker
	groups  *groups.Coordinator
	txn     *txn.Coordinator
	metrics *metrics
	// cluster is the live gateways, leaders and coordinators.
	cluster *cluster.Registry
	// stopBackground ends the gateway's periodic jobs on Close.
	stopBackground context.CancelFunc

	// budget bounds the request bytes held (QueuedMaxRequestBytes).
	budget *byteBudget
	// auth runs SASL exchanges; nil when no mechanism is enabled.
	auth *auth.Authenticator
	// acl decides on ACLs; nil when authorization is off.
	acl *acl.Authorizer
	// brokerConfigs is the version of the dynamic broker configs in
	// configs (broker_configs.go).
	brokerConfigs brokerConfigState
	brokerFollow  *cluster.Follower
	// quotas holds client quotas and measures byte rates (gateway/quota).
	quotas *quota.Manager
	// users manages SCRAM credentials (KIP-554).
	users *auth.Users
	// bodyTimeout and writeTimeout bound a request body's arrival and
	// each response write (conn.go); tests shorten them.
	bodyTimeout, writeTimeout time.Duration

	mu     sync.Mutex
	lns    []net.Listener
	conns  map[net.Conn]struct{}
	perIP  map[string]int
	connWG sync.WaitGroup
	// closed is set once Close starts: long polls answer at once.
	closed bool
}

// New builds a gateway; Serve starts answering clients.
func New(cfg Config, store metadata.Store, bucket objstore.Bucket) (*Gateway, error) {
	cfg = withDefaults(cfg)
	bc, err := topicconfig.NewGatewayBroker(cfg.Broker, flagSettings(cfg))
	if err != nil {
		return nil, err
	}
	if err := checkListeners(cfg.Listeners, cfg.SASL.Mechanisms); err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:          cfg,
		log:          cfg.Logger,
		store:        store,
		bucket:       bucket,
		configs:      bc,
		conns:        make(map[net.Conn]struct{}),
		perIP:        make(map[string]int),
		bodyTimeout:  defaultBodyTimeout,
		writeTimeout: defaultWriteTimeout,
		topics:       cluster.NewTopics(store, cfg.Now),
		users:        auth.NewUsers(store),
	}
	if g.metrics, err = newMetrics(cfg.Registerer); err != nil {
		return nil, fmt.Errorf("register gateway metrics: %w", err)
	}
	g.metrics.queuedLimit.Set(float64(cfg.QueuedMaxRequestBytes))
	if len(cfg.SASL.Mechanisms) > 0 {
		g.auth, err = auth.New(auth.Config{Store: store, Mechanisms: cfg.SASL.Mechanisms, OAuth: cfg.SASL.OAuth, Now: cfg.Now, Log: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("configure SASL: %w", err)
		}
	}
	g.budget = newByteBudget(cfg.QueuedMaxRequestBytes, func(n int64) { g.metrics.queuedBytes.Add(float64(n)) })
	g.reader, err = reader.New(reader.Config{Store: store, Bucket: bucket, CacheBytes: cfg.CacheBytes, Registerer: cfg.Registerer})
	if err != nil {
		return nil, err
	}
	if g.quotas, err = startQuotas(cfg, store); err != nil {
		return nil, err
	}
	if cfg.Authorizer.Enabled {
		if g.acl, err = startAuthorizer(cfg, store); err != nil {
			return nil, err
		}
	}
	g.writer, err = writer.New(writer.Config{
		Store: store, Bucket: bucket,
		FlushInterval: cfg.FlushInterval, FlushBytes: cfg.FlushBytes, MaxBufferedBytes: cfg.MaxBufferedBytes,
		Committed: g.reader.Committed, Reads: g.reader.Reads, Buffers: reader.Buffers{}, Log: cfg.Logger, Registerer: cfg.Registerer,
	})
	if err != nil {
		return nil, err
	}
	g.cluster, err = cluster.New(cluster.Config{
		Store:             store,
		Self:              metadata.Gateway{NodeID: cfg.NodeID, Addr: cfg.Advertise, Rack: cfg.Rack, Listeners: listenerAddrs(cfg.Listeners)},
		HeartbeatInterval: cfg.HeartbeatInterval,
		GatewayTimeout:    cfg.GatewayTimeout,
		Now:               cfg.Now,
		Log:               cfg.Logger,
		// The groups that moved to another gateway are handed off; the
		// coordinator does not exist yet at the first refresh.
		OnChange: func(ctx context.Context, live []metadata.Gateway) {
			g.metrics.gateways.Set(float64(len(live)))
			if g.groups != nil {
				g.groups.ReleaseMoved(ctx)
			}
		},
		OnRemoteCommit: g.reader.Appended,
	})
	if err != nil {
		return nil, fmt.Errorf("register gateway: %w", err)
	}
	g.cfg.NodeID = g.cluster.NodeID()
	g.brokerConfigs.version = -1
	if g.brokerFollow, err = cluster.Follow(context.Background(), "dynamic broker configs", brokerConfigPoll, cfg.Logger, g.reloadBrokerConfigs); err != nil {
		return nil, err
	}
	g.metrics.gateways.Set(float64(len(g.cluster.Gateways())))
	g.groups = groups.New(groups.Config{
		Store: store, Topics: g.topics, Broker: bc,
		Coordinates: g.cluster.Coordinates, ErrorCode: groupErrCode, ErrorMessage: errMessage,
		Now: cfg.Now, Log: cfg.Logger, Registerer: cfg.Registerer,
		InitialRebalanceDelay: cfg.GroupInitialRebalanceDelay,
	})
	g.groups.Start()
	g.txn = txn.New(txn.Config{
		Store: store, Writer: g.writer, Coordinates: g.cluster.Coordinates,
		MaxTimeout: time.Duration(bc.Int("transaction.max.timeout.ms")) * time.Millisecond,
		Now:        cfg.Now, Log: cfg.Logger,
	})
	g.txn.Start()
	g.cluster.Start()
	bg, stop := context.WithCancel(context.Background())
	g.stopBackground = stop
	go g.storageStatsLoop(bg)
	return g, nil
}

// startQuotas loads the client quotas, bounded as the ACLs' first load,
// and keeps them fresh until Close.
func startQuotas(cfg Config, store metadata.Store) (*quota.Manager, error) {
	m := quota.New(quota.Config{Store: store, Now: cfg.Now, Log: cfg.Logger})
	ctx, cancel := context.WithTimeout(context.Background(), authorizerStart)
	defer cancel()
	if err := m.Start(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TransactionVersion != 1 {
		cfg.TransactionVersion = 2
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 100 * time.Millisecond
	}
	if cfg.FlushBytes <= 0 {
		cfg.FlushBytes = 8 << 20
	}
	if cfg.MaxBufferedBytes <= 0 {
		cfg.MaxBufferedBytes = 4 * cfg.FlushBytes
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = 256 << 20
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	if cfg.ClusterID == "" {
		cfg.ClusterID = "caudal"
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = defaultMaxConnections()
	}
	if cfg.QueuedMaxRequestBytes <= 0 {
		cfg.QueuedMaxRequestBytes = maxRequestBytes
	}
	return cfg
}

// Close stops accepting, flushes and acknowledges what is buffered, then
// closes client connections. The stores are the caller's to close.
func (g *Gateway) Close(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.stopBackground()
	for _, ln := range g.lns {
		ln.Close()
	}
	g.mu.Unlock()

	// Flush first so that waiting producers get their acks written before
	// their connections go away.
	g.txn.Stop()
	err := g.writer.Close(ctx)
	g.groups.Close(ctx)
	g.cluster.Stop()
	g.reader.Closing()

	done := make(chan struct{})
	go func() {
		// Give connections a moment to write the final acks.
		time.Sleep(50 * time.Millisecond)
		g.mu.Lock()
		for c := range g.conns {
			c.Close()
		}
		g.mu.Unlock()
		g.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.reader.Close()
	if g.acl != nil {
		g.acl.Close()
	}
	g.quotas.Close()
	g.brokerFollow.Stop()
	return err
}

// NodeID is this gateway's broker id (allocated by the metadata store when
// Config.NodeID was negative).
func (g *Gateway) NodeID() int32 { return g.cfg.NodeID }
