package groups

// Consumer lag: caudal_consumer_group_lag{group,topic,partition} is the
// high watermark minus the committed offset, refreshed every lagRefresh.

import (
	"context"
	"strconv"
	"time"
)

func (co *Coordinator) lagLoop() {
	defer co.wg.Done()
	t := time.NewTicker(co.set.lagRefresh)
	defer t.Stop()
	for {
		select {
		case <-co.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), co.set.lagRefresh)
		if err := co.refreshLag(ctx); err != nil {
			co.log.Warn("refresh consumer group lag", "err", err)
		}
		cancel()
	}
}

type lagKey struct {
	group, topic string
	partition    int32
}

// refreshLag recomputes every group's lag gauges.
func (co *Coordinator) refreshLag(ctx context.Context) error {
	names, err := co.store.Groups(ctx)
	if err != nil {
		return err
	}
	lags := map[lagKey]int64{}
	for _, name := range names {
		if !co.coordinates(name) {
			continue
		}
		offs, err := co.store.FetchOffsets(ctx, name)
		if err != nil {
			return err
		}
		for _, o := range offs {
			t, err := co.topics.ByName(ctx, o.Topic)
			if err != nil {
				continue // topic deleted
			}
			ps, err := co.store.Partition(ctx, t.ID, o.Partition)
			if err != nil {
				continue
			}
			lags[lagKey{name, o.Topic, o.Partition}] = max(0, ps.NextOffset-o.Offset)
		}
	}
	co.lag.Reset()
	for k, v := range lags {
		co.lag.WithLabelValues(k.group, k.topic, strconv.Itoa(int(k.partition))).Set(float64(v))
	}
	return nil
}
