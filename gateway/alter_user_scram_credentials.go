package gateway

// AlterUserScramCredentials, version 0 (KIP-554).
//
// Sets users' SCRAM credentials from the salt and salted password the
// client derived (kafka-configs --add-config 'SCRAM-SHA-512=[password=…]'),
// or deletes them; the password never reaches the gateway, and the store
// keeps the derived keys only. Kafka's rules: a user named twice in one
// request gets DUPLICATE_RESOURCE, deleting a missing credential
// RESOURCE_NOT_FOUND, an unknown mechanism UNSUPPORTED_SASL_MECHANISM,
// iterations outside [4096, 16384] or an empty name
// UNACCEPTABLE_CREDENTIAL. Needs ALTER on the cluster
// (CLUSTER_AUTHORIZATION_FAILED).

import (
	"github.com/caudal/caudal/gateway/auth"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.AlterUserSCRAMCredentials, 0, 0, serveAlterUserSCRAMCredentials) }

func serveAlterUserSCRAMCredentials(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.AlterUserSCRAMCredentialsRequest)
	resp := req.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	denied := !c.allowedCluster(kmsg.ACLOperationAlter)
	var dels []auth.ScramDeletion
	for _, d := range req.Deletions {
		dels = append(dels, auth.ScramDeletion{User: d.Name, Mechanism: auth.ScramMechanismName(d.Mechanism)})
	}
	var ups []auth.ScramUpsertion
	for _, u := range req.Upsertions {
		ups = append(ups, auth.ScramUpsertion{User: u.Name, Mechanism: auth.ScramMechanismName(u.Mechanism),
			Iterations: int(u.Iterations), Salt: u.Salt, SaltedPassword: u.SaltedPassword})
	}
	if denied {
		seen := map[string]bool{}
		for _, name := range userNames(dels, ups) {
			if !seen[name] {
				seen[name] = true
				r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
				r.User, r.ErrorCode = name, kerr.ClusterAuthorizationFailed.Code
				resp.Results = append(resp.Results, r)
			}
		}
		return resp
	}
	for _, res := range c.g.users.Alter(c.ctx, dels, ups) {
		r := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		r.User = res.User
		r.ErrorCode, r.ErrorMessage = errCode(res.Err), errMessage(res.Err)
		if res.Err == nil {
			c.g.log.Info("altered SCRAM credentials", "user", res.User, "principal", c.principal)
		}
		resp.Results = append(resp.Results, r)
	}
	return resp
}

func userNames(dels []auth.ScramDeletion, ups []auth.ScramUpsertion) []string {
	var out []string
	for _, d := range dels {
		out = append(out, d.User)
	}
	for _, u := range ups {
		out = append(out, u.User)
	}
	return out
}
