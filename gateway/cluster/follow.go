package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// reloadTimeout bounds one reload, so that a hung store delays the next
// poll rather than stopping them.
const reloadTimeout = 5 * time.Second

// Follower keeps state that every gateway holds a copy of (ACLs, client
// quotas, …) up to date with the metadata store, which is how a change
// made through one gateway reaches the others within a refresh.
type Follower struct {
	stop context.CancelFunc
	done chan struct{}
}

// Follow loads what (named in errors and logs) with reload, failing if it
// cannot, and then calls reload every refresh until Stop. During a store
// outage the last state loaded goes on applying; the outage is logged
// once, and its end.
func Follow(ctx context.Context, what string, refresh time.Duration, log *slog.Logger, reload func(context.Context) error) (*Follower, error) {
	if err := reload(ctx); err != nil {
		return nil, fmt.Errorf("load %s: %w", what, err)
	}
	f := &Follower{done: make(chan struct{})}
	ctx, f.stop = context.WithCancel(context.WithoutCancel(ctx))
	go f.poll(ctx, what, refresh, log, reload)
	return f, nil
}

// Stop ends the polling and waits for it; a nil Follower is fine.
func (f *Follower) Stop() {
	if f == nil {
		return
	}
	f.stop()
	<-f.done
}

func (f *Follower) poll(ctx context.Context, what string, refresh time.Duration, log *slog.Logger, reload func(context.Context) error) {
	defer close(f.done)
	t := time.NewTicker(refresh)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, reloadTimeout)
		err := reload(rctx)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return
		case err != nil && !failing:
			log.Warn("reload "+what+"; applying the last loaded", "err", err)
			failing = true
		case err == nil && failing:
			log.Info(what + " reloaded again")
			failing = false
		}
	}
}
