package quota

import (
	"testing"
	"time"
)

// TestRate checks the measured rate and throttle time against Kafka's
// formulas: the span is at least Samples-1 windows, so a new client may
// send that many windows' worth before it is throttled, and X = (O-T)/T·W.
func TestRate(t *testing.T) {
	type rec struct {
		at    int64 // ms
		bytes float64
	}
	for _, tc := range []struct {
		name     string
		records  []rec
		at       int64
		limit    float64
		wantRate float64
		wantWait time.Duration
	}{
		{"first bytes read over ten windows", []rec{{0, 1000}}, 0, 1000, 100, 0},
		{"ten windows' worth at once is the limit", []rec{{0, 10000}}, 0, 1000, 1000, 0},
		{"past it: throttled for the excess", []rec{{0, 20000}}, 0, 1000, 2000, 10 * time.Second},
		{"spread over the span", []rec{{0, 5000}, {5000, 5000}, {10000, 5500}}, 10000, 1000, 1550, 5500 * time.Millisecond},
		{"longer than the span: old samples expire", []rec{{0, 50000}, {12000, 1000}}, 12000, 1000, 100, 0},
		{"a negative value takes bytes back", []rec{{0, 20000}, {0, -15000}}, 0, 1000, 500, 0},
		{"the span grows past ten windows with an overlapping sample", []rec{{0, 1000}, {1000, 1000}, {2000, 1000}, {3000, 1000},
			{4000, 1000}, {5000, 1000}, {6000, 1000}, {7000, 1000}, {8000, 1000}, {9000, 1000}, {10000, 1000}, {10500, 1000}}, 10500, 1000, 12000 / 10.5, 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &rate{w: DefaultWindow}
			for _, x := range tc.records {
				r.record(x.bytes, x.at)
			}
			if got := r.perSecond(tc.at); abs(got-tc.wantRate) > 0.01 {
				t.Errorf("rate = %.2f/s, want %.2f/s", got, tc.wantRate)
			}
			if got := r.throttle(tc.limit, tc.at); got != tc.wantWait {
				t.Errorf("throttle = %v, want %v", got, tc.wantWait)
			}
		})
	}
}

func abs(f float64) float64 { return max(f, -f) }

func TestRateIdle(t *testing.T) {
	r := &rate{w: DefaultWindow}
	r.record(5, 0)
	if r.idle(10_999) {
		t.Error("idle within the span")
	}
	if !r.idle(11_000) {
		t.Error("not idle after the span")
	}
}
