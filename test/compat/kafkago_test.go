package compat

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// segmentio/kafka-go: Client.CreateTopics, a Writer with the hash
// balancer and acks=all (kafka-go has no idempotent producer), and a
// Reader in a consumer group (classic JoinGroup/SyncGroup, range
// assignment) that commits each message synchronously after processing.
func init() {
	register(client{
		name:        "kafka-go",
		createTopic: kafkagoCreate,
		produce:     kafkagoProduce,
		consume:     kafkagoConsume,
	})
}

func kafkagoCreate(t *testing.T, ctx context.Context, e env) {
	cl := &kafka.Client{Addr: kafka.TCP(e.Addr), Timeout: 20 * time.Second}
	resp, err := cl.CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: e.Topic, NumPartitions: partitions, ReplicationFactor: 1}},
	})
	if err != nil {
		t.Fatalf("kafka-go create topics: %v", err)
	}
	if err := resp.Errors[e.Topic]; err != nil {
		t.Fatalf("kafka-go create topic %s: %v", e.Topic, err)
	}
}

func kafkagoProduce(t *testing.T, ctx context.Context, e env, recs []record) {
	w := &kafka.Writer{
		Addr:         kafka.TCP(e.Addr),
		Topic:        e.Topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		MaxAttempts:  5,
	}
	defer w.Close()
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		msgs[i] = kafka.Message{Key: []byte(r.Key), Value: []byte(r.Value)}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		var werrs kafka.WriteErrors
		if errors.As(err, &werrs) {
			t.Fatalf("kafka-go produce: %d of %d failed: %v", werrs.Count(), len(msgs), err)
		}
		t.Fatalf("kafka-go produce: %v", err)
	}
}

func kafkagoConsume(t *testing.T, ctx context.Context, e env, want int) []record {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           []string{e.Addr},
		GroupID:           e.Group,
		Topic:             e.Topic,
		StartOffset:       kafka.FirstOffset,
		CommitInterval:    0, // CommitMessages commits synchronously
		MaxWait:           500 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		HeartbeatInterval: 500 * time.Millisecond,
		ErrorLogger:       kafka.LoggerFunc(func(f string, a ...any) { t.Logf("kafka-go reader: "+f, a...) }),
	})
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("kafka-go reader close: %v", err)
		}
	}()
	var got []record
	for len(got) < want {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("kafka-go fetch after %d of %d records: %v", len(got), want, err)
		}
		got = append(got, record{Partition: int32(m.Partition), Offset: m.Offset, Key: string(m.Key), Value: string(m.Value)})
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatalf("kafka-go commit: %v", err)
		}
	}
	return got
}
