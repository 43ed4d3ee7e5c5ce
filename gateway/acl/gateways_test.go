package acl_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/caudal/caudal/gateway/acl"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/test/testenv"
)

// changeSeenWithin is the design's promise: a change on one gateway
// applies on every other within a second.
const changeSeenWithin = time.Second

// TestChangeSeenByOtherGateway: two gateways (two stores on one database,
// two Authorizers with the default refresh): a binding created on one
// allows on the other within a second, even through a Checker that had
// cached the denial, and a deletion on the other applies back as fast.
func TestChangeSeenByOtherGateway(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "metadata.db") },
		"postgres": func(t *testing.T) string { return testenv.Postgres(t) },
	}
	for name, url := range backends {
		t.Run(name, func(t *testing.T) {
			u := url(t)
			gw1 := started(t, acl.Config{Store: openStore(t, u)})
			gw2 := started(t, acl.Config{Store: openStore(t, u)})
			on2 := gw2.For(alice, any4)
			if on2.Allowed(read, topic, "t") {
				t.Fatal("allowed before any binding")
			}

			b := bind(allow, topic, literal, "t", alice, read)
			if errs := gw1.Create(ctx, []acl.Binding{b}); errs[0] != nil {
				t.Fatal(errs[0])
			}
			if !gw1.For(alice, any4).Allowed(read, topic, "t") {
				t.Fatal("the creating gateway does not apply its change at once")
			}
			waitFor(t, "creation on gateway 1 seen by gateway 2", func() bool { return on2.Allowed(read, topic, "t") })

			on1 := gw1.For(alice, any4)
			if !on1.Allowed(read, topic, "t") {
				t.Fatal("gateway 1 lost its own binding")
			}
			if _, errs := gw2.Delete(ctx, []acl.Filter{filterOf(b)}); errs[0] != nil {
				t.Fatal(errs[0])
			}
			waitFor(t, "deletion on gateway 2 seen by gateway 1", func() bool { return !on1.Allowed(read, topic, "t") })
		})
	}
}

func openStore(t *testing.T, url string) metadata.Store {
	t.Helper()
	s, err := metadata.Open(ctx, url, metadata.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls cond until it holds, failing when changeSeenWithin
// passes first.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > changeSeenWithin {
			t.Fatalf("%s: not within %v", what, changeSeenWithin)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
}
