//go:build cgo

package compat

import (
	"context"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// confluent-kafka-go/v2 with the librdkafka it bundles (statically linked,
// needs cgo): AdminClient.CreateTopics, an idempotent producer and a
// consumer (classic protocol, range/roundrobin assignment) that commits
// each message synchronously after processing.
func init() {
	register(client{
		name:        "confluent-kafka-go",
		idempotent:  true,
		createTopic: confluentCreate,
		produce:     confluentProduce,
		consume:     confluentConsume,
	})
}

func confluentCreate(t *testing.T, ctx context.Context, e env) {
	adm, err := kafka.NewAdminClient(confluentConfig(e, kafka.ConfigMap{"bootstrap.servers": e.Addr}))
	if err != nil {
		t.Fatalf("confluent admin client: %v", err)
	}
	defer adm.Close()
	res, err := adm.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: e.Topic, NumPartitions: partitions, ReplicationFactor: 1}},
		kafka.SetAdminOperationTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("confluent create topics: %v", err)
	}
	for _, r := range res {
		if r.Error.Code() != kafka.ErrNoError {
			t.Fatalf("confluent create topic %s: %v", r.Topic, r.Error)
		}
	}
}

func confluentProduce(t *testing.T, ctx context.Context, e env, recs []record) {
	p, err := kafka.NewProducer(confluentConfig(e, kafka.ConfigMap{
		"bootstrap.servers":  e.Addr,
		"acks":               "all",
		"enable.idempotence": true,
		"linger.ms":          5,
	}))
	if err != nil {
		t.Fatalf("confluent producer: %v", err)
	}
	defer p.Close()
	deliveries := make(chan kafka.Event, len(recs))
	topic := e.Topic
	for _, r := range recs {
		err := p.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            []byte(r.Key),
			Value:          []byte(r.Value),
		}, deliveries)
		if err != nil {
			t.Fatalf("confluent produce: %v", err)
		}
	}
	for range recs {
		select {
		case ev := <-deliveries:
			m, ok := ev.(*kafka.Message)
			if !ok {
				t.Fatalf("confluent produce: unexpected event %v", ev)
			}
			if m.TopicPartition.Error != nil {
				t.Fatalf("confluent produce %s: %v", m.Key, m.TopicPartition.Error)
			}
		case <-ctx.Done():
			t.Fatalf("confluent produce: deliveries not reported: %v", ctx.Err())
		}
	}
}

func confluentConsume(t *testing.T, ctx context.Context, e env, want int) []record {
	c, err := kafka.NewConsumer(confluentConfig(e, kafka.ConfigMap{
		"bootstrap.servers":     e.Addr,
		"group.id":              e.Group,
		"auto.offset.reset":     "earliest",
		"enable.auto.commit":    false,
		"session.timeout.ms":    6000,
		"heartbeat.interval.ms": 500,
	}))
	if err != nil {
		t.Fatalf("confluent consumer: %v", err)
	}
	defer func() {
		if err := c.Close(); err != nil {
			t.Errorf("confluent consumer close: %v", err)
		}
	}()
	if err := c.Subscribe(e.Topic, nil); err != nil {
		t.Fatalf("confluent subscribe: %v", err)
	}
	var got []record
	for len(got) < want {
		if ctx.Err() != nil {
			t.Fatalf("confluent consumed %d of %d records: %v", len(got), want, ctx.Err())
		}
		m, err := c.ReadMessage(time.Second)
		if err != nil {
			if err.(kafka.Error).IsTimeout() {
				continue
			}
			t.Fatalf("confluent consume after %d records: %v", len(got), err)
		}
		got = append(got, record{Partition: m.TopicPartition.Partition, Offset: int64(m.TopicPartition.Offset), Key: string(m.Key), Value: string(m.Value)})
		if _, err := c.CommitMessage(m); err != nil {
			t.Fatalf("confluent commit: %v", err)
		}
	}
	return got
}

// confluentConfig is cfg plus, on a TLS listener, its librdkafka
// properties.
func confluentConfig(e env, cfg kafka.ConfigMap) *kafka.ConfigMap {
	for k, v := range e.Sec.rdkafka() {
		cfg[k] = v
	}
	return &cfg
}
