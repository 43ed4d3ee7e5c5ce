package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/segments/segmentstest"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// outageStore is a metadata store that can be taken down: then every
// method the tests use fails as a store that cannot be reached does, with
// an address in its text.
type outageStore struct {
	metadata.Store
	down atomic.Bool
}

func (s *outageStore) fail() error {
	if s.down.Load() {
		return fmt.Errorf("dial tcp 10.9.8.7:5432: connection refused: %w", metadata.ErrUnavailable)
	}
	return nil
}

func (s *outageStore) Topic(ctx context.Context, name string) (metadata.Topic, error) {
	if err := s.fail(); err != nil {
		return metadata.Topic{}, err
	}
	return s.Store.Topic(ctx, name)
}

func (s *outageStore) Topics(ctx context.Context) ([]metadata.Topic, error) {
	if err := s.fail(); err != nil {
		return nil, err
	}
	return s.Store.Topics(ctx)
}

func (s *outageStore) TopicByID(ctx context.Context, id uuid.UUID) (metadata.Topic, error) {
	if err := s.fail(); err != nil {
		return metadata.Topic{}, err
	}
	return s.Store.TopicByID(ctx, id)
}

func (s *outageStore) CommitObject(ctx context.Context, c metadata.ObjectCommit) (metadata.CommitResult, error) {
	if err := s.fail(); err != nil {
		return metadata.CommitResult{}, err
	}
	return s.Store.CommitObject(ctx, c)
}

func (s *outageStore) LoadGroup(ctx context.Context, name string) (metadata.GroupRecord, error) {
	if err := s.fail(); err != nil {
		return metadata.GroupRecord{}, err
	}
	return s.Store.LoadGroup(ctx, name)
}

// While the metadata store is down: Metadata describes the topics as last
// seen (and a topic never seen as LEADER_NOT_AVAILABLE), produce fails
// with the retriable KAFKA_STORAGE_ERROR, group requests with
// COORDINATOR_NOT_AVAILABLE, and no response carries the store's error
// text. Before, Metadata carried KAFKA_STORAGE_ERROR as a topic error,
// which librdkafka fails deliveries on.
func TestMetadataStoreOutage(t *testing.T) {
	var store *outageStore
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	g := newTestGatewayWith(t, Config{Now: now}, func(s metadata.Store) metadata.Store {
		store = &outageStore{Store: s}
		return store
	})
	c := testConn(t, g)
	ask := func(r kmsg.Request) kmsg.Response {
		t.Helper()
		rep, err := c.handle(requestBody(r, 1))
		if err != nil {
			t.Fatal(err)
		}
		<-rep.done
		return rep.resp
	}
	md := kmsg.NewPtrMetadataRequest()
	md.SetVersion(12)
	ask(md) // the gateway sees every topic once
	store.down.Store(true)
	skew.Store(int64(time.Hour)) // every cached topic is past TopicTTL

	all := ask(md).(*kmsg.MetadataResponse)
	if len(all.Topics) != 1 || *all.Topics[0].Topic != "fuzz" || all.Topics[0].ErrorCode != 0 || len(all.Topics[0].Partitions) != 2 {
		t.Errorf("all topics while the store is down: %+v, want fuzz with 2 partitions and no error", all.Topics)
	}
	named := kmsg.NewPtrMetadataRequest()
	named.SetVersion(12)
	for _, name := range []string{"fuzz", "never-seen"} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		named.Topics = append(named.Topics, rt)
	}
	got := ask(named).(*kmsg.MetadataResponse)
	if code := got.Topics[0].ErrorCode; code != 0 {
		t.Errorf("fuzz while the store is down: %v, want no error", kerr.ErrorForCode(code))
	}
	if code := got.Topics[1].ErrorCode; code != kerr.LeaderNotAvailable.Code {
		t.Errorf("a topic never seen while the store is down: %v, want LEADER_NOT_AVAILABLE", kerr.ErrorForCode(code))
	}

	pr := kmsg.NewPtrProduceRequest()
	pr.SetVersion(9)
	pr.Acks, pr.TimeoutMillis = -1, 5000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "fuzz"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = segmentstest.Batch("x")
	pt.Partitions = append(pt.Partitions, pp)
	pr.Topics = append(pr.Topics, pt)
	p := ask(pr).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
	if p.ErrorCode != kerr.KafkaStorageError.Code {
		t.Errorf("produce while the store is down: %v, want KAFKA_STORAGE_ERROR", kerr.ErrorForCode(p.ErrorCode))
	}
	if p.ErrorMessage != nil && strings.Contains(*p.ErrorMessage, "10.9.8.7") {
		t.Errorf("the produce error message shows the store's address: %q", *p.ErrorMessage)
	}

	jg := joinRequest("outage-group")
	if r := ask(jg).(*kmsg.JoinGroupResponse); r.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Errorf("JoinGroup while the store is down: %v, want COORDINATOR_NOT_AVAILABLE", kerr.ErrorForCode(r.ErrorCode))
	}
}

func joinRequest(group string) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.SetVersion(9)
	req.Group, req.ProtocolType = group, "consumer"
	req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{}}}
	return req
}
