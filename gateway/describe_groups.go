package gateway

// DescribeGroups, versions 0–6.
//
// Describes groups with their members (client id, host, instance id, the
// chosen protocol's metadata and the assignment). A KIP-848 group is
// described as a classic "consumer" group would be: the protocol is its
// server assignor, and each member's metadata and assignment are encoded
// as the consumer protocol's, so admin tools (kadm lag) read it alike. A
// group with only committed offsets is Empty. An unknown group is Dead
// with no error before v6 and GROUP_ID_NOT_FOUND from v6, as in Kafka.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeGroups, 0, 6, serveDescribeGroups) }

func serveDescribeGroups(c *conn, kreq kmsg.Request) kmsg.Response {
	return c.g.groups.DescribeGroups(c.ctx, kreq.(*kmsg.DescribeGroupsRequest))
}
