package cluster

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/caudal/caudal/metadata/metadatatest"

	"github.com/caudal/caudal/metadata"
)

// Two live gateways that advertise one address (a misconfiguration): the
// store keeps one row per address, and neither lists the other, so no
// Metadata response names two brokers at one host:port. The one whose
// row was taken over says so.
func TestRegistryListsOneGatewayPerAddress(t *testing.T) {
	ctx := context.Background()
	store := metadatatest.OpenSQLite(t, metadata.Options{})
	var logged bytes.Buffer
	start := func(addr string, log *slog.Logger) *Registry {
		t.Helper()
		r, err := New(Config{Store: store, Self: metadata.Gateway{NodeID: -1, Addr: addr}, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Stop)
		return r
	}
	first := start("h:1", slog.New(slog.NewTextHandler(&logged, nil)))
	other := start("h:2", nil)
	second := start("h:1", nil) // takes h:1 over from first
	first.refresh(ctx)

	for _, c := range []struct {
		name string
		r    *Registry
		want string
	}{
		{"first", first, fmt.Sprintf("[%d@h:1 %d@h:2]", first.NodeID(), other.NodeID())},
		{"second", second, fmt.Sprintf("[%d@h:2 %d@h:1]", other.NodeID(), second.NodeID())},
	} {
		var got []string
		for _, g := range c.r.Gateways() {
			got = append(got, fmt.Sprintf("%d@%s", g.NodeID, g.Addr))
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s gateway lists %v, want %s", c.name, got, c.want)
		}
	}
	if !strings.Contains(logged.String(), "another gateway advertises this gateway's address") {
		t.Errorf("the gateway whose address was taken did not say so; log:\n%s", logged.String())
	}
}
