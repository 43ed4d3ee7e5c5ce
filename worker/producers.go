package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
)

// expireProducers forgets the idempotent producers that have not written
// to a partition for producer.id.expiration.ms, as Kafka does, so that the
// state of producers long gone does not pile up in the metadata store.
func expireProducers(ctx context.Context, store metadata.Store, broker *topicconfig.Broker, log *slog.Logger) {
	age := time.Duration(broker.Int("producer.id.expiration.ms")) * time.Millisecond
	n, err := store.ExpireProducers(ctx, age)
	if err != nil && ctx.Err() == nil {
		log.Error("producer expiry pass", "err", err)
	}
	if n > 0 {
		log.Info("expired idempotent producer state", "rows", n, "idle_for", age)
	}
}
