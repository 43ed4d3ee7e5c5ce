package gateway

// DescribeClientQuotas, versions 0-1 (KIP-546).
//
// Lists the client quotas whose entities match the filter, as a Kafka
// broker answers from its metadata image: an exact name, a type's
// default entity, or any entity of a type; strict leaves out entities
// with parts the filter does not name. The answer comes from the quotas
// this gateway has loaded, which follow a change on any gateway within a
// second. A bad filter gets INVALID_REQUEST with Kafka's message, an
// unknown entity type UNSUPPORTED_VERSION. Needs DESCRIBE_CONFIGS on the
// cluster (CLUSTER_AUTHORIZATION_FAILED).

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/gateway/quota"
)

func init() { register(kmsg.DescribeClientQuotas, 0, 1, serveDescribeClientQuotas) }

func serveDescribeClientQuotas(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DescribeClientQuotasRequest)
	resp := req.ResponseKind().(*kmsg.DescribeClientQuotasResponse)
	if !c.allowedCluster(kmsg.ACLOperationDescribeConfigs) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp
	}
	components := make([]quota.Component, len(req.Components))
	for i, comp := range req.Components {
		components[i] = quota.Component{Type: comp.EntityType, MatchType: int8(comp.MatchType), Match: comp.Match}
	}
	entries, err := c.g.quotas.Describe(components, req.Strict)
	if err != nil {
		resp.ErrorCode, resp.ErrorMessage = quotaError(err)
		return resp
	}
	for _, e := range entries {
		re := kmsg.NewDescribeClientQuotasResponseEntry()
		for _, p := range e.Entity {
			ent := kmsg.NewDescribeClientQuotasResponseEntryEntity()
			ent.Type, ent.Name = p.Type, p.Name
			re.Entity = append(re.Entity, ent)
		}
		for _, k := range e.SortedKeys() {
			v := kmsg.NewDescribeClientQuotasResponseEntryValue()
			v.Key, v.Value = k, e.Values[k]
			re.Values = append(re.Values, v)
		}
		resp.Entries = append(resp.Entries, re)
	}
	return resp
}

// quotaError is the code and message for gateway/quota's errors: Kafka's
// rules broken say which in Kafka's words. Nil is no error.
func quotaError(err error) (int16, *string) {
	var code *kerr.Error
	switch {
	case err == nil:
		return 0, nil
	case errors.Is(err, quota.ErrInvalid):
		code = kerr.InvalidRequest
	case errors.Is(err, quota.ErrUnsupportedEntityType):
		code = kerr.UnsupportedVersion
	case errors.Is(err, quota.ErrTooManyChanges):
		code = kerr.PolicyViolation
	default:
		return errCode(err), errMessage(err)
	}
	msg := err.Error()
	return code.Code, &msg
}
