package gateway

// DescribeAcls, versions 0–3.
//
// Lists the ACL bindings a filter selects, grouped by resource pattern as
// Kafka groups them. Needs DESCRIBE on the cluster
// (CLUSTER_AUTHORIZATION_FAILED); without an authorizer it answers
// SECURITY_DISABLED. A filter Kafka would refuse gets INVALID_REQUEST.
// Version 0 filters LITERAL patterns only.

import (
	"cmp"
	"slices"

	"github.com/caudal/caudal/gateway/acl"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeACLs, 0, 3, serveDescribeACLs) }

func serveDescribeACLs(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DescribeACLsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
	if resp.ErrorCode = aclAdminCode(c, kmsg.ACLOperationDescribe); resp.ErrorCode != 0 {
		return resp
	}
	pattern := req.ResourcePatternType
	if req.Version == 0 {
		pattern = kmsg.ACLResourcePatternTypeLiteral
	}
	bindings, err := c.g.acl.Describe(acl.Filter{ResourceType: req.ResourceType, ResourceName: req.ResourceName,
		PatternType: pattern, Principal: req.Principal, Host: req.Host, Operation: req.Operation, Permission: req.PermissionType})
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = errCode(err), errMessage(err)
		return resp
	}
	slices.SortFunc(bindings, func(a, b acl.Binding) int {
		return cmp.Or(cmp.Compare(a.ResourceType, b.ResourceType), cmp.Compare(a.ResourceName, b.ResourceName),
			cmp.Compare(a.PatternType, b.PatternType))
	})
	for _, b := range bindings {
		n := len(resp.Resources)
		if n == 0 || resp.Resources[n-1].ResourceType != b.ResourceType || resp.Resources[n-1].ResourceName != b.ResourceName ||
			resp.Resources[n-1].ResourcePatternType != b.PatternType {
			r := kmsg.NewDescribeACLsResponseResource()
			r.ResourceType, r.ResourceName, r.ResourcePatternType = b.ResourceType, b.ResourceName, b.PatternType
			resp.Resources = append(resp.Resources, r)
			n++
		}
		a := kmsg.NewDescribeACLsResponseResourceACL()
		a.Principal, a.Host, a.Operation, a.PermissionType = b.Principal, b.Host, b.Operation, b.Permission
		resp.Resources[n-1].ACLs = append(resp.Resources[n-1].ACLs, a)
	}
	return resp
}
