package gateway

import (
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func quotaEntry(ops int, parts ...string) kmsg.AlterClientQuotasRequestEntry {
	e := kmsg.NewAlterClientQuotasRequestEntry()
	for i := 0; i < len(parts); i += 2 {
		p := kmsg.NewAlterClientQuotasRequestEntryEntity()
		p.Type, p.Name = parts[i], kmsg.StringPtr(parts[i+1])
		e.Entity = append(e.Entity, p)
	}
	for i := range ops {
		op := kmsg.NewAlterClientQuotasRequestEntryOp()
		op.Key, op.Value = "producer_byte_rate", float64(1000+i)
		if i > 0 {
			op.Key = strings.Repeat("k", i%50+1) // distinct keys would each be refused anyway
		}
		e.Ops = append(e.Ops, op)
	}
	return e
}

// TestClientQuotasHostile sends AlterClientQuotas and DescribeClientQuotas
// with counts no client sends: past 10,000 values every entry gets
// POLICY_VIOLATION and nothing is stored, a huge entity collapses to its
// parts or is refused, a huge filter is refused, the answers stay as
// small as Kafka's, and the gateway's heap does not follow the counts.
func TestClientQuotasHostile(t *testing.T) {
	g := newTestGateway(t)
	c := testConn(t, g)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	many := kmsg.NewPtrAlterClientQuotasRequest()
	for i := range 20_000 {
		many.Entries = append(many.Entries, quotaEntry(1, "client-id", "c"+strings.Repeat("x", i%7)+string(rune('a'+i%26))))
	}
	resp := serveRequest(t, c, many).(*kmsg.AlterClientQuotasResponse)
	if len(resp.Entries) != len(many.Entries) {
		t.Fatalf("%d entries answered of %d", len(resp.Entries), len(many.Entries))
	}
	for _, e := range resp.Entries {
		if e.ErrorCode != kerr.PolicyViolation.Code {
			t.Fatalf("an entry of a 20,000-value request got %v, want POLICY_VIOLATION", kerr.ErrorForCode(e.ErrorCode))
		}
	}

	// 200,000 parts of one type are one part, as Kafka reads them into
	// a map; of unknown types, the entity is refused.
	wide := kmsg.NewPtrAlterClientQuotasRequest()
	users := kmsg.NewAlterClientQuotasRequestEntry()
	junk := kmsg.NewAlterClientQuotasRequestEntry()
	for i := range 200_000 {
		p := kmsg.NewAlterClientQuotasRequestEntryEntity()
		p.Type, p.Name = "user", kmsg.StringPtr("u")
		users.Entity = append(users.Entity, p)
		p.Type = "t" + strings.Repeat("y", i%5)
		junk.Entity = append(junk.Entity, p)
	}
	users.Ops = quotaEntry(1).Ops
	junk.Ops = quotaEntry(1).Ops
	wide.Entries = append(wide.Entries, users, junk)
	wide.ValidateOnly = true
	wresp := serveRequest(t, c, wide).(*kmsg.AlterClientQuotasResponse)
	if len(wresp.Entries) != 2 || wresp.Entries[0].ErrorCode != 0 || len(wresp.Entries[0].Entity) != 1 {
		t.Fatalf("200,000 user parts: %+v", wresp.Entries[0])
	}
	if e := wresp.Entries[1]; e.ErrorCode != kerr.InvalidRequest.Code || len(e.Entity) > 5 {
		t.Fatalf("200,000 unknown parts: %v with %d parts echoed", kerr.ErrorForCode(e.ErrorCode), len(e.Entity))
	}

	filter := kmsg.NewPtrDescribeClientQuotasRequest()
	for range 200_000 {
		comp := kmsg.NewDescribeClientQuotasRequestComponent()
		comp.EntityType, comp.MatchType = "user", kmsg.QuotasMatchTypeAny
		filter.Components = append(filter.Components, comp)
	}
	dresp := serveRequest(t, c, filter).(*kmsg.DescribeClientQuotasResponse)
	if dresp.ErrorCode != kerr.InvalidRequest.Code || len(dresp.Entries) != 0 {
		t.Fatalf("a 200,000-part filter: %v", kerr.ErrorForCode(dresp.ErrorCode))
	}
	all := kmsg.NewPtrDescribeClientQuotasRequest()
	if d := serveRequest(t, c, all).(*kmsg.DescribeClientQuotasResponse); d.ErrorCode != 0 || len(d.Entries) != 0 {
		t.Fatalf("hostile requests stored quotas: %+v", d.Entries)
	}
	many, wide, filter = nil, nil, nil
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 32<<20 {
		t.Errorf("heap grew by %d MiB after the hostile requests", grew>>20)
	}
}

// TestClientQuotasLyingCount: an AlterClientQuotas frame whose entry
// count claims 2^31-1 entries in a few bytes closes that connection, as a
// request Kafka cannot parse does, and allocates nothing like the claim.
func TestClientQuotasLyingCount(t *testing.T) {
	g := newTestGateway(t)
	addr := serveTestGateway(t, g)
	body := binary.BigEndian.AppendUint32(header(kmsg.AlterClientQuotas.Int16(), 0, 7), 1<<31-1)
	body = append(body, 0, 0, 0, 1) // a start of an entry, and no more
	sendExpectClosed(t, addr, body)
	c := testConn(t, g)
	if d := serveRequest(t, c, kmsg.NewPtrDescribeClientQuotasRequest()).(*kmsg.DescribeClientQuotasResponse); d.ErrorCode != 0 {
		t.Fatalf("the gateway does not serve afterwards: %v", kerr.ErrorForCode(d.ErrorCode))
	}
}

// TestClientQuotaThrottlesFetch: over consumer_byte_rate, a fetch is
// answered with throttle_time_ms and without its records, as Kafka
// answers, and its bytes are not counted; a client without a quota is
// not throttled.
func TestClientQuotaThrottlesFetch(t *testing.T) {
	g := newTestGateway(t)
	c := testConn(t, g)
	produceTestBatches(t, c, map[int32][]string{1: {strings.Repeat("v", 4000)}})
	alter := kmsg.NewPtrAlterClientQuotasRequest()
	e := quotaEntry(0, "client-id", "fuzz")
	op := kmsg.NewAlterClientQuotasRequestEntryOp()
	op.Key, op.Value = "consumer_byte_rate", 100 // 1,000 bytes over the ten-window span
	e.Ops = append(e.Ops, op)
	alter.Entries = append(alter.Entries, e)
	if r := serveRequest(t, c, alter).(*kmsg.AlterClientQuotasResponse); r.Entries[0].ErrorCode != 0 {
		t.Fatalf("set the quota: %v", kerr.ErrorForCode(r.Entries[0].ErrorCode))
	}
	fetch := seedBuilders[kmsg.Fetch]().(*kmsg.FetchRequest)
	fetch.SetVersion(12)
	r, err := c.handle(requestBody(fetch, 2))
	if err != nil {
		t.Fatal(err)
	}
	c.applyQuota(r, 0)
	f := r.resp.(*kmsg.FetchResponse)
	if r.throttle < time.Second {
		t.Fatalf("throttle %v for 4,000 bytes at 100 B/s", r.throttle)
	}
	if n := len(f.Topics[0].Partitions[0].RecordBatches); n != 0 {
		t.Fatalf("a throttled fetch carried %d record bytes", n)
	}
	// The client-id "fuzz" quota does not apply to another client.
	r, err = c.handle(kmsg.NewRequestFormatter(kmsg.FormatterClientID("other")).AppendRequest(nil, fetch, 3)[4:])
	if err != nil {
		t.Fatal(err)
	}
	c.applyQuota(r, 0)
	if r.throttle != 0 || len(r.resp.(*kmsg.FetchResponse).Topics[0].Partitions[0].RecordBatches) == 0 {
		t.Fatalf("a client without a quota: throttle %v", r.throttle)
	}
}
