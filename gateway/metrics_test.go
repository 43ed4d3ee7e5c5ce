package gateway

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// caudal_gateways counts the live gateways a gateway sees: itself alone,
// then a second one on the same stores once a heartbeat shows it.
func TestGatewaysGauge(t *testing.T) {
	g := newTestGateway(t)
	live := func() float64 {
		var m dto.Metric
		if err := g.metrics.gateways.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetGauge().GetValue()
	}
	if n := live(); n != 1 {
		t.Fatalf("caudal_gateways = %v alone, want 1", n)
	}
	other, err := New(Config{NodeID: -1, Advertise: "127.0.0.1:9093", HeartbeatInterval: 10 * time.Millisecond}, g.store, g.bucket)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	// g heartbeats every 3 s by default; its next refresh sees the other.
	deadline := time.Now().Add(10 * time.Second)
	for live() != 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := live(); n != 2 {
		t.Errorf("caudal_gateways = %v with a second gateway, want 2", n)
	}
}
