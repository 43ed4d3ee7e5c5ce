package gateway

// ConsumerGroupDescribe, versions 0–1 (KIP-848).
//
// Describes KIP-848 groups: state (Empty, Assigning, Reconciling,
// Stable), group and assignment epochs, the assignor, and per member its
// epoch, subscription, current and target assignments. A group that does
// not exist or is a classic group gets GROUP_ID_NOT_FOUND. Each group
// needs DESCRIBE (GROUP_AUTHORIZATION_FAILED).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ConsumerGroupDescribe, 0, 1, serveConsumerGroupDescribe) }

func serveConsumerGroupDescribe(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.ConsumerGroupDescribeRequest)
	allowed, ok := c.allowedGroups(kmsg.ACLOperationDescribe, req.Groups)
	sub := *req
	sub.Groups = allowed
	resp := c.g.groups.ConsumerGroupDescribe(c.ctx, &sub)
	resp.Groups = mergeDenied(ok, resp.Groups, func(i int) kmsg.ConsumerGroupDescribeResponseGroup {
		dg := kmsg.NewConsumerGroupDescribeResponseGroup()
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
