package gateway

// ListGroups, versions 0–5.
//
// Lists the groups this gateway coordinates, including those that only
// have committed offsets (state Empty, no protocol type). v4 filters by
// state and v5 by group type ("classic", "consumer"), both
// case-insensitively.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ListGroups, 0, 5, serveListGroups) }

func serveListGroups(c *conn, kreq kmsg.Request) kmsg.Response {
	return c.g.groups.ListGroups(c.ctx, kreq.(*kmsg.ListGroupsRequest))
}
