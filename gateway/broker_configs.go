package gateway

// Dynamic broker configs: every gateway keeps the cluster default's and
// its own in g.configs, reloading them when the metadata store's version
// of them changes, which it polls as gateway/acl polls the ACL version,
// so that a change made on any gateway applies everywhere within a
// second.

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/caudal/caudal/metadata/topicconfig"
)

// brokerConfigPoll is how often the version is read.
const brokerConfigPoll = 500 * time.Millisecond

// brokerConfigState is the version of the dynamic configs in force.
type brokerConfigState struct {
	// mu keeps reloads one at a time, so a slow one cannot apply configs
	// older than a faster one's.
	mu      sync.Mutex
	version int64 // -1 before the first load
}

// flagSettings are the broker configs the gateway's own flags hold, as
// Kafka's names report them.
func flagSettings(cfg Config) map[string]string {
	m := map[string]string{
		"max.connections":          strconv.Itoa(cfg.MaxConnections),
		"queued.max.request.bytes": strconv.FormatInt(cfg.QueuedMaxRequestBytes, 10),
	}
	if cfg.MaxConnectionsPerIP > 0 {
		m["max.connections.per.ip"] = strconv.Itoa(cfg.MaxConnectionsPerIP)
	}
	return m
}

// reloadBrokerConfigs applies the stored dynamic configs when their
// version moved (gateway/cluster's Follower calls it every poll).
func (g *Gateway) reloadBrokerConfigs(ctx context.Context) error {
	s := &g.brokerConfigs
	s.mu.Lock()
	defer s.mu.Unlock()
	return g.loadBrokerConfigs(ctx, s)
}

func (g *Gateway) loadBrokerConfigs(ctx context.Context, s *brokerConfigState) error {
	v, err := g.store.BrokerConfigVersion(ctx)
	if err != nil || v == s.version {
		return err
	}
	if err := g.configs.LoadDynamic(ctx, g.store, strconv.Itoa(int(g.cfg.NodeID))); err != nil {
		var ignored *topicconfig.ConfigError
		if !errors.As(err, &ignored) {
			return err
		}
		g.log.Warn("ignoring stored dynamic broker configs this version cannot apply", "err", err)
	}
	s.version = v
	g.log.Info("dynamic broker configs loaded", "version", v)
	return nil
}
