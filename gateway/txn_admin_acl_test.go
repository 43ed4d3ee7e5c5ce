package gateway_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnAdminView is what a principal gets of transaction "tx-acl" on
// partition 0 of "t" through the transaction admin APIs.
type txnAdminView struct {
	describe, producers, markers int16
	listed, topics               int
}

func viewTxnAdmin(t *testing.T, cl *kgo.Client, pid int64, epoch int16) txnAdminView {
	t.Helper()
	br := cl.SeedBrokers()[0]
	var v txnAdminView
	dt := kmsg.NewPtrDescribeTransactionsRequest()
	dt.TransactionalIDs = []string{"tx-acl"}
	dresp, err := dt.RequestWith(ctx10(t), br)
	if err != nil {
		t.Fatal(err)
	}
	v.describe, v.topics = dresp.TransactionStates[0].ErrorCode, len(dresp.TransactionStates[0].Topics)
	lresp, err := kmsg.NewPtrListTransactionsRequest().RequestWith(ctx10(t), br)
	if err != nil {
		t.Fatal(err)
	}
	v.listed = len(lresp.TransactionStates)
	dp := kmsg.NewPtrDescribeProducersRequest()
	dp.Topics = []kmsg.DescribeProducersRequestTopic{{Topic: "t", Partitions: []int32{0}}}
	presp, err := dp.RequestWith(ctx10(t), br)
	if err != nil {
		t.Fatal(err)
	}
	v.producers = presp.Topics[0].Partitions[0].ErrorCode
	// A COMMIT with a stale epoch: a principal allowed to send it is
	// refused INVALID_PRODUCER_EPOCH and the transaction stays open.
	wm := kmsg.NewPtrWriteTxnMarkersRequest()
	wm.Markers = []kmsg.WriteTxnMarkersRequestMarker{{ProducerID: pid, ProducerEpoch: epoch - 1, Committed: true,
		Topics: []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "t", Partitions: []int32{0}}}}}
	mresp, err := wm.RequestWith(ctx10(t), br)
	if err != nil {
		t.Fatal(err)
	}
	v.markers = mresp.Markers[0].Topics[0].Partitions[0].ErrorCode
	return v
}

// As in Kafka: DescribeTransactions needs DESCRIBE on the transactional
// id and leaves out topics without DESCRIBE, ListTransactions lists only
// such ids, DescribeProducers needs READ on the topic and WriteTxnMarkers
// CLUSTER_ACTION (or ALTER) on the cluster.
func TestTxnAdminACLs(t *testing.T) {
	e := newACLEnv(t)
	addr, _ := e.gateway()
	admin := client(t, addr, "admin")
	adm := kadm.NewClient(admin)
	if _, err := adm.CreateTopic(ctx10(t), 1, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	prod := client(t, addr, "admin", kgo.TransactionalID("tx-acl"), kgo.TransactionTimeout(10*time.Minute), kgo.DefaultProduceTopic("t"))
	for _, commit := range []bool{true, false} { // the second stays open; the first leaves a stale epoch
		if err := prod.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := prod.ProduceSync(ctx10(t), &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if commit {
			if err := prod.EndTransaction(ctx10(t), kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
		}
	}
	described, err := adm.DescribeTransactions(ctx10(t), "tx-acl")
	d := described["tx-acl"]
	if err != nil || d.Err != nil || d.ProducerEpoch < 1 {
		t.Fatalf("describe as admin: %v %+v", err, d)
	}

	stale := kerr.InvalidProducerEpoch.Code
	if v := viewTxnAdmin(t, admin, d.ProducerID, d.ProducerEpoch); v != (txnAdminView{listed: 1, topics: 1, markers: stale}) {
		t.Fatalf("super user: %+v", v)
	}
	alice := client(t, addr, "alice")
	want := txnAdminView{describe: kerr.TransactionalIDAuthorizationFailed.Code, producers: kerr.TopicAuthorizationFailed.Code,
		markers: kerr.ClusterAuthorizationFailed.Code}
	if v := viewTxnAdmin(t, alice, d.ProducerID, d.ProducerEpoch); v != want {
		t.Fatalf("alice without ACLs: %+v, want %+v", v, want)
	}

	res, err := adm.CreateACLs(ctx10(t), kadm.NewACLs().Allow("User:alice").TransactionalIDs("tx-acl").Operations(kadm.OpDescribe))
	if err != nil || res[0].Err != nil {
		t.Fatalf("grant DESCRIBE on tx-acl: %v %v", err, res)
	}
	res, err = adm.CreateACLs(ctx10(t), kadm.NewACLs().Allow("User:alice").Clusters().Operations(kadm.OpClusterAction))
	if err != nil || res[0].Err != nil {
		t.Fatalf("grant CLUSTER_ACTION: %v %v", err, res)
	}
	want = txnAdminView{listed: 1, producers: kerr.TopicAuthorizationFailed.Code, markers: stale}
	eventually(t, "alice with DESCRIBE on tx-acl and CLUSTER_ACTION", func() error {
		if v := viewTxnAdmin(t, alice, d.ProducerID, d.ProducerEpoch); v != want {
			return fmt.Errorf("%+v, want %+v", v, want)
		}
		return nil
	})
}
