package gateway

// How the cluster's live gateways and placement (gateway/cluster) look to
// clients: the brokers of Metadata and DescribeCluster, and coordinators.

import (
	"net"
	"strconv"

	"github.com/caudal/caudal/gateway/cluster"
	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// brokers lists the live gateways clients of listener may connect to.
func (g *Gateway) brokers(listener Listener) []kmsg.MetadataResponseBroker {
	live := g.cluster.Gateways()
	out := make([]kmsg.MetadataResponseBroker, 0, len(live))
	for _, gw := range live {
		out = append(out, g.brokerOf(gw, listener))
	}
	return out
}

// brokerOf is gw as a Metadata broker for clients of listener: its
// address on that listener where it has one. This gateway is described
// by its current configuration (tests set Advertise once they listen).
func (g *Gateway) brokerOf(gw metadata.Gateway, listener Listener) kmsg.MetadataResponseBroker {
	switch addr := gw.Listeners[listener.Name]; {
	case gw.NodeID == g.cfg.NodeID:
		gw.Addr, gw.Rack = g.advertised(listener), g.cfg.Rack
	case addr != "":
		gw.Addr = addr
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

// coordinatorFor names the gateway that coordinates group (or
// transactional id), for clients of listener.
func (g *Gateway) coordinatorFor(group string, listener Listener) kmsg.MetadataResponseBroker {
	return g.brokerOf(g.cluster.CoordinatorFor(group), listener)
}

// clientRack is the rack a connection's client gave: the last Fetch's
// rack id, else a rack= or zone= tag in its client id.
func (c *conn) clientRack() string {
	if c.rack != "" {
		return c.rack
	}
	return cluster.RackFromClientID(c.clientID)
}
