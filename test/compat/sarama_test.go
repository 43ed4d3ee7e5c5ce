package compat

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// IBM/sarama: ClusterAdmin, an idempotent SyncProducer and a classic
// consumer group (range assignment) that marks each message once
// processed and commits synchronously.
func init() {
	register(client{
		name:        "sarama",
		idempotent:  true,
		createTopic: saramaCreate,
		produce:     saramaProduce,
		consume:     saramaConsume,
	})
}

func saramaConfig(e env) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "caudal-compat"
	cfg.Version = sarama.V3_6_0_0
	cfg.Metadata.Retry.Max = 10
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	if s := e.Sec; s != nil {
		cfg.Net.TLS.Enable = true
		cfg.Net.TLS.Config = s.TLS
		if s.User != "" {
			cfg.Net.SASL.Enable = true
			cfg.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			cfg.Net.SASL.User = s.User
			cfg.Net.SASL.Password = s.Password
			// sarama has no SCRAM of its own: applications plug one
			// in, usually github.com/xdg-go/scram as here.
			cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgSCRAM{hash: scram.SHA512} }
		}
	}
	return cfg
}

// xdgSCRAM is sarama's SCRAMClient over xdg-go/scram, as sarama's own
// example writes it.
type xdgSCRAM struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (x *xdgSCRAM) Begin(user, password, authzID string) error {
	cl, err := x.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	x.conv = cl.NewConversation()
	return nil
}

func (x *xdgSCRAM) Step(challenge string) (string, error) { return x.conv.Step(challenge) }
func (x *xdgSCRAM) Done() bool                            { return x.conv.Done() }

func saramaCreate(t *testing.T, ctx context.Context, e env) {
	adm, err := sarama.NewClusterAdmin([]string{e.Addr}, saramaConfig(e))
	if err != nil {
		t.Fatalf("sarama cluster admin: %v", err)
	}
	defer adm.Close()
	if err := adm.CreateTopic(e.Topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
		t.Fatalf("sarama create topic: %v", err)
	}
}

func saramaProduce(t *testing.T, ctx context.Context, e env, recs []record) {
	cfg := saramaConfig(e)
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1 // required with Idempotent
	cfg.Producer.Retry.Max = 5
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewHashPartitioner
	p, err := sarama.NewSyncProducer([]string{e.Addr}, cfg)
	if err != nil {
		t.Fatalf("sarama producer: %v", err)
	}
	defer p.Close()
	msgs := make([]*sarama.ProducerMessage, len(recs))
	for i, r := range recs {
		msgs[i] = &sarama.ProducerMessage{Topic: e.Topic, Key: sarama.StringEncoder(r.Key), Value: sarama.StringEncoder(r.Value)}
	}
	if err := p.SendMessages(msgs); err != nil {
		var perrs sarama.ProducerErrors
		if errors.As(err, &perrs) && len(perrs) > 0 {
			t.Fatalf("sarama produce: %d failed, first: %v", len(perrs), perrs[0].Err)
		}
		t.Fatalf("sarama produce: %v", err)
	}
}

func saramaConsume(t *testing.T, ctx context.Context, e env, want int) []record {
	cfg := saramaConfig(e)
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Group.Session.Timeout = 6 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	g, err := sarama.NewConsumerGroup([]string{e.Addr}, e.Group, cfg)
	if err != nil {
		t.Fatalf("sarama consumer group: %v", err)
	}
	defer func() {
		if err := g.Close(); err != nil {
			t.Errorf("sarama consumer group close: %v", err)
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for err := range g.Errors() {
			t.Errorf("sarama consumer group: %v", err)
		}
	}()
	h := &saramaHandler{want: want, done: cancel}
	for ctx.Err() == nil {
		if err := g.Consume(ctx, []string{e.Topic}, h); err != nil {
			t.Fatalf("sarama consume: %v", err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) < want {
		t.Fatalf("sarama consumed %d of %d records before %v", len(h.got), want, ctx.Err())
	}
	return h.got
}

type saramaHandler struct {
	want int
	done func()
	mu   sync.Mutex
	got  []record
}

func (h *saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-c.Messages():
			if !ok {
				return nil
			}
			h.mu.Lock()
			if len(h.got) >= h.want {
				h.mu.Unlock()
				return nil
			}
			h.got = append(h.got, record{Partition: m.Partition, Offset: m.Offset, Key: string(m.Key), Value: string(m.Value)})
			n := len(h.got)
			h.mu.Unlock()
			// Commit after processing: MarkMessage stores offset+1;
			// Commit sends what is marked, synchronously, once the
			// records fetched so far are processed. (Committing after
			// every record costs up to Consumer.MaxWaitTime each:
			// sarama sends OffsetCommit on the connection its
			// long-polling Fetch holds, and a broker answers a
			// connection's requests in order — Apache Kafka as well.)
			s.MarkMessage(m, "")
			if n >= h.want || len(c.Messages()) == 0 {
				s.Commit()
			}
			if n >= h.want {
				h.done()
				return nil
			}
		case <-s.Context().Done():
			return nil
		}
	}
}
