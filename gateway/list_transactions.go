package gateway

// ListTransactions, versions 0–2.
//
// Lists the transactional ids this gateway coordinates, as a Kafka broker
// lists those of its transaction log partitions (the admin client asks
// every broker). Filters, all optional and combined: states (names
// Kafka does not know come back in UnknownStateFilters; Kafka's
// PrepareEpochFence and Dead are known and match nothing here, since
// caudal never enters them), producer ids, v1+ a duration (only
// transactions open for longer than DurationFilterMillis; one with no
// open transaction has run for no time), and v2+ a regular expression
// (RE2, as Kafka's RE2J) that the whole transactional id must match; an
// invalid one is INVALID_REQUEST. Only ids the principal may DESCRIBE are
// listed.

import (
	"regexp"
	"slices"

	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.ListTransactions, 0, 2, serveListTransactions) }

// kafkaTxnStates are the states Kafka's TransactionState knows by name.
var kafkaTxnStates = []string{
	string(metadata.TxnEmpty), string(metadata.TxnOngoing), string(metadata.TxnPrepareCommit), string(metadata.TxnPrepareAbort),
	string(metadata.TxnCompleteCommit), string(metadata.TxnCompleteAbort), "PrepareEpochFence", "Dead",
}

func serveListTransactions(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.ListTransactionsRequest)
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	var pattern *regexp.Regexp
	if req.TransactionalIDPattern != nil && *req.TransactionalIDPattern != "" {
		var err error
		if pattern, err = regexp.Compile("^(?:" + *req.TransactionalIDPattern + ")$"); err != nil {
			resp.ErrorCode = kerr.InvalidRequest.Code
			return resp
		}
	}
	var states []metadata.TxnState
	for _, s := range req.StateFilters {
		switch {
		case !slices.Contains(kafkaTxnStates, s):
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, s)
		case !slices.Contains(states, metadata.TxnState(s)):
			states = append(states, metadata.TxnState(s))
		}
	}
	if len(req.StateFilters) > 0 && len(states) == 0 {
		return resp // no state asked for exists
	}
	listed, err := c.g.store.ListTransactions(c.ctx, states...)
	if err != nil {
		resp.ErrorCode = groupErrCode(err)
		return resp
	}
	now := c.g.cfg.Now().UnixMilli()
	for _, t := range listed {
		switch {
		case !c.g.cluster.Coordinates(t.ID),
			len(req.ProducerIDFilters) > 0 && !slices.Contains(req.ProducerIDFilters, t.ProducerID),
			req.DurationFilterMillis >= 0 && (t.StartedAt.IsZero() || now-t.StartedAt.UnixMilli() <= req.DurationFilterMillis),
			pattern != nil && !pattern.MatchString(t.ID),
			!c.allowed(kmsg.ACLOperationDescribe, txnResource, t.ID):
			continue
		}
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = t.ID, t.ProducerID, string(t.State)
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp
}
