package gateway

// CreateAcls, versions 0–3.
//
// Stores Kafka ACL bindings (gateway/acl); they apply on this gateway at
// once and on the others within a second. Creating a binding that exists
// is no error. Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED);
// without an authorizer every creation gets SECURITY_DISABLED. A binding
// Kafka would refuse (ANY or MATCH, a principal not "Type:name", a
// cluster not named kafka-cluster) gets INVALID_REQUEST, and version 0
// takes LITERAL patterns only.

import (
	"github.com/caudal/caudal/gateway/acl"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.CreateACLs, 0, 3, serveCreateACLs) }

func serveCreateACLs(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.CreateACLsRequest)
	resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
	code := aclAdminCode(c, kmsg.ACLOperationAlter)
	bindings := make([]acl.Binding, len(req.Creations))
	for i, cr := range req.Creations {
		pattern := cr.ResourcePatternType
		if req.Version == 0 {
			pattern = kmsg.ACLResourcePatternTypeLiteral
		}
		bindings[i] = acl.Binding{ResourceType: cr.ResourceType, ResourceName: cr.ResourceName, PatternType: pattern,
			Principal: cr.Principal, Host: cr.Host, Operation: cr.Operation, Permission: cr.PermissionType}
	}
	var errs []error
	if code == 0 {
		errs = c.g.acl.Create(c.ctx, bindings)
	}
	for i := range req.Creations {
		r := kmsg.NewCreateACLsResponseResult()
		r.ErrorCode = code
		if code == 0 && errs[i] != nil {
			r.ErrorCode, r.ErrorMessage = errCode(errs[i]), errMessage(errs[i])
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}

// aclAdminCode is the error of an ACL request the principal needs op on
// the cluster for: SECURITY_DISABLED without an authorizer.
func aclAdminCode(c *conn, op kmsg.ACLOperation) int16 {
	switch {
	case c.g.acl == nil:
		return kerr.SecurityDisabled.Code
	case !c.allowedCluster(op):
		return kerr.ClusterAuthorizationFailed.Code
	}
	return 0
}
