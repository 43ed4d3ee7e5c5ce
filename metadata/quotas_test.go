package metadata_test

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/caudal/caudal/metadata"
)

func listQuotas(t *testing.T, s metadata.Store) []metadata.ClientQuota {
	t.Helper()
	qs, err := s.ListClientQuotas(ctx)
	if err != nil {
		t.Fatalf("ListClientQuotas: %v", err)
	}
	slices.SortFunc(qs, func(a, b metadata.ClientQuota) int { return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	return qs
}

func quotaVersion(t *testing.T, s metadata.Store) int64 {
	t.Helper()
	v, err := s.ClientQuotaVersion(ctx)
	if err != nil {
		t.Fatalf("ClientQuotaVersion: %v", err)
	}
	return v
}

// TestClientQuotas: values round-trip with every kind of entity part,
// a default entity and a named one stay apart, setting again replaces,
// removing a missing value is no error, and each change raises the
// version.
func TestClientQuotas(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		if v := quotaVersion(t, s); v != 0 {
			t.Fatalf("fresh version = %d", v)
		}
		named := func(n string) metadata.QuotaName { return metadata.QuotaName{Kind: metadata.QuotaNamed, Name: n} }
		def := metadata.QuotaName{Kind: metadata.QuotaDefault}
		alice := metadata.QuotaEntity{User: named("alice")}
		aliceApp := metadata.QuotaEntity{User: named("alice"), ClientID: named("app")}
		defUser := metadata.QuotaEntity{User: def}
		defUserApp := metadata.QuotaEntity{User: def, ClientID: named("app")}
		ip := metadata.QuotaEntity{IP: named("10.0.0.1")}
		err := s.AlterClientQuotas(ctx, []metadata.QuotaChange{
			{Entity: alice, Key: "producer_byte_rate", Value: 1024},
			{Entity: alice, Key: "consumer_byte_rate", Value: 2048},
			{Entity: aliceApp, Key: "producer_byte_rate", Value: 10},
			{Entity: defUser, Key: "request_percentage", Value: 12.5},
			{Entity: defUserApp, Key: "producer_byte_rate", Value: 7},
			{Entity: ip, Key: "connection_creation_rate", Value: 3},
		})
		if err != nil {
			t.Fatal(err)
		}
		v1 := quotaVersion(t, s)
		if v1 <= 0 {
			t.Fatalf("version after a change = %d", v1)
		}
		if got := listQuotas(t, s); len(got) != 6 {
			t.Fatalf("listed %d values, want 6: %v", len(got), got)
		}
		err = s.AlterClientQuotas(ctx, []metadata.QuotaChange{
			{Entity: alice, Key: "producer_byte_rate", Value: 4096},
			{Entity: alice, Key: "consumer_byte_rate", Remove: true},
			{Entity: defUserApp, Key: "producer_byte_rate", Remove: true},
			{Entity: defUserApp, Key: "consumer_byte_rate", Remove: true}, // never set
		})
		if err != nil {
			t.Fatal(err)
		}
		if v := quotaVersion(t, s); v <= v1 {
			t.Fatalf("version %d did not rise from %d", v, v1)
		}
		want := []metadata.ClientQuota{
			{Entity: alice, Key: "producer_byte_rate", Value: 4096},
			{Entity: aliceApp, Key: "producer_byte_rate", Value: 10},
			{Entity: defUser, Key: "request_percentage", Value: 12.5},
			{Entity: ip, Key: "connection_creation_rate", Value: 3},
		}
		slices.SortFunc(want, func(a, b metadata.ClientQuota) int { return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		if got := listQuotas(t, s); !slices.Equal(got, want) {
			t.Fatalf("listed %v\nwant %v", got, want)
		}
	})
}
