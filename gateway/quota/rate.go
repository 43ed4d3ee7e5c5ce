package quota

import (
	"math"
	"time"
)

// Window is Kafka's quota.window.num samples of quota.window.size.seconds
// each: a rate is the sum of the samples over the time they span, taken
// as at least Samples-1 whole windows so that a new client's first bytes
// do not read as a huge rate.
type Window struct {
	Samples int
	Size    time.Duration
}

// DefaultWindow is Kafka's: 11 windows of one second.
var DefaultWindow = Window{Samples: 11, Size: time.Second}

// sample is one window of a rate, Kafka's SampledStat.Sample.
type sample struct {
	start, lastEvent int64 // milliseconds
	value            float64
}

// rate is Kafka's Rate over a WindowedSum: samples start when a value
// arrives after the current one is complete, and a sample without events
// for the whole span is reset.
type rate struct {
	w       Window
	samples []sample // at most Samples+1: Kafka keeps one overlapping the span's start
	current int
}

func (r *rate) windowMs() int64 { return r.w.Size.Milliseconds() }

// record adds value at now (ms).
func (r *rate) record(value float64, now int64) {
	if len(r.samples) == 0 {
		r.samples = append(r.samples, sample{start: now, lastEvent: now})
	}
	s := &r.samples[r.current]
	if now-s.start >= r.windowMs() {
		r.current = (r.current + 1) % (r.w.Samples + 1)
		if r.current >= len(r.samples) {
			r.samples = append(r.samples, sample{start: now, lastEvent: now})
		} else {
			r.samples[r.current] = sample{start: now, lastEvent: now}
		}
		s = &r.samples[r.current]
	}
	s.value += value
	s.lastEvent = now
}

// purge resets the samples that saw no event within the span.
func (r *rate) purge(now int64) {
	expire := int64(r.w.Samples) * r.windowMs()
	for i := range r.samples {
		if now-r.samples[i].lastEvent >= expire {
			r.samples[i] = sample{start: now, lastEvent: now}
		}
	}
}

// spanMs is the time the rate is taken over, as Kafka's
// Rate.windowSize: from the oldest sample's start, and at least
// Samples-1 whole windows.
func (r *rate) spanMs(now int64) int64 {
	r.purge(now)
	oldest := now
	for _, s := range r.samples {
		oldest = min(oldest, s.start)
	}
	elapsed := now - oldest
	if full, least := elapsed/r.windowMs(), int64(r.w.Samples-1); full < least {
		elapsed += (least - full) * r.windowMs()
	}
	return max(elapsed, 1)
}

// perSecond is the measured rate at now.
func (r *rate) perSecond(now int64) float64 {
	span := r.spanMs(now)
	total := 0.0
	for _, s := range r.samples {
		total += s.value
	}
	return total / (float64(span) / 1000)
}

// throttle is how long a client over limit must wait for its rate to
// come back to it, as Kafka's QuotaUtils.throttleTime: with O observed
// over a span W and a limit T, O·W/(W+X) = T gives X = (O-T)/T·W.
func (r *rate) throttle(limit float64, now int64) time.Duration {
	observed := r.perSecond(now)
	if observed <= limit {
		return 0
	}
	ms := math.Round((observed - limit) / limit * float64(r.spanMs(now)))
	return time.Duration(ms) * time.Millisecond
}

// idle reports whether every sample has expired, when the rate is the
// same as a new one's and can be dropped.
func (r *rate) idle(now int64) bool {
	expire := int64(r.w.Samples) * r.windowMs()
	for _, s := range r.samples {
		if now-s.lastEvent < expire {
			return false
		}
	}
	return true
}
