package gateway

// DeleteGroups, versions 0–3.
//
// Deletes empty groups with their committed offsets and stored state. A
// group with members gets NON_EMPTY_GROUP, an unknown one
// GROUP_ID_NOT_FOUND. Each group needs DELETE (GROUP_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DeleteGroups, 0, 3, serveDeleteGroups) }

func serveDeleteGroups(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DeleteGroupsRequest)
	allowed, ok := c.allowedGroups(kmsg.ACLOperationDelete, req.Groups)
	sub := *req
	sub.Groups = allowed
	resp := c.g.groups.DeleteGroups(c.ctx, &sub)
	resp.Groups = mergeDenied(ok, resp.Groups, func(i int) kmsg.DeleteGroupsResponseGroup {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group, rg.ErrorCode = req.Groups[i], kerr.GroupAuthorizationFailed.Code
		return rg
	})
	return resp
}
