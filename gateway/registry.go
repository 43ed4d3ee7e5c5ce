package gateway

// The gateway registry. Every gateway registers its node id, advertised
// address and rack in the metadata store and refreshes that row every
// HeartbeatInterval; it keeps the list of gateways whose heartbeat is
// younger than GatewayTimeout, always including itself, refreshed on the
// same tick. Metadata and DescribeCluster list these gateways as brokers.
//
// Partition leaders and group coordinators are chosen over the live list
// by rendezvous (highest-random-weight) hashing: each candidate's weight
// for a key is a hash of its node id and the key, and the heaviest wins.
// When a gateway joins or leaves, only the keys it wins or won move. Every
// gateway still accepts produce and fetch for any partition: the leader
// only steers clients (so producers and consumers of a partition meet on
// one gateway's cache). Group coordinators are binding: the others answer
// NOT_COORDINATOR, and a gateway that stops coordinating a group drops its
// in-memory copy (group_handoff.go); the next coordinator loads it from
// the store on first use.
//
// Zones: a client that names its rack gets leaders among the gateways of
// that rack when it has live ones. Kafka clients do not send their rack in
// Metadata, so it comes from a tag in the client id ("app;rack=zone-a" or
// "app,zone=zone-a") or from the rack of the connection's last Fetch
// (v11+). Coordinators ignore zones: every gateway must agree on them.

import (
	"context"
	"encoding/binary"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// defaultHeartbeatInterval is Config.HeartbeatInterval's default;
// Config.GatewayTimeout's is three intervals.
const defaultHeartbeatInterval = 3 * time.Second

type registry struct {
	g    *Gateway
	self metadata.Gateway
	live atomic.Pointer[[]metadata.Gateway] // sorted by node id, includes self

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newRegistry registers this gateway, allocating its node id when
// Config.NodeID is negative, and loads the live list once.
func newRegistry(g *Gateway) (*registry, error) {
	r := &registry{g: g, self: metadata.Gateway{NodeID: g.cfg.NodeID, Addr: g.cfg.Advertise, Rack: g.cfg.Rack}}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
	defer cancel()
	me, err := g.store.Heartbeat(ctx, r.self)
	switch {
	case err == nil:
		r.self = me
	case r.self.NodeID < 0:
		r.cancel()
		return nil, err
	default:
		g.log.Warn("register gateway", "err", err)
	}
	g.cfg.NodeID = r.self.NodeID
	r.live.Store(&[]metadata.Gateway{r.self})
	r.refresh(ctx)
	return r, nil
}

// start runs the heartbeat and the cross-gateway commit watch.
func (r *registry) start() {
	r.wg.Add(2)
	go r.loop()
	go func() {
		defer r.wg.Done()
		if err := r.g.store.Watch(r.ctx, r.g.waiters.notify); err != nil {
			r.g.log.Warn("watch commits of other gateways", "err", err)
		}
	}()
}

// stop ends the heartbeat and deregisters, so that clients are steered
// to the other gateways at their next metadata refresh.
func (r *registry) stop() {
	r.cancel()
	r.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), r.g.cfg.GatewayTimeout)
	defer cancel()
	if err := r.g.store.RemoveGateway(ctx, r.self.NodeID); err != nil {
		r.g.log.Warn("deregister gateway", "err", err)
	}
}

func (r *registry) loop() {
	defer r.wg.Done()
	t := time.NewTicker(r.g.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(r.ctx, r.g.cfg.GatewayTimeout)
		if _, err := r.g.store.Heartbeat(ctx, r.self); err != nil && r.ctx.Err() == nil {
			r.g.log.Warn("gateway heartbeat", "err", err)
		}
		r.refresh(ctx)
		cancel()
	}
}

// refresh reloads the live gateways; on failure the last list stays.
func (r *registry) refresh(ctx context.Context) {
	gws, err := r.g.store.Gateways(ctx, r.g.cfg.Now().Add(-r.g.cfg.GatewayTimeout))
	if err != nil {
		if r.ctx.Err() == nil {
			r.g.log.Warn("list live gateways", "err", err)
		}
		return
	}
	live := make([]metadata.Gateway, 0, len(gws)+1)
	live = append(live, r.self)
	for _, gw := range gws {
		if gw.NodeID != r.self.NodeID {
			live = append(live, gw)
		}
	}
	slices.SortFunc(live, func(a, b metadata.Gateway) int { return int(a.NodeID) - int(b.NodeID) })
	old := r.live.Swap(&live)
	if !sameGateways(*old, live) {
		r.g.log.Info("live gateways changed", "gateways", len(live))
		if r.g.groups != nil {
			r.g.groups.releaseMoved(ctx)
		}
	}
}

func sameGateways(a, b []metadata.Gateway) bool {
	return slices.EqualFunc(a, b, func(x, y metadata.Gateway) bool {
		return x.NodeID == y.NodeID && x.Addr == y.Addr && x.Rack == y.Rack
	})
}

// gateways returns the live list (not to be modified).
func (r *registry) gateways() []metadata.Gateway { return *r.live.Load() }

// brokers lists the live gateways clients may connect to.
func (g *Gateway) brokers() []kmsg.MetadataResponseBroker {
	live := g.registry.gateways()
	out := make([]kmsg.MetadataResponseBroker, 0, len(live))
	for _, gw := range live {
		out = append(out, g.brokerOf(gw))
	}
	return out
}

// brokerOf is gw as a Metadata broker; this gateway is described by its
// current configuration (tests set Advertise once they listen).
func (g *Gateway) brokerOf(gw metadata.Gateway) kmsg.MetadataResponseBroker {
	if gw.NodeID == g.cfg.NodeID {
		gw.Addr, gw.Rack = g.cfg.Advertise, g.cfg.Rack
	}
	host, portStr, _ := net.SplitHostPort(gw.Addr)
	port, _ := strconv.Atoi(portStr)
	b := kmsg.NewMetadataResponseBroker()
	b.NodeID = gw.NodeID
	b.Host = host
	b.Port = int32(port)
	if gw.Rack != "" {
		rack := gw.Rack
		b.Rack = &rack
	}
	return b
}

// leaderFor names the gateway that a client in rack (or any, when empty)
// should use for a partition: among the gateways of that rack when it has
// live ones, all of them otherwise. Any gateway accepts any partition;
// the leader only steers clients.
func (g *Gateway) leaderFor(rack string, topic uuid.UUID, partition int32) int32 {
	cands := inRack(g.registry.gateways(), rack)
	return cands[rendezvous(cands, partitionKey(topic, partition))].NodeID
}

// coordinatorFor names the gateway that coordinates group (or
// transactional id): the same over all gateways, whatever their rack.
func (g *Gateway) coordinatorFor(group string) kmsg.MetadataResponseBroker {
	live := g.registry.gateways()
	return g.brokerOf(live[rendezvous(live, groupKey(group))])
}

// coordinates reports whether this gateway coordinates group; the others
// answer NOT_COORDINATOR.
func (g *Gateway) coordinates(group string) bool {
	return g.coordinatorFor(group).NodeID == g.cfg.NodeID
}

// inRack returns the gateways of rack, or all when rack is empty or has none.
func inRack(live []metadata.Gateway, rack string) []metadata.Gateway {
	if rack == "" {
		return live
	}
	var out []metadata.Gateway
	for _, gw := range live {
		if gw.Rack == rack {
			out = append(out, gw)
		}
	}
	if len(out) == 0 {
		return live
	}
	return out
}

func partitionKey(topic uuid.UUID, partition int32) []byte {
	k := make([]byte, 0, 21)
	k = append(k, 'p')
	k = append(k, topic[:]...)
	return binary.BigEndian.AppendUint32(k, uint32(partition))
}

func groupKey(group string) []byte { return append([]byte{'g'}, group...) }

// rendezvous returns the index of the candidate with the highest weight
// for key (ties, practically impossible, go to the lower node id). cands
// must not be empty.
func rendezvous(cands []metadata.Gateway, key []byte) int {
	best, bestW := 0, uint64(0)
	for i, c := range cands {
		w := hrwWeight(c.NodeID, key)
		if i == 0 || w > bestW || (w == bestW && c.NodeID < cands[best].NodeID) {
			best, bestW = i, w
		}
	}
	return best
}

// hrwWeight is FNV-1a over the node id and the key, finished with
// splitmix64's mixer so that nearby inputs spread over the whole range.
func hrwWeight(node int32, key []byte) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	var nb [4]byte
	binary.BigEndian.PutUint32(nb[:], uint32(node))
	for _, b := range nb {
		h = (h ^ uint64(b)) * prime
	}
	for _, b := range key {
		h = (h ^ uint64(b)) * prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// clientRack is the rack a connection's client gave: the last Fetch's
// rack id, else a rack= or zone= tag in its client id.
func (c *conn) clientRack() string {
	if c.rack != "" {
		return c.rack
	}
	return rackFromClientID(c.clientID)
}

// rackFromClientID finds a "rack=" or "zone=" (or "client.rack=") tag in
// a client id, the tags separated by ';', ',', '&', '|' or spaces.
func rackFromClientID(id string) string {
	if !strings.Contains(id, "=") {
		return ""
	}
	for _, part := range strings.FieldsFunc(id, func(r rune) bool {
		return r == ';' || r == ',' || r == '&' || r == '|' || r == ' '
	}) {
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "rack", "zone", "client.rack":
			return strings.TrimSpace(v)
		}
	}
	return ""
}
