package gateway

// ListGroups, versions 0–5.
//
// Lists the groups this gateway coordinates, including those that only
// have committed offsets (state Empty, no protocol type). v4 filters by
// state and v5 by group type ("classic", "consumer"), both
// case-insensitively.

import (
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ListGroups, 0, 5, serveListGroups) }

func serveListGroups(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.ListGroupsRequest)
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	groups, err := c.g.groups.listGroups(c.ctx)
	if err != nil {
		resp.ErrorCode = errCode(err)
		return resp
	}
	match := func(filter []string, v string) bool {
		return len(filter) == 0 || slices.ContainsFunc(filter, func(f string) bool { return strings.EqualFold(f, v) })
	}
	for _, lg := range groups {
		if !match(req.StatesFilter, lg.state) || !match(req.TypesFilter, lg.typ) {
			continue
		}
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState, rg.GroupType = lg.name, lg.protocolType, lg.state, lg.typ
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
