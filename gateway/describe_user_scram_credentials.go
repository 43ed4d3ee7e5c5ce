package gateway

// DescribeUserScramCredentials, version 0 (KIP-554).
//
// Lists the SCRAM mechanisms and iteration counts of the users asked for,
// or of every user with one when none are named; never a salt or a key.
// A user without credentials gets RESOURCE_NOT_FOUND, one named twice
// DUPLICATE_RESOURCE. Needs DESCRIBE on the cluster
// (CLUSTER_AUTHORIZATION_FAILED).

import (
	"github.com/caudal/caudal/gateway/auth"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeUserSCRAMCredentials, 0, 0, serveDescribeUserSCRAMCredentials) }

func serveDescribeUserSCRAMCredentials(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DescribeUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if !c.allowedCluster(kmsg.ACLOperationDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp
	}
	names := make([]string, len(req.Users))
	for i, u := range req.Users {
		names[i] = u.Name
	}
	users, err := c.g.users.Describe(c.ctx, names)
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = errCode(err), errMessage(err)
		return resp
	}
	for _, u := range users {
		r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		r.User = u.User
		r.ErrorCode, r.ErrorMessage = errCode(u.Err), errMessage(u.Err)
		for _, cr := range u.Credentials {
			info := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
			info.Mechanism, info.Iterations = auth.ScramMechanismType(cr.Mechanism), int32(cr.Iterations)
			r.CredentialInfos = append(r.CredentialInfos, info)
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}
