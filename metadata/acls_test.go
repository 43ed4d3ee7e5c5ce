package metadata_test

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/caudal/caudal/metadata"
)

func topicACL(name, principal string, op int8) metadata.ACL {
	return metadata.ACL{ResourceType: 2, ResourceName: name, PatternType: 3, Principal: principal, Host: "*", Operation: op, Permission: 3}
}

func aclVersion(t *testing.T, s metadata.Store) int64 {
	t.Helper()
	v, err := s.ACLVersion(ctx)
	if err != nil {
		t.Fatalf("ACLVersion: %v", err)
	}
	return v
}

func listACLs(t *testing.T, s metadata.Store) []metadata.ACL {
	t.Helper()
	acls, err := s.ListACLs(ctx)
	if err != nil {
		t.Fatalf("ListACLs: %v", err)
	}
	sortACLs(acls)
	return acls
}

func sortACLs(acls []metadata.ACL) {
	slices.SortFunc(acls, func(a, b metadata.ACL) int {
		return cmp.Compare(fmt.Sprint(a), fmt.Sprint(b))
	})
}

// TestACLs: bindings round-trip with every field, creating one twice is no
// error and no change, deletes return what they deleted, and the version
// rises exactly when the bindings change.
func TestACLs(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		s := e.s
		if v := aclVersion(t, s); v != 0 {
			t.Fatalf("fresh version = %d, want 0", v)
		}
		if acls := listACLs(t, s); len(acls) != 0 {
			t.Fatalf("fresh store lists %v", acls)
		}
		read := topicACL("orders", "User:alice", 3)
		deny := metadata.ACL{ResourceType: 3, ResourceName: "app-", PatternType: 4, Principal: "User:*", Host: "10.0.0.1", Operation: 2, Permission: 2}
		cluster := metadata.ACL{ResourceType: 4, ResourceName: "kafka-cluster", PatternType: 3, Principal: "User:bob", Host: "*", Operation: 12, Permission: 3}
		// A binding repeated within one call is stored once.
		if err := s.CreateACLs(ctx, []metadata.ACL{read, deny, cluster, read}); err != nil {
			t.Fatal(err)
		}
		want := []metadata.ACL{read, deny, cluster}
		sortACLs(want)
		if got := listACLs(t, s); !slices.Equal(got, want) {
			t.Fatalf("listed %v, want %v", got, want)
		}
		v1 := aclVersion(t, s)
		if v1 <= 0 {
			t.Fatalf("version after create = %d", v1)
		}

		if err := s.CreateACLs(ctx, []metadata.ACL{cluster}); err != nil {
			t.Fatalf("creating an existing binding: %v", err)
		}
		if v := aclVersion(t, s); v != v1 {
			t.Fatalf("creating nothing new moved the version %d → %d", v1, v)
		}

		gone, err := s.DeleteACLs(ctx, func(a metadata.ACL) bool { return a.Principal == "User:nobody" })
		if err != nil || len(gone) != 0 {
			t.Fatalf("delete of nothing = %v, %v", gone, err)
		}
		if v := aclVersion(t, s); v != v1 {
			t.Fatalf("deleting nothing moved the version %d → %d", v1, v)
		}

		gone, err = s.DeleteACLs(ctx, func(a metadata.ACL) bool { return a.Permission == 3 })
		if err != nil {
			t.Fatal(err)
		}
		sortACLs(gone)
		wantGone := []metadata.ACL{read, cluster}
		sortACLs(wantGone)
		if !slices.Equal(gone, wantGone) {
			t.Fatalf("deleted %v, want %v", gone, wantGone)
		}
		if got := listACLs(t, s); !slices.Equal(got, []metadata.ACL{deny}) {
			t.Fatalf("left %v, want %v", got, deny)
		}
		if v := aclVersion(t, s); v <= v1 {
			t.Fatalf("version after delete = %d, was %d", v, v1)
		}
	})
}

// TestACLsMany: creations larger than one INSERT's chunk store every
// binding, and one delete removes them all.
func TestACLsMany(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		var acls []metadata.ACL
		for i := range 1234 {
			acls = append(acls, topicACL(fmt.Sprintf("t%04d", i), "User:alice", 4))
		}
		if err := e.s.CreateACLs(ctx, acls); err != nil {
			t.Fatal(err)
		}
		if n := len(listACLs(t, e.s)); n != len(acls) {
			t.Fatalf("listed %d bindings, want %d", n, len(acls))
		}
		gone, err := e.s.DeleteACLs(ctx, func(metadata.ACL) bool { return true })
		if err != nil || len(gone) != len(acls) {
			t.Fatalf("deleted %d, %v; want %d", len(gone), err, len(acls))
		}
		if n := len(listACLs(t, e.s)); n != 0 {
			t.Fatalf("%d bindings left", n)
		}
	})
}

// TestACLVersionConcurrent: changes made at once through two stores (two
// gateways) each raise the version, so no poller can miss one.
func TestACLVersionConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		stores := []metadata.Store{e.s, e.open(t)}
		const each = 10
		var wg sync.WaitGroup
		errs := make(chan error, 2*each)
		for g, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					errs <- s.CreateACLs(ctx, []metadata.ACL{topicACL(fmt.Sprintf("g%d-%d", g, i), "User:alice", 3)})
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if v := aclVersion(t, e.s); v != 2*each {
			t.Fatalf("version after %d creations = %d", 2*each, v)
		}
	})
}
