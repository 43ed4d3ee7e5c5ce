package gateway

// OffsetDelete, version 0.
//
// Deletes a group's committed offsets for some partitions. A partition of
// a topic the group's members consume gets GROUP_SUBSCRIBED_TO_TOPIC; an
// unknown topic or partition UNKNOWN_TOPIC_OR_PARTITION. An unknown group
// gets GROUP_ID_NOT_FOUND, and a classic group with members whose
// protocol type is not "consumer" (so its topics are unknown)
// NON_EMPTY_GROUP.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetDelete, 0, 0, serveOffsetDelete) }

func serveOffsetDelete(c *conn, kreq kmsg.Request) kmsg.Response {
	return c.g.groups.OffsetDelete(c.ctx, kreq.(*kmsg.OffsetDeleteRequest))
}
