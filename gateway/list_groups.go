package gateway

// ListGroups, versions 0–5.
//
// Lists the groups this gateway coordinates, including those that only
// have committed offsets (state Empty, no protocol type). v4 filters by
// state and v5 by group type ("classic", "consumer"), both
// case-insensitively. DESCRIBE on the cluster lists every group; without
// it, the groups the principal may DESCRIBE.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ListGroups, 0, 5, serveListGroups) }

func serveListGroups(c *conn, kreq kmsg.Request) kmsg.Response {
	resp := c.g.groups.ListGroups(c.ctx, kreq.(*kmsg.ListGroupsRequest))
	if c.allowedCluster(kmsg.ACLOperationDescribe) {
		return resp
	}
	visible := resp.Groups[:0]
	for _, g := range resp.Groups {
		if c.allowed(kmsg.ACLOperationDescribe, groupResource, g.Group) {
			visible = append(visible, g)
		}
	}
	resp.Groups = visible
	return resp
}
