package gateway

// DeleteGroups, versions 0–3.
//
// Deletes empty groups with their committed offsets and stored state. A
// group with members gets NON_EMPTY_GROUP, an unknown one
// GROUP_ID_NOT_FOUND.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DeleteGroups, 0, 3, serveDeleteGroups) }

func serveDeleteGroups(c *conn, kreq kmsg.Request) kmsg.Response {
	return c.g.groups.DeleteGroups(c.ctx, kreq.(*kmsg.DeleteGroupsRequest))
}
