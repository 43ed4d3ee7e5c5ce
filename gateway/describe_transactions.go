package gateway

// DescribeTransactions, version 0.
//
// Describes transactional ids on their coordinator, from the state the
// coordinator keeps in the metadata store: state, timeout, the open
// transaction's start time (-1 when none is open), producer id and epoch,
// and the partitions in the transaction (those that still await their
// marker), with topic names from the topic cache. An id another gateway
// coordinates is NOT_COORDINATOR, an empty one INVALID_REQUEST, an unknown
// one TRANSACTIONAL_ID_NOT_FOUND. Each id needs DESCRIBE
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), and topics the principal may
// not DESCRIBE are left out of the answer, as Kafka does. A request with
// more than maxAdminItems ids is answered INVALID_REQUEST for each,
// without reading the store.

import (
	"errors"

	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeTransactions, 0, 0, serveDescribeTransactions) }

// maxAdminItems bounds the ids or partitions one transaction admin request
// may name, so that a hostile count cannot make a gateway run millions of
// store queries or marker writes for one request.
const maxAdminItems = 10_000

func serveDescribeTransactions(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DescribeTransactionsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	tooMany := len(req.TransactionalIDs) > maxAdminItems
	for _, id := range req.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID, st.StartTimestamp, st.ProducerID, st.ProducerEpoch = id, -1, -1, -1
		switch {
		case tooMany || id == "":
			st.ErrorCode = kerr.InvalidRequest.Code
		case !c.allowed(kmsg.ACLOperationDescribe, txnResource, id):
			st.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		case !c.g.cluster.Coordinates(id):
			st.ErrorCode = kerr.NotCoordinator.Code
		default:
			c.describeTransaction(&st)
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp
}

// describeTransaction fills st from the stored state of its id.
func (c *conn) describeTransaction(st *kmsg.DescribeTransactionsResponseTransactionState) {
	t, err := c.g.store.Transaction(c.ctx, st.TransactionalID)
	if errors.Is(err, metadata.ErrNotFound) {
		st.ErrorCode = kerr.TransactionalIDNotFound.Code
		return
	} else if err != nil {
		st.ErrorCode = groupErrCode(err)
		return
	}
	st.State, st.TimeoutMillis = string(t.State), t.TimeoutMs
	st.ProducerID, st.ProducerEpoch = t.ProducerID, t.Epoch
	if !t.StartedAt.IsZero() {
		st.StartTimestamp = t.StartedAt.UnixMilli()
	}
	st.Topics = c.describedTxnTopics(t.Partitions)
}

// describedTxnTopics groups a transaction's partitions by topic name, in
// the stored order (by topic id, then partition). A topic deleted since it
// joined, or one the principal may not DESCRIBE, is left out.
func (c *conn) describedTxnTopics(parts []metadata.TxnPartition) []kmsg.DescribeTransactionsResponseTransactionStateTopic {
	var out []kmsg.DescribeTransactionsResponseTransactionStateTopic
	for _, p := range parts {
		tp, err := c.g.topics.ByID(c.ctx, p.Topic)
		if err != nil || !c.allowed(kmsg.ACLOperationDescribe, topicResource, tp.Name) {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Topic == tp.Name {
			out[n-1].Partitions = append(out[n-1].Partitions, p.Partition)
			continue
		}
		t := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
		t.Topic, t.Partitions = tp.Name, []int32{p.Partition}
		out = append(out, t)
	}
	return out
}
