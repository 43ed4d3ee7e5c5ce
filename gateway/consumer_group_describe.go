package gateway

// ConsumerGroupDescribe, versions 0–1 (KIP-848).
//
// Describes KIP-848 groups: state (Empty, Assigning, Reconciling,
// Stable), group and assignment epochs, the assignor, and per member its
// epoch, subscription, current and target assignments. A group that does
// not exist or is a classic group gets GROUP_ID_NOT_FOUND.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ConsumerGroupDescribe, 0, 1, serveConsumerGroupDescribe) }

func serveConsumerGroupDescribe(c *conn, kreq kmsg.Request) kmsg.Response {
	return c.g.groups.ConsumerGroupDescribe(c.ctx, kreq.(*kmsg.ConsumerGroupDescribeRequest))
}
