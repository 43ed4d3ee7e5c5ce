package gateway

// InitProducerId, versions 0–4.
//
// Without a transactional id: a cluster-unique producer id with epoch 0 for
// an idempotent producer; sequences are checked in the metadata store, so
// they hold across gateways and restarts, and a producer that
// re-initialises gets a new id.
//
// With one, on its coordinator (NOT_COORDINATOR elsewhere): the id's
// producer id with its epoch bumped, which fences older producers; an open
// transaction of the id is aborted first. transaction_timeout_ms above
// transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT. From v3 a
// producer may pass its current id and epoch to recover (KIP-360);
// another's get PRODUCER_FENCED (INVALID_PRODUCER_EPOCH before v4, as
// Kafka answers older clients).

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
		if !c.allowed(kmsg.ACLOperationWrite, txnResource, *req.TransactionalID) {
			resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			return resp
		}
		id, epoch, err := c.g.txn.InitProducerID(c.ctx, *req.TransactionalID, req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch)
		resp.ErrorCode = txnErrCodeSince(req.Version, 4, err)
		if err == nil {
			resp.ProducerID, resp.ProducerEpoch = id, epoch
		}
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

// txnErrCodeSince maps a transaction coordinator's error for a request of
// the given version: PRODUCER_FENCED is INVALID_PRODUCER_EPOCH to clients
// that predate it (InitProducerId < 4, AddPartitionsToTxn < 2, EndTxn < 2
// and the like: version < fencedSince), and an unreachable store is
// COORDINATOR_NOT_AVAILABLE, which clients retry.
func txnErrCodeSince(version, fencedSince int16, err error) int16 {
	return fencedFor(version, fencedSince, groupErrCode(err))
}

// fencedFor is code as a client of version knows it.
func fencedFor(version, fencedSince, code int16) int16 {
	if code == kerr.ProducerFenced.Code && version < fencedSince {
		return kerr.InvalidProducerEpoch.Code
	}
	return code
}
