package gateway

// EndTxn, versions 0–5.
//
// Commits or aborts a producer's transaction on its coordinator and
// answers once the markers are written and committed to every partition,
// so a read_committed consumer sees the outcome as soon as the producer
// does. v5 is transaction version 2 (KIP-890): the epoch is bumped at
// every EndTxn and the new producer id and epoch are returned. Ending a
// transaction that is not open is INVALID_TXN_STATE; a retry of one that
// completed gets the same answer.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.EndTxn, 0, 5, serveEndTxn) }

func serveEndTxn(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.EndTxnRequest)
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if !c.allowed(kmsg.ACLOperationWrite, txnResource, req.TransactionalID) {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp
	}
	pid, epoch, err := c.g.txn.EndTxn(c.ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit, req.Version >= 5)
	resp.ErrorCode = txnErrCodeSince(req.Version, 2, err)
	if err == nil {
		resp.ProducerID, resp.ProducerEpoch = pid, epoch
	}
	return resp
}
