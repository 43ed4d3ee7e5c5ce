package groups

// Consumer lag: caudal_consumer_group_lag{group,topic,partition} is the
// high watermark minus the committed offset, refreshed every lagRefresh.
// Group names are client input, so the series are bounded: past
// maxLagSeries, the groups last in name order are left out, and a warning
// says how many series were.

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/caudal/caudal/metadata"
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
	// Many groups read the same partitions: one store read each per pass.
	// A partition that could not be read is remembered too (ok false).
	type watermark struct {
		next int64
		ok   bool
	}
	watermarks := map[metadata.TopicPartition]watermark{}
	highWatermark := func(topic string, partition int32) watermark {
		tp := metadata.TopicPartition{Topic: topic, Partition: partition}
		if w, seen := watermarks[tp]; seen {
			return w
		}
		var w watermark
		if t, err := co.topics.ByName(ctx, topic); err == nil { // a deleted topic has no lag
			if ps, err := co.store.Partition(ctx, t.ID, partition); err == nil {
				w = watermark{next: ps.NextOffset, ok: true}
			}
		}
		watermarks[tp] = w
		return w
	}
	for _, name := range names {
		if !co.coordinates(name) {
			continue
		}
		offs, err := co.store.FetchOffsets(ctx, name)
		if err != nil {
			return err
		}
		for _, o := range offs {
			if w := highWatermark(o.Topic, o.Partition); w.ok {
				lags[lagKey{name, o.Topic, o.Partition}] = max(0, w.next-o.Offset)
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(lags), func(a, b lagKey) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
	})
	if len(keys) > maxLagSeries {
		co.log.Warn("consumer group lag series left out", "series", len(keys)-maxLagSeries, "max", maxLagSeries)
		keys = keys[:maxLagSeries]
	}
	co.lag.Reset()
	for _, k := range keys {
		co.lag.WithLabelValues(k.group, k.topic, strconv.Itoa(int(k.partition))).Set(float64(lags[k]))
	}
	return nil
}

// maxLagSeries bounds caudal_consumer_group_lag's series per gateway: a
// Prometheus series costs a few KiB here and in every scraper.
const maxLagSeries = 10_000
