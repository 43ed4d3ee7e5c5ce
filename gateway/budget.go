package gateway

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errNoBudget: the bytes of requests in flight stayed at their bound until
// the request's deadline.
var errNoBudget = errors.New("request bytes in flight stayed at queued.max.request.bytes until the body deadline")

// byteBudget bounds the bytes of request bodies a gateway holds, as
// Kafka's queued.max.request.bytes does: a connection that needs more
// waits, and so stops reading its socket, until others give bytes back.
type byteBudget struct {
	mu    sync.Mutex
	free  int64
	freed chan struct{} // closed and replaced when bytes come back
	used  func(int64)   // reports the bytes held, for the gauge
}

func newByteBudget(max int64, used func(int64)) *byteBudget {
	return &byteBudget{free: max, freed: make(chan struct{}), used: used}
}

// take waits until n bytes are free, then holds them, or fails when ctx
// ends or deadline passes first.
func (b *byteBudget) take(ctx context.Context, n int64, deadline time.Time) error {
	var timer *time.Timer
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			b.used(n)
			if timer != nil {
				timer.Stop()
			}
			return nil
		}
		freed := b.freed
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(time.Until(deadline))
			defer timer.Stop()
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return errNoBudget
		}
	}
}

// give returns n held bytes.
func (b *byteBudget) give(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
	b.used(-n)
}
