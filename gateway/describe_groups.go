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
// Each group needs DESCRIBE (GROUP_AUTHORIZATION_FAILED); its authorized
// operations are reported when asked (v3+).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeGroups, 0, 6, serveDescribeGroups) }

func serveDescribeGroups(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DescribeGroupsRequest)
	allowed, ok := c.allowedGroups(kmsg.ACLOperationDescribe, req.Groups)
	sub := *req
	sub.Groups = allowed
	resp := c.g.groups.DescribeGroups(c.ctx, &sub)
	resp.Groups = mergeDenied(ok, resp.Groups, func(i int) kmsg.DescribeGroupsResponseGroup {
		dg := kmsg.NewDescribeGroupsResponseGroup()
		dg.Group, dg.ErrorCode = req.Groups[i], kerr.GroupAuthorizationFailed.Code
		return dg
	})
	for i := range resp.Groups {
		if dg := &resp.Groups[i]; req.IncludeAuthorizedOperations && dg.ErrorCode == 0 {
			dg.AuthorizedOperations = c.authorizedOperations(groupResource, dg.Group)
		}
	}
	return resp
}
