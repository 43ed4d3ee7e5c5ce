package quota

import (
	"testing"

	"github.com/caudal/caudal/metadata"
)

// TestResolve walks Kafka's precedence: each case removes the most
// specific quota left, and the next one applies with its own tags.
func TestResolve(t *testing.T) {
	named := func(n string) metadata.QuotaName { return metadata.QuotaName{Kind: metadata.QuotaNamed, Name: n} }
	def := metadata.QuotaName{Kind: metadata.QuotaDefault}
	order := []struct {
		e    metadata.QuotaEntity
		tags Tags
	}{
		{metadata.QuotaEntity{User: named("alice"), ClientID: named("app")}, Tags{"alice", "app"}},
		{metadata.QuotaEntity{User: named("alice"), ClientID: def}, Tags{"alice", "app"}},
		{metadata.QuotaEntity{User: named("alice")}, Tags{User: "alice"}},
		{metadata.QuotaEntity{User: def, ClientID: named("app")}, Tags{"alice", "app"}},
		{metadata.QuotaEntity{User: def, ClientID: def}, Tags{"alice", "app"}},
		{metadata.QuotaEntity{User: def}, Tags{User: "alice"}},
		{metadata.QuotaEntity{ClientID: named("app")}, Tags{ClientID: "app"}},
		{metadata.QuotaEntity{ClientID: def}, Tags{ClientID: "app"}},
	}
	l := Limits{}
	for i, o := range order {
		l[o.e] = map[string]float64{ProducerByteRate: float64(i + 1)}
	}
	// Quotas of other users, clients and keys never apply.
	l[metadata.QuotaEntity{User: named("bob")}] = map[string]float64{ProducerByteRate: 99}
	l[metadata.QuotaEntity{ClientID: named("other")}] = map[string]float64{ProducerByteRate: 99}
	for i, o := range order {
		v, tags, ok := l.Resolve(ProducerByteRate, "alice", "app")
		if !ok || v != float64(i+1) || tags != o.tags {
			t.Fatalf("step %d: got %v %+v %v, want %d %+v", i+1, v, tags, ok, i+1, o.tags)
		}
		if _, _, ok := l.Resolve(ConsumerByteRate, "alice", "app"); ok {
			t.Fatalf("step %d: a consumer quota resolved from producer ones", i+1)
		}
		delete(l, o.e)
	}
	if v, _, ok := l.Resolve(ProducerByteRate, "alice", "app"); ok {
		t.Fatalf("no quota left for alice/app, resolved %v", v)
	}
}
