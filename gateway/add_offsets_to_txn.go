package gateway

// AddOffsetsToTxn, versions 0–4.
//
// Adds a consumer group to a transaction on its coordinator, so that the
// group's coordinator accepts TxnOffsetCommit for it; the offsets become
// the group's when the transaction commits. Needs WRITE on the
// transactional id and READ on the group.

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.AddOffsetsToTxn, 0, 4, serveAddOffsetsToTxn) }

func serveAddOffsetsToTxn(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.AddOffsetsToTxnRequest)
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	switch {
	case !c.allowed(kmsg.ACLOperationWrite, txnResource, req.TransactionalID):
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
	case !c.allowed(kmsg.ACLOperationRead, groupResource, req.Group):
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
	default:
		err := c.g.txn.AddGroup(c.ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group)
		resp.ErrorCode = txnErrCodeSince(req.Version, 2, err)
	}
	return resp
}
