package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestTxnHostileRequests: lying counts in the transaction APIs close the
// connection, and a transaction of too many partitions is refused whole
// without touching the store.
func TestTxnHostileRequests(t *testing.T) {
	g := newTestGateway(t)
	addr := serveTestGateway(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := testClient(t, addr)
	br := cl.SeedBrokers()[0]

	for _, tc := range []struct {
		name    string
		key     kmsg.Key
		version int16
	}{
		{"AddPartitionsToTxn transactions", kmsg.AddPartitionsToTxn, 5},
		{"TxnOffsetCommit id", kmsg.TxnOffsetCommit, 5},
		{"EndTxn id", kmsg.EndTxn, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sendExpectClosed(t, addr, append(header(int16(tc.key), tc.version, 1), hugeCompactArray...))
		})
	}

	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("hostile"), 60000
	ir, err := init.RequestWith(ctx, br)
	if err != nil || ir.ErrorCode != 0 {
		t.Fatalf("init: %v %+v", err, ir)
	}
	// The broker-to-coordinator form (v4+), which is what a client
	// negotiating the newest version sends.
	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	at := kmsg.NewAddPartitionsToTxnRequestTransaction()
	at.TransactionalID, at.ProducerID, at.ProducerEpoch = "hostile", ir.ProducerID, ir.ProducerEpoch
	rt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
	rt.Topic = "fuzz"
	for range maxTxnPartitions + 1 {
		rt.Partitions = append(rt.Partitions, 0)
	}
	at.Topics = append(at.Topics, rt)
	add.Transactions = append(add.Transactions, at)
	resp, err := add.RequestWith(ctx, br)
	if err != nil || len(resp.Transactions) != 1 {
		t.Fatalf("oversized AddPartitionsToTxn: %v %d", err, len(resp.Transactions))
	}
	for _, p := range resp.Transactions[0].Topics[0].Partitions {
		if p.ErrorCode != kerr.InvalidRequest.Code {
			t.Fatalf("partition of an oversized AddPartitionsToTxn: %v", kerr.ErrorForCode(p.ErrorCode))
		}
	}
	tx, err := g.store.Transaction(ctx, "hostile")
	if err != nil || tx.State != "Empty" || len(tx.Partitions) != 0 {
		t.Fatalf("transaction after the refused request: %+v, %v", tx, err)
	}
}
