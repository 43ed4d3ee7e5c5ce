// Package cluster is a gateway's view of the cluster: the live gateways
// (registered and heartbeating in the metadata store), the rendezvous
// placement of partition leaders and coordinators over them, clients'
// zones, the topics it has looked up recently, and the wake-ups other
// gateways' commits send. It speaks no Kafka protocol: the gateway turns
// what it answers into Metadata and FindCoordinator responses.
//
// Every gateway registers its node id, advertised address and rack in the
// metadata store and refreshes that row every HeartbeatInterval; it keeps
// the list of gateways whose heartbeat is younger than GatewayTimeout,
// always including itself, refreshed on the same tick. A registration
// takes its address over from any other node id, so a gateway restarted
// after a crash under a new id replaces its old entry at once.
package cluster

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caudal/caudal/metadata"
)

// defaultHeartbeatInterval is Config.HeartbeatInterval's default;
// Config.GatewayTimeout's is three intervals.
const defaultHeartbeatInterval = 3 * time.Second

// Config is what a Registry needs.
type Config struct {
	Store metadata.Store
	// Self is this gateway; a NodeID below zero asks the store for one.
	Self              metadata.Gateway
	HeartbeatInterval time.Duration
	GatewayTimeout    time.Duration
	Now               func() time.Time
	Log               *slog.Logger
	// OnChange runs after the live gateways changed, with the new list,
	// so that coordinators can hand off what moved away.
	OnChange func(ctx context.Context, live []metadata.Gateway)
	// OnRemoteCommit runs when a gateway committed an object, with what
	// it appended (metadata.Watcher).
	OnRemoteCommit func([]metadata.Appended)
}

// Registry keeps this gateway registered and the live list current.
type Registry struct {
	c    Config
	self metadata.Gateway
	live atomic.Pointer[[]metadata.Gateway] // sorted by node id, includes self

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New registers this gateway, allocating its node id when Self.NodeID is
// negative, and loads the live list once.
func New(c Config) (*Registry, error) {
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = defaultHeartbeatInterval
	}
	if c.GatewayTimeout <= 0 {
		c.GatewayTimeout = 3 * c.HeartbeatInterval
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{c: c, self: c.Self}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	me, err := c.Store.Heartbeat(ctx, r.self)
	switch {
	case err == nil:
		r.self = me
	case r.self.NodeID < 0:
		r.cancel()
		return nil, err
	default:
		c.Log.Warn("register gateway", "err", err)
	}
	r.live.Store(&[]metadata.Gateway{r.self})
	r.refresh(ctx)
	return r, nil
}

// NodeID is this gateway's broker id, as registered.
func (r *Registry) NodeID() int32 { return r.self.NodeID }

// Start runs the heartbeat and the watch for other gateways' commits.
func (r *Registry) Start() {
	r.wg.Add(2)
	go r.loop()
	go func() {
		defer r.wg.Done()
		if err := r.c.Store.Watch(r.ctx, r.c.Log, r.c.OnRemoteCommit); err != nil {
			r.c.Log.Warn("watch commits of other gateways", "err", err)
		}
	}()
}

// Stop ends the heartbeat and deregisters, so that clients are steered
// to the other gateways at their next metadata refresh.
func (r *Registry) Stop() {
	r.cancel()
	r.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), r.c.GatewayTimeout)
	defer cancel()
	if err := r.c.Store.RemoveGateway(ctx, r.self.NodeID); err != nil {
		r.c.Log.Warn("deregister gateway", "err", err)
	}
}

func (r *Registry) loop() {
	defer r.wg.Done()
	t := time.NewTicker(r.c.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(r.ctx, r.c.GatewayTimeout)
		if _, err := r.c.Store.Heartbeat(ctx, r.self); err != nil && r.ctx.Err() == nil {
			r.c.Log.Warn("gateway heartbeat", "err", err)
		}
		r.refresh(ctx)
		cancel()
	}
}

// refresh reloads the live gateways; on failure the last list stays.
func (r *Registry) refresh(ctx context.Context) {
	gws, err := r.c.Store.Gateways(ctx, r.c.Now().Add(-r.c.GatewayTimeout))
	if err != nil {
		if r.ctx.Err() == nil {
			r.c.Log.Warn("list live gateways", "err", err)
		}
		return
	}
	live := make([]metadata.Gateway, 0, len(gws)+1)
	live = append(live, r.self)
	for _, gw := range gws {
		switch {
		case gw.NodeID == r.self.NodeID:
		case gw.Addr == r.self.Addr:
			// Another live gateway registered this one's advertised
			// address, which took it over (the store keeps one row per
			// address); each heartbeat takes it back. Clients reach only
			// one of the two there.
			r.c.Log.Warn("another gateway advertises this gateway's address", "addr", gw.Addr, "node", gw.NodeID)
		default:
			live = append(live, gw)
		}
	}
	slices.SortFunc(live, func(a, b metadata.Gateway) int { return int(a.NodeID) - int(b.NodeID) })
	old := r.live.Swap(&live)
	if !sameGateways(*old, live) {
		r.c.Log.Info("live gateways changed", "gateways", len(live))
		if r.c.OnChange != nil {
			r.c.OnChange(ctx, live)
		}
	}
}

func sameGateways(a, b []metadata.Gateway) bool {
	return slices.EqualFunc(a, b, func(x, y metadata.Gateway) bool {
		return x.NodeID == y.NodeID && x.Addr == y.Addr && x.Rack == y.Rack
	})
}

// Gateways returns the live list, sorted by node id (not to be modified).
func (r *Registry) Gateways() []metadata.Gateway { return *r.live.Load() }
