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

const (
	// brokerConfigPoll is how often the version is read.
	brokerConfigPoll = 500 * time.Millisecond
	// brokerConfigLoadTimeout bounds one reload, so that a hung store
	// delays the next poll rather than stopping the loop.
	brokerConfigLoadTimeout = 5 * time.Second
)

// brokerConfigState is the version of the dynamic configs in force.
type brokerConfigState struct {
	// mu keeps reloads one at a time, so a slow one cannot apply configs
	// older than a faster one's.
	mu      sync.Mutex
	version int64 // -1 before the first load
	failing bool  // the last reload failed; logged once
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
// version moved. During a store outage the last ones loaded stay in
// force; the outage is logged once, and its end.
func (g *Gateway) reloadBrokerConfigs(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, brokerConfigLoadTimeout)
	defer cancel()
	s := &g.brokerConfigs
	s.mu.Lock()
	defer s.mu.Unlock()
	err := g.loadBrokerConfigs(ctx, s)
	switch {
	case err != nil && !s.failing:
		g.log.Warn("reload dynamic broker configs; keeping the last ones loaded", "err", err)
		s.failing = true
	case err == nil && s.failing:
		g.log.Info("dynamic broker configs reloaded again")
		s.failing = false
	}
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

// followBrokerConfigs reloads on every tick until ctx ends.
func (g *Gateway) followBrokerConfigs(ctx context.Context) {
	t := time.NewTicker(brokerConfigPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.reloadBrokerConfigs(ctx)
		}
	}
}
