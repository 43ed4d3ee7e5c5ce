package gateway

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestOffsetFetchRequireStable: an offset staged by an open transaction
// is UNSTABLE_OFFSET_COMMIT to a fetch that requires stable offsets (v7
// and the v8+ group form) and invisible to one that does not, until the
// transaction commits.
func TestOffsetFetchRequireStable(t *testing.T) {
	c := testConn(t, newTestGateway(t))
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("stable"), 60000
	ir := serveRequest(t, c, init).(*kmsg.InitProducerIDResponse)
	if ir.ErrorCode != 0 {
		t.Fatalf("init: %v", kerr.ErrorForCode(ir.ErrorCode))
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "stable", ir.ProducerID, ir.ProducerEpoch, "g"
	if ar := serveRequest(t, c, add).(*kmsg.AddOffsetsToTxnResponse); ar.ErrorCode != 0 {
		t.Fatalf("add offsets: %v", kerr.ErrorForCode(ar.ErrorCode))
	}
	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch, commit.Generation = "stable", "g", ir.ProducerID, ir.ProducerEpoch, -1
	ct := kmsg.NewTxnOffsetCommitRequestTopic()
	ct.Topic = "fuzz"
	cp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	cp.Offset = 5
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	if cr := serveRequest(t, c, commit).(*kmsg.TxnOffsetCommitResponse); cr.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("txn offset commit: %v", kerr.ErrorForCode(cr.Topics[0].Partitions[0].ErrorCode))
	}

	fetch := func(version int16, stable bool) (int64, int16) {
		t.Helper()
		req := kmsg.NewPtrOffsetFetchRequest()
		req.SetVersion(version)
		req.RequireStable = stable
		if version >= 8 {
			rg := kmsg.NewOffsetFetchRequestGroup()
			rg.Group = "g"
			rt := kmsg.NewOffsetFetchRequestGroupTopic()
			rt.Topic, rt.Partitions = "fuzz", []int32{0}
			rg.Topics = append(rg.Topics, rt)
			req.Groups = append(req.Groups, rg)
		} else {
			req.Group = "g"
			rt := kmsg.NewOffsetFetchRequestTopic()
			rt.Topic, rt.Partitions = "fuzz", []int32{0}
			req.Topics = append(req.Topics, rt)
		}
		resp := serveRequest(t, c, req).(*kmsg.OffsetFetchResponse)
		if version >= 8 {
			p := resp.Groups[0].Topics[0].Partitions[0]
			return p.Offset, p.ErrorCode
		}
		p := resp.Topics[0].Partitions[0]
		return p.Offset, p.ErrorCode
	}
	for _, v := range []int16{7, 9} {
		if off, code := fetch(v, true); off != -1 || code != kerr.UnstableOffsetCommit.Code {
			t.Errorf("v%d require_stable with the transaction open: offset %d, %v", v, off, kerr.ErrorForCode(code))
		}
		if off, code := fetch(v, false); off != -1 || code != 0 {
			t.Errorf("v%d with the transaction open: offset %d, %v", v, off, kerr.ErrorForCode(code))
		}
	}
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "stable", ir.ProducerID, ir.ProducerEpoch, true
	end.SetVersion(4)
	if er := serveRequest(t, c, end).(*kmsg.EndTxnResponse); er.ErrorCode != 0 {
		t.Fatalf("end: %v", kerr.ErrorForCode(er.ErrorCode))
	}
	for _, v := range []int16{7, 9} {
		if off, code := fetch(v, true); off != 5 || code != 0 {
			t.Errorf("v%d require_stable after the commit: offset %d, %v", v, off, kerr.ErrorForCode(code))
		}
	}
}
