package acl_test

import (
	"fmt"
	"testing"

	"github.com/caudal/caudal/gateway/acl"
)

// manyBindings is a cluster's worth of ACLs: per-user topic and group
// bindings, team prefixes of several lengths, some denials and "*".
func manyBindings(n int) []acl.Binding {
	bs := make([]acl.Binding, 0, n)
	for i := 0; len(bs) < n; i++ {
		user := fmt.Sprintf("User:u%03d", i%500)
		switch i % 10 {
		case 0, 1, 2, 3, 4, 5:
			bs = append(bs, bind(allow, topic, literal, fmt.Sprintf("topic-%05d", i), user, write))
		case 6:
			bs = append(bs, bind(allow, topic, prefixed, fmt.Sprintf("team-%d-", i%97), user, read))
		case 7:
			bs = append(bs, bind(allow, group, literal, fmt.Sprintf("group-%05d", i), user, read))
		case 8:
			bs = append(bs, bind(deny, topic, literal, fmt.Sprintf("topic-%05d", i-8), "User:intruder", all))
		case 9:
			bs = append(bs, bind(allow, txnID, prefixed, fmt.Sprintf("tx-%d", i), user, write))
		}
	}
	return append(bs, bind(allow, topic, literal, "*", "User:monitor", describe))
}

// BenchmarkCheckerAllowed: the produce/fetch path asks one decision per
// partition; cached it is a map lookup and allocates nothing. "uncached"
// is a new Checker's first decision over 10,000 bindings, what a Checker
// pays once per resource and change (and For, once per connection).
func BenchmarkCheckerAllowed(b *testing.B) {
	bindings := manyBindings(10000)
	a := started(b, acl.Config{}, bindings...)
	// u000 writes topic-00000, topic-01000, …: 10 topics.
	var names []string
	for _, bd := range bindings {
		if bd.Principal == "User:u000" && bd.Operation == write && bd.ResourceType == topic {
			names = append(names, bd.ResourceName)
		}
	}
	if len(names) == 0 || !a.For("User:u000", any4).Allowed(write, topic, names[0]) {
		b.Fatal("benchmark bindings do not allow what they should")
	}
	b.Run("cached", func(b *testing.B) {
		ch := a.For("User:u000", any4)
		for _, n := range names {
			ch.Allowed(write, topic, n)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if !ch.Allowed(write, topic, names[i%len(names)]) {
				b.Fatal("denied")
			}
		}
	})
	b.Run("uncached/10000", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if !a.For("User:u000", any4).Allowed(write, topic, names[i%len(names)]) {
				b.Fatal("denied")
			}
		}
	})
	b.Run("uncached-prefixed/10000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !a.For("User:u006", any4).Allowed(read, topic, "team-6-orders") {
				b.Fatal("denied")
			}
		}
	})
}
