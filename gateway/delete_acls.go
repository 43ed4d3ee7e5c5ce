package gateway

// DeleteAcls, versions 0–3.
//
// Deletes, in one transaction, the ACL bindings that any of the filters
// selects, and lists per filter what it deleted (a binding two filters
// select is listed under both, as in Kafka). Needs ALTER on the cluster
// (CLUSTER_AUTHORIZATION_FAILED); without an authorizer every filter gets
// SECURITY_DISABLED. A filter Kafka would refuse gets INVALID_REQUEST.
// Version 0 filters LITERAL patterns only.

import (
	"github.com/caudal/caudal/gateway/acl"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DeleteACLs, 0, 3, serveDeleteACLs) }

func serveDeleteACLs(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DeleteACLsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
	code := aclAdminCode(c, kmsg.ACLOperationAlter)
	filters := make([]acl.Filter, len(req.Filters))
	for i, f := range req.Filters {
		pattern := f.ResourcePatternType
		if req.Version == 0 {
			pattern = kmsg.ACLResourcePatternTypeLiteral
		}
		filters[i] = acl.Filter{ResourceType: f.ResourceType, ResourceName: f.ResourceName, PatternType: pattern,
			Principal: f.Principal, Host: f.Host, Operation: f.Operation, Permission: f.PermissionType}
	}
	var (
		deleted [][]acl.Binding
		errs    []error
	)
	if code == 0 {
		deleted, errs = c.g.acl.Delete(c.ctx, filters)
	}
	for i := range req.Filters {
		r := kmsg.NewDeleteACLsResponseResult()
		r.ErrorCode = code
		if code == 0 && errs[i] != nil {
			r.ErrorCode, r.ErrorMessage = errCode(errs[i]), errMessage(errs[i])
		}
		if code == 0 {
			for _, b := range deleted[i] {
				m := kmsg.NewDeleteACLsResponseResultMatchingACL()
				m.ResourceType, m.ResourceName, m.ResourcePatternType = b.ResourceType, b.ResourceName, b.PatternType
				m.Principal, m.Host, m.Operation, m.PermissionType = b.Principal, b.Host, b.Operation, b.Permission
				r.MatchingACLs = append(r.MatchingACLs, m)
			}
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}
