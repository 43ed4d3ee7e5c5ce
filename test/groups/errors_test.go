package groups

import (
	"context"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestBadCommitsAndRestart checks OffsetCommit's errors with a real
// group, then that a restart keeps the offsets and raises the generation.
func TestBadCommitsAndRestart(t *testing.T) {
	c := start(t)
	testenv.CreateTopics(t, c.Addr, 2, "bad")
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	instance := "static-1"
	join := func(member string) *kmsg.JoinGroupResponse {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.InstanceID, req.ProtocolType = "bad-group", member, &instance, "consumer"
		req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 10000, 10000
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0, 0, 0, 0, 0, 0, 0}}}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.ErrorCode != 0 {
			t.Fatalf("join: %v %+v", err, resp)
		}
		return resp
	}
	j := join("")
	sreq := kmsg.NewPtrSyncGroupRequest()
	sreq.Group, sreq.MemberID, sreq.Generation, sreq.InstanceID = "bad-group", j.MemberID, j.Generation, &instance
	sreq.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: j.MemberID, MemberAssignment: []byte{}}}
	if sresp, err := sreq.RequestWith(ctx, cl); err != nil || sresp.ErrorCode != 0 {
		t.Fatalf("sync: %v %+v", err, sresp)
	}
	commit := func(member string, gen int32, topic string, part int32) int16 {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Group, req.MemberID, req.Generation, req.InstanceID = "bad-group", member, gen, &instance
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = part, 7
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	for _, tc := range []struct {
		name   string
		member string
		gen    int32
		topic  string
		part   int32
		want   *kerr.Error
	}{
		{"unknown topic", j.MemberID, j.Generation, "nope", 0, kerr.UnknownTopicOrPartition},
		{"unknown partition", j.MemberID, j.Generation, "bad", 9, kerr.UnknownTopicOrPartition},
		{"stale generation", j.MemberID, j.Generation - 1, "bad", 0, kerr.IllegalGeneration},
		{"good", j.MemberID, j.Generation, "bad", 0, nil},
	} {
		code := commit(tc.member, tc.gen, tc.topic, tc.part)
		if want := int16(0); tc.want != nil {
			want = tc.want.Code
			if code != want {
				t.Errorf("%s: code %d, want %s", tc.name, code, tc.want.Message)
			}
		} else if code != 0 {
			t.Errorf("%s: code %d", tc.name, code)
		}
	}
	// The static member is replaced by a new incarnation: the old id is fenced.
	j2 := join("")
	if code := commit(j.MemberID, j.Generation, "bad", 0); code != kerr.FencedInstanceID.Code {
		t.Errorf("replaced static member: code %d, want FENCED_INSTANCE_ID", code)
	}
	instance = "other"
	if code := commit("nobody", j.Generation, "bad", 0); code != kerr.UnknownMemberID.Code {
		t.Errorf("unknown member: code %d, want UNKNOWN_MEMBER_ID", code)
	}
	instance = "static-1"

	// Restart: offsets kept, the member rejoins at a higher generation.
	time.Sleep(200 * time.Millisecond) // let the persister save
	c.Restart(t)
	cl2, err := kgo.NewClient(kgo.SeedBrokers(c.Addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	cl = cl2
	offs, err := admin(t, c.Addr).FetchOffsets(ctx, "bad-group")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup("bad", 0); !ok || o.At != 7 {
		t.Fatalf("offset after restart: %+v %v", o, ok)
	}
	j3 := join(j2.MemberID)
	if j3.Generation <= j2.Generation {
		t.Fatalf("generation after restart %d, before %d", j3.Generation, j2.Generation)
	}
	t.Logf("generation %d before restart, %d after", j2.Generation, j3.Generation)
}
