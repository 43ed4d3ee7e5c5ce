package cluster

import (
	"fmt"
	"testing"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

func gatewaysN(n int, racks ...string) []metadata.Gateway {
	out := make([]metadata.Gateway, n)
	for i := range out {
		out[i] = metadata.Gateway{NodeID: int32(i), Addr: fmt.Sprintf("127.0.0.1:%d", 9092+i)}
		if len(racks) > 0 {
			out[i].Rack = racks[i%len(racks)]
		}
	}
	return out
}

func testKeys(n int) [][]byte {
	topics := []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New()}
	keys := make([][]byte, 0, n)
	for i := 0; len(keys) < n; i++ {
		keys = append(keys, partitionKey(topics[i%len(topics)], int32(i/len(topics))))
		if len(keys) < n {
			keys = append(keys, groupKey(fmt.Sprintf("group-%d", i)))
		}
	}
	return keys
}

func owners(gws []metadata.Gateway, keys [][]byte) []int32 {
	out := make([]int32, len(keys))
	for i, k := range keys {
		out[i] = gws[rendezvous(gws, k)].NodeID
	}
	return out
}

// TestRendezvousBalanceAndMoves: keys spread evenly, and when a gateway
// joins or leaves only the keys it gains or held move (about 1/n).
func TestRendezvousBalanceAndMoves(t *testing.T) {
	const nkeys = 20000
	keys := testKeys(nkeys)
	for _, n := range []int{2, 3, 5, 8} {
		gws := gatewaysN(n)
		before := owners(gws, keys)
		count := map[int32]int{}
		for _, o := range before {
			count[o]++
		}
		for id, c := range count {
			if share := float64(c) / nkeys; share < 0.8/float64(n) || share > 1.2/float64(n) {
				t.Errorf("n=%d: gateway %d owns %.3f of the keys, want about %.3f", n, id, share, 1/float64(n))
			}
		}

		// Join: a new gateway takes about 1/(n+1), all from others to it.
		joined := append(append([]metadata.Gateway{}, gws...), metadata.Gateway{NodeID: 100})
		after := owners(joined, keys)
		moved := 0
		for i := range keys {
			if before[i] != after[i] {
				moved++
				if after[i] != 100 {
					t.Fatalf("n=%d join: key %d moved from %d to %d, not to the new gateway", n, i, before[i], after[i])
				}
			}
		}
		if share := float64(moved) / nkeys; share < 0.8/float64(n+1) || share > 1.2/float64(n+1) {
			t.Errorf("n=%d join: %.3f of keys moved, want about %.3f", n, share, 1/float64(n+1))
		}

		// Leave: only the leaver's keys move.
		left := append([]metadata.Gateway{}, gws[1:]...)
		after = owners(left, keys)
		moved = 0
		for i := range keys {
			if before[i] != after[i] {
				moved++
				if before[i] != gws[0].NodeID {
					t.Fatalf("n=%d leave: key %d of gateway %d moved", n, i, before[i])
				}
			}
		}
		if moved != count[gws[0].NodeID] {
			t.Errorf("n=%d leave: %d keys moved, the leaver held %d", n, moved, count[gws[0].NodeID])
		}
	}
}

// TestRendezvousOrderIndependent: every gateway computes the same owner
// whatever the order of its list.
func TestRendezvousOrderIndependent(t *testing.T) {
	gws := gatewaysN(5)
	rev := []metadata.Gateway{gws[4], gws[2], gws[0], gws[3], gws[1]}
	keys := testKeys(1000)
	a, b := owners(gws, keys), owners(rev, keys)
	for i := range keys {
		if a[i] != b[i] {
			t.Fatalf("key %d: owner %d in one order, %d in another", i, a[i], b[i])
		}
	}
}

// TestZoneRestriction: a client's rack limits the candidates to that
// rack's gateways, spread over all of them; an unknown rack or none gets
// every gateway.
func TestZoneRestriction(t *testing.T) {
	gws := gatewaysN(6, "zone-a", "zone-b", "zone-c")
	keys := testKeys(3000)
	for _, zone := range []string{"zone-a", "zone-b", "zone-c"} {
		cands := inRack(gws, zone)
		if len(cands) != 2 {
			t.Fatalf("%s: %d candidates, want 2", zone, len(cands))
		}
		seen := map[int32]int{}
		for _, o := range owners(cands, keys) {
			if r := gws[o].Rack; r != zone {
				t.Fatalf("%s: leader %d is in %s", zone, o, r)
			}
			seen[o]++
		}
		if len(seen) != 2 {
			t.Errorf("%s: leaders on %d gateways, want both", zone, len(seen))
		}
	}
	if got := inRack(gws, "zone-x"); len(got) != len(gws) {
		t.Errorf("unknown zone: %d candidates, want all %d", len(got), len(gws))
	}
	if got := inRack(gws, ""); len(got) != len(gws) {
		t.Errorf("no zone: %d candidates, want all %d", len(got), len(gws))
	}
}

func TestRackFromClientID(t *testing.T) {
	for id, want := range map[string]string{
		"myapp;rack=zone-a":          "zone-a",
		"myapp,zone=zone-b":          "zone-b",
		"rack=us-east-1a":            "us-east-1a",
		"app; Zone=z1 ;x=y":          "z1",
		"app&client.rack=r2":         "r2",
		"myapp":                      "",
		"myapp;racks=zone-a":         "",
		"":                           "",
		"consumer-group-1,zone=":     "",
		"app|rack=eu-west-1b|more=1": "eu-west-1b",
	} {
		if got := RackFromClientID(id); got != want {
			t.Errorf("RackFromClientID(%q) = %q, want %q", id, got, want)
		}
	}
}
