package gateway

// DeleteGroups, versions 0–3.
//
// Deletes empty groups with their committed offsets and stored state. A
// group with members gets NON_EMPTY_GROUP, an unknown one
// GROUP_ID_NOT_FOUND.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DeleteGroups, 0, 3, serveDeleteGroups) }

func serveDeleteGroups(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DeleteGroupsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, name := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = name
		if !c.g.coordinates(name) {
			rg.ErrorCode = kerr.NotCoordinator.Code
		} else {
			err := c.g.groups.deleteGroup(c.ctx, name)
			rg.ErrorCode, rg.ErrorMessage = errCode(err), errMessage(err)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
