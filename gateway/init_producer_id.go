package gateway

// InitProducerId, versions 0–4.
//
// Gives idempotent producers a cluster-unique producer id with epoch 0;
// sequences are checked in the metadata store, so they hold across
// gateways and restarts. A producer that re-initialises gets a new id.
// Transactional ids are refused: caudal serves no transactions.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.InitProducerID, 0, 4, serveInitProducerID) }

func serveInitProducerID(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.InitProducerIDRequest)
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID != nil {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp
	}
	// As Kafka: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic.
	if !c.allowedCluster(kmsg.ACLOperationIdempotentWrite) && !c.allowedOnAny(kmsg.ACLOperationWrite, topicResource) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp
	}
	id, err := c.g.store.AllocateProducerID(c.ctx)
	if err != nil {
		resp.ErrorCode = errCode(err)
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp
}
