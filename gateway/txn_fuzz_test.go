package gateway

import (
	"github.com/caudal/caudal/segments/segmentstest"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fuzz seeds of the transaction APIs (fuzz_test.go).
func init() {
	seedBuilders[kmsg.AddPartitionsToTxn] = func() kmsg.Request {
		r := kmsg.NewPtrAddPartitionsToTxnRequest()
		r.TransactionalID, r.ProducerID, r.ProducerEpoch = "fuzz-txn", 1, 0
		t := kmsg.NewAddPartitionsToTxnRequestTopic()
		t.Topic, t.Partitions = "fuzz", []int32{0, 1}
		r.Topics = append(r.Topics, t)
		tx := kmsg.NewAddPartitionsToTxnRequestTransaction()
		tx.TransactionalID, tx.ProducerID, tx.VerifyOnly = "fuzz-txn", 1, true
		tt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
		tt.Topic, tt.Partitions = "fuzz", []int32{0}
		tx.Topics = append(tx.Topics, tt)
		r.Transactions = append(r.Transactions, tx)
		return r
	}
	seedBuilders[kmsg.AddOffsetsToTxn] = func() kmsg.Request {
		r := kmsg.NewPtrAddOffsetsToTxnRequest()
		r.TransactionalID, r.ProducerID, r.Group = "fuzz-txn", 1, "fuzz-group"
		return r
	}
	seedBuilders[kmsg.EndTxn] = func() kmsg.Request {
		r := kmsg.NewPtrEndTxnRequest()
		r.TransactionalID, r.ProducerID, r.Commit = "fuzz-txn", 1, true
		return r
	}
	seedBuilders[kmsg.TxnOffsetCommit] = func() kmsg.Request {
		r := kmsg.NewPtrTxnOffsetCommitRequest()
		r.TransactionalID, r.Group, r.ProducerID, r.Generation, r.MemberID = "fuzz-txn", "fuzz-group", 1, -1, ""
		t := kmsg.NewTxnOffsetCommitRequestTopic()
		t.Topic = "fuzz"
		p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		p.Offset = 1
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		return r
	}
	seedBuilders[kmsg.DescribeTransactions] = func() kmsg.Request {
		r := kmsg.NewPtrDescribeTransactionsRequest()
		r.TransactionalIDs = []string{"fuzz-txn"}
		return r
	}
	seedBuilders[kmsg.ListTransactions] = func() kmsg.Request {
		r := kmsg.NewPtrListTransactionsRequest()
		r.StateFilters, r.ProducerIDFilters = []string{"Ongoing"}, []int64{1}
		r.DurationFilterMillis, r.TransactionalIDPattern = 0, kmsg.StringPtr("fuzz-.*")
		return r
	}
	seedBuilders[kmsg.DescribeProducers] = func() kmsg.Request {
		r := kmsg.NewPtrDescribeProducersRequest()
		t := kmsg.NewDescribeProducersRequestTopic()
		t.Topic, t.Partitions = "fuzz", []int32{0, 1}
		r.Topics = append(r.Topics, t)
		return r
	}
	seedBuilders[kmsg.WriteTxnMarkers] = func() kmsg.Request {
		r := kmsg.NewPtrWriteTxnMarkersRequest()
		m := kmsg.NewWriteTxnMarkersRequestMarker()
		m.ProducerID, m.ProducerEpoch, m.TransactionVersion = 1, 0, 2
		t := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
		t.Topic, t.Partitions = "fuzz", []int32{0}
		m.Topics = append(m.Topics, t)
		r.Markers = append(r.Markers, m)
		return r
	}
	prev := seedBuilders[kmsg.InitProducerID]
	seedBuilders[kmsg.InitProducerID] = func() kmsg.Request {
		r := prev().(*kmsg.InitProducerIDRequest)
		r.TransactionalID, r.TransactionTimeoutMillis = kmsg.StringPtr("fuzz-txn"), 60000
		return r
	}
	prevProduce := seedBuilders[kmsg.Produce]
	seedBuilders[kmsg.Produce] = func() kmsg.Request {
		r := prevProduce().(*kmsg.ProduceRequest)
		r.TransactionID = kmsg.StringPtr("fuzz-txn")
		r.Topics[0].Partitions[0].Records = segmentstest.Batch("txn")
		return r
	}
}
