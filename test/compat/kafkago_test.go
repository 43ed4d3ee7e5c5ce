package compat

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/scram"
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
	cl := &kafka.Client{Addr: kafka.TCP(e.Addr), Timeout: 20 * time.Second, Transport: kafkagoTransport(t, e)}
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
		Transport:    kafkagoTransport(t, e),
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
		Dialer:            kafkagoDialer(t, e),
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

// kafkagoTransport is the Transport of kafka-go's Client and Writer on a
// TLS listener; nil (kafka-go's default) on PLAINTEXT.
func kafkagoTransport(t *testing.T, e env) kafka.RoundTripper {
	if e.Sec == nil {
		return nil
	}
	return &kafka.Transport{TLS: e.Sec.TLS, SASL: kafkagoSASL(t, e.Sec)}
}

// kafkagoDialer is the Dialer of kafka-go's Reader (it does not use a
// Transport) on a TLS listener; nil (kafka-go's default) on PLAINTEXT.
func kafkagoDialer(t *testing.T, e env) *kafka.Dialer {
	if e.Sec == nil {
		return nil
	}
	return &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, TLS: e.Sec.TLS, SASLMechanism: kafkagoSASL(t, e.Sec)}
}

func kafkagoSASL(t *testing.T, s *security) sasl.Mechanism {
	if s.User == "" {
		return nil
	}
	m, err := scram.Mechanism(scram.SHA512, s.User, s.Password)
	if err != nil {
		t.Fatalf("kafka-go SCRAM mechanism: %v", err)
	}
	return m
}
