package gateway

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// openTestTxn commits a transaction of one record to partition 0 of
// "fuzz" as id (transaction version 2 bumps the epoch as it ends, so that
// the producer has a stale one), then begins another with a timeout the
// sweep will not reach, produces one record there and leaves it open; the
// producer is closed with the test.
func openTestTxn(t *testing.T, ctx context.Context, addr, id string) *kgo.Client {
	t.Helper()
	prod, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID(id), kgo.TransactionTimeout(10*time.Minute),
		kgo.DefaultProduceTopic("fuzz"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	for _, v := range []string{"committed", "open"} {
		if err := prod.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if v == "committed" {
			if err := prod.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
		}
	}
	return prod
}

// TestTxnAdminAPIs checks the four transaction admin APIs against an
// open transaction: its listing under each filter, its description, its
// producer's start offset, and the markers that end it (a stale epoch is
// refused, a partition without its transaction answers NONE).
func TestTxnAdminAPIs(t *testing.T) {
	g := newTestGateway(t)
	addr := serveTestGateway(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	openTestTxn(t, ctx, addr, "admin-txn")
	cl := testClient(t, addr)
	adm := kadm.NewClient(cl)

	described, err := adm.DescribeTransactions(ctx, "admin-txn", "no-such-txn")
	if err != nil {
		t.Fatal(err)
	}
	d := described["admin-txn"]
	if _, in := d.Topics["fuzz"][0]; !in || d.Err != nil || d.State != "Ongoing" || d.TimeoutMillis != 600_000 ||
		d.StartTimestamp <= 0 || len(d.Topics) != 1 || len(d.Topics["fuzz"]) != 1 {
		t.Fatalf("described %+v", d)
	}
	if err := described["no-such-txn"].Err; err != kerr.TransactionalIDNotFound {
		t.Fatalf("unknown transactional id: %v", err)
	}

	list := func(req *kmsg.ListTransactionsRequest) *kmsg.ListTransactionsResponse {
		t.Helper()
		resp, err := req.RequestWith(ctx, cl.SeedBrokers()[0])
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	req := kmsg.NewPtrListTransactionsRequest()
	req.StateFilters = []string{"Ongoing", "Bogus"}
	if resp := list(req); len(resp.TransactionStates) != 1 || resp.TransactionStates[0].ProducerID != d.ProducerID ||
		len(resp.UnknownStateFilters) != 1 || resp.UnknownStateFilters[0] != "Bogus" {
		t.Fatalf("listed with states %+v", resp)
	}
	for _, tc := range []struct {
		name  string
		set   func(r *kmsg.ListTransactionsRequest)
		count int
	}{
		{"other state", func(r *kmsg.ListTransactionsRequest) { r.StateFilters = []string{"Empty"} }, 0},
		{"its producer id", func(r *kmsg.ListTransactionsRequest) { r.ProducerIDFilters = []int64{d.ProducerID} }, 1},
		{"other producer id", func(r *kmsg.ListTransactionsRequest) { r.ProducerIDFilters = []int64{d.ProducerID + 1} }, 0},
		{"shorter duration", func(r *kmsg.ListTransactionsRequest) { r.DurationFilterMillis = 0 }, 1},
		{"longer duration", func(r *kmsg.ListTransactionsRequest) { r.DurationFilterMillis = time.Hour.Milliseconds() }, 0},
		{"matching pattern", func(r *kmsg.ListTransactionsRequest) { r.TransactionalIDPattern = kmsg.StringPtr("admin-.*") }, 1},
		{"partial pattern", func(r *kmsg.ListTransactionsRequest) { r.TransactionalIDPattern = kmsg.StringPtr("admin") }, 0},
	} {
		r := kmsg.NewPtrListTransactionsRequest()
		tc.set(r)
		if resp := list(r); resp.ErrorCode != 0 || len(resp.TransactionStates) != tc.count {
			t.Errorf("%s: error %v, %d listed, want %d", tc.name, kerr.ErrorForCode(resp.ErrorCode), len(resp.TransactionStates), tc.count)
		}
	}
	req = kmsg.NewPtrListTransactionsRequest()
	req.TransactionalIDPattern = kmsg.StringPtr("(")
	if code := list(req).ErrorCode; code != kerr.InvalidRequest.Code {
		t.Fatalf("invalid pattern: %v", kerr.ErrorForCode(code))
	}

	producers, err := adm.DescribeProducers(ctx, kadm.TopicsSet{"fuzz": {0: {}, 1: {}}})
	if err != nil {
		t.Fatal(err)
	}
	p0 := producers["fuzz"].Partitions[0]
	if p0.Err != nil || len(p0.ActiveProducers) != 1 {
		t.Fatalf("partition 0 producers: %+v", p0)
	}
	open := p0.ActiveProducers[d.ProducerID]
	if open.ProducerID != d.ProducerID || open.ProducerEpoch != d.ProducerEpoch || open.CurrentTxnStartOffset != 2 || open.CoordinatorEpoch != -1 {
		t.Fatalf("open producer %+v, transaction %+v", open, d)
	}
	if p1 := producers["fuzz"].Partitions[1]; p1.Err != nil || len(p1.ActiveProducers) != 0 {
		t.Fatalf("partition 1 producers: %+v", p1)
	}
	dp := kmsg.NewPtrDescribeProducersRequest()
	dt := kmsg.NewDescribeProducersRequestTopic()
	dt.Topic, dt.Partitions = "fuzz", []int32{7}
	dp.Topics = append(dp.Topics, dt)
	if resp, err := dp.RequestWith(ctx, cl.SeedBrokers()[0]); err != nil || resp.Topics[0].Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("partition 7: %v %+v", err, resp)
	}

	abort := func(epoch int16, partition int32) error {
		t.Helper()
		resps, err := adm.WriteTxnMarkers(ctx, kadm.TxnMarkers{ProducerID: d.ProducerID, ProducerEpoch: epoch, Topics: kadm.TopicsSet{"fuzz": {partition: {}}}})
		if err != nil {
			t.Fatal(err)
		}
		return resps[d.ProducerID].Topics["fuzz"].Partitions[partition].Err
	}
	if err := abort(d.ProducerEpoch-1, 0); d.ProducerEpoch < 1 || err != kerr.InvalidProducerEpoch {
		t.Fatalf("marker with epoch %d, the producer's being %d: %v", d.ProducerEpoch-1, d.ProducerEpoch, err)
	}
	if err := abort(d.ProducerEpoch, 1); err != nil {
		t.Fatalf("marker for a partition outside the transaction: %v", err)
	}
	if stable := lastStable(t, ctx, adm); stable != 2 {
		t.Fatalf("last stable offset %d before the abort, want 2", stable)
	}
	if err := abort(d.ProducerEpoch, 0); err != nil {
		t.Fatalf("abort marker: %v", err)
	}
	// Past the open record and its marker: the transaction no longer
	// holds the last stable offset back.
	if stable := lastStable(t, ctx, adm); stable != 4 {
		t.Fatalf("last stable offset %d after the abort, want 4", stable)
	}
}

// lastStable is the last stable offset of partition 0 of "fuzz" (its
// read_committed end offset).
func lastStable(t *testing.T, ctx context.Context, adm *kadm.Client) int64 {
	t.Helper()
	ends, err := adm.ListCommittedOffsets(ctx, "fuzz")
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ends.Lookup("fuzz", 0)
	return o.Offset
}

// TestTxnAdminHostileRequests sends the transaction admin APIs lying
// counts and requests naming more ids and partitions than maxAdminItems:
// the gateway closes the connection or answers each with INVALID_REQUEST,
// reads and writes nothing for them, allocates nothing near a claimed
// count, and goes on serving.
func TestTxnAdminHostileRequests(t *testing.T) {
	g := newTestGateway(t)
	addr := serveTestGateway(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := testClient(t, addr)
	br := cl.SeedBrokers()[0]
	healthy := func(t *testing.T) {
		t.Helper()
		req := kmsg.NewPtrDescribeTransactionsRequest()
		req.TransactionalIDs = []string{"none"}
		resp, err := req.RequestWith(ctx, br)
		if err != nil || resp.TransactionStates[0].ErrorCode != kerr.TransactionalIDNotFound.Code {
			t.Fatalf("a normal DescribeTransactions fails afterwards: %v %+v", err, resp)
		}
	}
	allocated := allocationMeter()

	for _, tc := range []struct {
		name    string
		key     kmsg.Key
		version int16
	}{
		{"DescribeTransactions ids", kmsg.DescribeTransactions, 0},
		{"ListTransactions states", kmsg.ListTransactions, 2},
		{"DescribeProducers topics", kmsg.DescribeProducers, 0},
		{"WriteTxnMarkers markers", kmsg.WriteTxnMarkers, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sendExpectClosed(t, addr, append(header(int16(tc.key), tc.version, 1), hugeCompactArray...))
			healthy(t)
		})
	}

	const many = maxAdminItems + 1
	t.Run("many ids to describe", func(t *testing.T) {
		req := kmsg.NewPtrDescribeTransactionsRequest()
		for i := range many {
			req.TransactionalIDs = append(req.TransactionalIDs, fmt.Sprintf("txn-%d", i))
		}
		resp, err := req.RequestWith(ctx, br)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range resp.TransactionStates {
			if st.ErrorCode != kerr.InvalidRequest.Code {
				t.Fatalf("%s: %v", st.TransactionalID, kerr.ErrorForCode(st.ErrorCode))
			}
		}
		healthy(t)
	})
	t.Run("many partitions to describe", func(t *testing.T) {
		req := kmsg.NewPtrDescribeProducersRequest()
		rt := kmsg.NewDescribeProducersRequestTopic()
		rt.Topic = "fuzz"
		for i := range many {
			rt.Partitions = append(rt.Partitions, int32(i%2))
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, br)
		if err != nil {
			t.Fatal(err)
		}
		if ps := resp.Topics[0].Partitions; len(ps) != many || ps[0].ErrorCode != kerr.InvalidRequest.Code || ps[many-1].ErrorCode != kerr.InvalidRequest.Code {
			t.Fatalf("%d partitions answered, first %v", len(ps), kerr.ErrorForCode(ps[0].ErrorCode))
		}
	})
	t.Run("many markers to write", func(t *testing.T) {
		req := kmsg.NewPtrWriteTxnMarkersRequest()
		m := kmsg.NewWriteTxnMarkersRequestMarker()
		m.ProducerID = 1
		mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
		mt.Topic = "fuzz"
		for i := range many {
			mt.Partitions = append(mt.Partitions, int32(i%2))
		}
		m.Topics = append(m.Topics, mt)
		req.Markers = append(req.Markers, m)
		resp, err := req.RequestWith(ctx, br)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.Markers[0].Topics[0].Partitions {
			if p.ErrorCode != kerr.InvalidRequest.Code {
				t.Fatalf("partition %d: %v", p.Partition, kerr.ErrorForCode(p.ErrorCode))
			}
		}
		ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		ends.Each(func(o kadm.ListedOffset) {
			if o.Offset != 0 {
				t.Errorf("partition %d: end offset %d after refused markers", o.Partition, o.Offset)
			}
		})
	})
	t.Run("many state filters", func(t *testing.T) {
		req := kmsg.NewPtrListTransactionsRequest()
		for i := range many {
			req.StateFilters = append(req.StateFilters, fmt.Sprintf("State%d", i))
		}
		resp, err := req.RequestWith(ctx, br)
		if err != nil || resp.ErrorCode != 0 || len(resp.UnknownStateFilters) != many {
			t.Fatalf("%v: error %v, %d unknown states", err, kerr.ErrorForCode(resp.ErrorCode), len(resp.UnknownStateFilters))
		}
	})

	if total, heap := allocated(); total > 512<<20 || heap > 256<<20 {
		t.Errorf("hostile transaction admin requests allocated %d MiB in all, and the heap holds %d MiB afterwards", total>>20, heap>>20)
	}
}
