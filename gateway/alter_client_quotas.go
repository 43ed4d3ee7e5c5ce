package gateway

// AlterClientQuotas, versions 0-1 (KIP-546).
//
// Sets or removes client quotas (producer_byte_rate, consumer_byte_rate,
// request_percentage, controller_mutation_rate for users and client-ids;
// connection_creation_rate for ips) of entities of a user, a client-id,
// both, or an ip, each named or the type's default (a null name). Kafka's
// controller's rules, each INVALID_REQUEST with its message for that
// entity only: an unknown key, a value not above zero or a fraction of a
// byte rate, an ip with a user or client-id, an empty entity or name, an
// unknown entity type, a key or an entity twice. validate_only checks
// without storing. Past 10,000 values in one request every entry gets
// POLICY_VIOLATION, as Kafka's controller refuses so large a batch. The
// change applies on every gateway within a second. Needs ALTER_CONFIGS on
// the cluster (CLUSTER_AUTHORIZATION_FAILED for every entry).

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/gateway/quota"
)

func init() { register(kmsg.AlterClientQuotas, 0, 1, serveAlterClientQuotas) }

func serveAlterClientQuotas(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.AlterClientQuotasRequest)
	resp := req.ResponseKind().(*kmsg.AlterClientQuotasResponse)
	if !c.allowedCluster(kmsg.ACLOperationAlterConfigs) {
		resp.Entries = failAlterClientQuotas(req, kerr.ClusterAuthorizationFailed.Code, nil)
		return resp
	}
	alts := make([]quota.Alteration, len(req.Entries))
	for i, e := range req.Entries {
		for _, ent := range e.Entity {
			alts[i].Entity = append(alts[i].Entity, quota.Part{Type: ent.Type, Name: ent.Name})
		}
		for _, op := range e.Ops {
			alts[i].Ops = append(alts[i].Ops, quota.Op{Key: op.Key, Value: op.Value, Remove: op.Remove})
		}
	}
	results, err := c.g.quotas.Alter(c.ctx, alts, req.ValidateOnly)
	if err != nil {
		code, msg := quotaError(err)
		resp.Entries = failAlterClientQuotas(req, code, msg)
		return resp
	}
	for _, r := range results {
		re := kmsg.NewAlterClientQuotasResponseEntry()
		re.ErrorCode, re.ErrorMessage = quotaError(r.Err)
		for _, p := range r.Entity {
			ent := kmsg.NewAlterClientQuotasResponseEntryEntity()
			ent.Type, ent.Name = p.Type, p.Name
			re.Entity = append(re.Entity, ent)
		}
		if r.Err == nil && !req.ValidateOnly {
			c.g.log.Info("altered client quotas", "entity", r.Entity, "principal", c.principal)
		}
		resp.Entries = append(resp.Entries, re)
	}
	return resp
}

// failAlterClientQuotas answers every entry of the request with one
// error, echoing its entity as sent, as Kafka's getErrorResponse does.
func failAlterClientQuotas(req *kmsg.AlterClientQuotasRequest, code int16, msg *string) []kmsg.AlterClientQuotasResponseEntry {
	out := make([]kmsg.AlterClientQuotasResponseEntry, len(req.Entries))
	for i, e := range req.Entries {
		out[i] = kmsg.NewAlterClientQuotasResponseEntry()
		out[i].ErrorCode, out[i].ErrorMessage = code, msg
		for _, ent := range e.Entity {
			re := kmsg.NewAlterClientQuotasResponseEntryEntity()
			re.Type, re.Name = ent.Type, ent.Name
			out[i].Entity = append(out[i].Entity, re)
		}
	}
	return out
}
