package gateway

import (
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/metadata"
)

// serveRequest serves req on c and returns its response.
func serveRequest(t *testing.T, c *conn, req kmsg.Request) kmsg.Response {
	t.Helper()
	r, err := c.handle(requestBody(req, 1))
	if err != nil {
		t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	<-r.done
	return r.resp
}

// noError is error code 0, for tables of expected codes.
var noError = &kerr.Error{Message: "NONE"}

func wantErrorCode(t *testing.T, what string, got int16, want *kerr.Error) {
	t.Helper()
	if got != want.Code {
		t.Errorf("%s: %v, want %s", what, kerr.ErrorForCode(got), want.Message)
	}
}

func reassignRequest(version int16, topic string, partition int32, replicas []int32) *kmsg.AlterPartitionAssignmentsRequest {
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.SetVersion(version)
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Partition, rp.Replicas = partition, replicas
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// Each partition of a reassignment gets the code Kafka's controller gives
// it; a valid one is done at once and none is ever listed in progress.
func TestAlterPartitionReassignments(t *testing.T) {
	g := newTestGateway(t)
	c := testConn(t, g)
	self := g.NodeID()
	cases := []struct {
		name      string
		version   int16
		topic     string
		partition int32
		replicas  []int32
		allowRF   bool
		want      *kerr.Error
	}{
		{"valid", 0, "fuzz", 1, []int32{self}, true, noError},
		{"unknown topic", 0, "nope", 0, []int32{self}, true, kerr.UnknownTopicOrPartition},
		{"unknown partition", 0, "fuzz", 2, []int32{self}, true, kerr.UnknownTopicOrPartition},
		{"negative partition", 0, "fuzz", -1, []int32{self}, true, kerr.UnknownTopicOrPartition},
		{"cancel with none in progress", 0, "fuzz", 0, nil, true, kerr.NoReassignmentInProgress},
		{"empty replicas", 0, "fuzz", 0, []int32{}, true, kerr.InvalidReplicaAssignment},
		{"broker that is not a gateway", 0, "fuzz", 0, []int32{self, 4242}, true, kerr.InvalidReplicaAssignment},
		{"broker named twice", 0, "fuzz", 0, []int32{self, self}, true, kerr.InvalidReplicaAssignment},
		{"v1 replication factor kept", 1, "fuzz", 0, []int32{self}, false, noError},
		{"v1 replication factor changed, allowed", 1, "fuzz", 0, []int32{self}, true, noError},
	}
	for _, tc := range cases {
		req := reassignRequest(tc.version, tc.topic, tc.partition, tc.replicas)
		req.AllowReplicationFactorChange = tc.allowRF
		resp := serveRequest(t, c, req).(*kmsg.AlterPartitionAssignmentsResponse)
		wantErrorCode(t, tc.name+" (top level)", resp.ErrorCode, noError)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("%s: answered %+v", tc.name, resp.Topics)
		}
		p := resp.Topics[0].Partitions[0]
		if resp.Topics[0].Topic != tc.topic || p.Partition != tc.partition {
			t.Errorf("%s: answered %s/%d", tc.name, resp.Topics[0].Topic, p.Partition)
		}
		wantErrorCode(t, tc.name, p.ErrorCode, tc.want)
		if (tc.want == noError) != (p.ErrorMessage == nil) {
			t.Errorf("%s: message %v", tc.name, p.ErrorMessage)
		}
	}

	// KIP-860: without AllowReplicationFactorChange a count other than
	// the one replica Metadata lists is refused, once the ids are valid.
	topics := map[string]metadata.Topic{"fuzz": {Name: "fuzz", Partitions: 2}}
	live := map[int32]bool{self: true, self + 1: true}
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Replicas = []int32{self + 1, self}
	for _, allow := range []bool{false, true} {
		err := reassignment(topics, live, "fuzz", rp, allow)
		if want := map[bool]int16{false: kerr.InvalidReplicationFactor.Code, true: 0}[allow]; errCode(err) != want {
			t.Errorf("two replicas, allowed %v: %v", allow, err)
		}
	}
	rp.Replicas = []int32{self + 2, self}
	if err := reassignment(topics, live, "fuzz", rp, false); errCode(err) != kerr.InvalidReplicaAssignment.Code {
		t.Errorf("a dead broker and a changed count: %v, want the dead broker named first, as Kafka", err)
	}

	list := kmsg.NewPtrListPartitionReassignmentsRequest()
	lt := kmsg.NewListPartitionReassignmentsRequestTopic()
	lt.Topic, lt.Partitions = "fuzz", []int32{0, 1}
	unknown := kmsg.NewListPartitionReassignmentsRequestTopic()
	unknown.Topic, unknown.Partitions = "nope", []int32{0}
	list.Topics = append(list.Topics, lt, unknown)
	for _, topics := range [][]kmsg.ListPartitionReassignmentsRequestTopic{list.Topics, nil} {
		list.Topics = topics
		lresp := serveRequest(t, c, list).(*kmsg.ListPartitionReassignmentsResponse)
		if lresp.ErrorCode != 0 || len(lresp.Topics) != 0 {
			t.Errorf("list %v: error %v, topics %+v; want none in progress", topics, kerr.ErrorForCode(lresp.ErrorCode), lresp.Topics)
		}
	}
}

func electRequest(version int16, topics map[string][]int32) *kmsg.ElectLeadersRequest {
	req := kmsg.NewPtrElectLeadersRequest()
	req.SetVersion(version)
	for topic, parts := range topics {
		rt := kmsg.NewElectLeadersRequestTopic()
		rt.Topic, rt.Partitions = topic, parts
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// Every existing partition already has its preferred leader; unknown ones
// are UNKNOWN_TOPIC_OR_PARTITION; a null list leaves out every partition,
// as Kafka leaves out those that need no election.
func TestElectLeaders(t *testing.T) {
	g := newTestGateway(t)
	c := testConn(t, g)
	for _, v := range []int16{0, 1, 2} {
		for _, typ := range []int8{0, 1} {
			req := electRequest(v, map[string][]int32{"fuzz": {0, 1, 2, 0}, "nope": {0}})
			req.ElectionType = typ
			resp := serveRequest(t, c, req).(*kmsg.ElectLeadersResponse)
			wantErrorCode(t, "top level", resp.ErrorCode, noError)
			got := map[string][]int16{}
			for _, rt := range resp.Topics {
				for _, p := range rt.Partitions {
					got[rt.Topic] = append(got[rt.Topic], p.ErrorCode)
				}
			}
			nn, unk := kerr.ElectionNotNeeded.Code, kerr.UnknownTopicOrPartition.Code
			if want := []int16{nn, nn, unk, nn}; !equalCodes(got["fuzz"], want) {
				t.Errorf("v%d type %d fuzz: %v, want %v", v, typ, got["fuzz"], want)
			}
			if want := []int16{unk}; !equalCodes(got["nope"], want) {
				t.Errorf("v%d type %d nope: %v, want %v", v, typ, got["nope"], want)
			}
		}
	}

	all := serveRequest(t, c, electRequest(2, nil)).(*kmsg.ElectLeadersResponse)
	if all.ErrorCode != 0 || len(all.Topics) == 0 {
		t.Fatalf("null topics: error %v, %d topics", kerr.ErrorForCode(all.ErrorCode), len(all.Topics))
	}
	for _, rt := range all.Topics {
		if len(rt.Partitions) != 0 {
			t.Errorf("null topics: %s lists %d partitions needing no election", rt.Topic, len(rt.Partitions))
		}
	}

	bad := electRequest(2, map[string][]int32{"fuzz": {0}})
	bad.ElectionType = 7
	resp := serveRequest(t, c, bad).(*kmsg.ElectLeadersResponse)
	wantErrorCode(t, "election type 7", resp.ErrorCode, kerr.InvalidRequest)
	wantErrorCode(t, "election type 7, partition", resp.Topics[0].Partitions[0].ErrorCode, kerr.InvalidRequest)
}

func equalCodes(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A request naming more partitions than Kafka's controller takes in one
// operation is refused at the top level with POLICY_VIOLATION, and the
// answer does not grow with the count: a million partitions cost neither
// a million results nor a million lookups.
func TestHugePartitionCountsAreBounded(t *testing.T) {
	g := newTestGateway(t)
	c := testConn(t, g)
	const huge = 1 << 20

	elect := electRequest(2, map[string][]int32{"fuzz": make([]int32, huge)})
	reassign := reassignRequest(0, "fuzz", 0, []int32{g.NodeID()})
	reassign.Topics[0].Partitions = make([]kmsg.AlterPartitionAssignmentsRequestTopicPartition, huge/8)
	list := kmsg.NewPtrListPartitionReassignmentsRequest()
	list.Topics = []kmsg.ListPartitionReassignmentsRequestTopic{{Topic: "fuzz", Partitions: make([]int32, huge)}}
	logDirs := kmsg.NewPtrDescribeLogDirsRequest()
	logDirs.SetVersion(4)
	logDirs.Topics = []kmsg.DescribeLogDirsRequestTopic{{Topic: "fuzz", Partitions: make([]int32, huge)}}

	for _, req := range []kmsg.Request{elect, reassign, list, logDirs} {
		name := kmsg.NameForKey(req.Key())
		body := requestBody(req, 1)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, err := c.handle(body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		<-r.done
		runtime.ReadMemStats(&after)
		encoded := appendResponse(nil, r)
		if len(encoded) > 4<<10 {
			t.Errorf("%s: %d-byte response to %d partitions", name, len(encoded), huge)
		}
		// Decoding the request is most of it; the answer adds little.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(len(body))*12+(8<<20) {
			t.Errorf("%s: allocated %d MiB for a %d MiB request", name, grew>>20, len(body)>>20)
		}
		switch resp := r.resp.(type) {
		case *kmsg.ElectLeadersResponse:
			wantErrorCode(t, name, resp.ErrorCode, kerr.PolicyViolation)
		case *kmsg.AlterPartitionAssignmentsResponse:
			wantErrorCode(t, name, resp.ErrorCode, kerr.PolicyViolation)
		case *kmsg.ListPartitionReassignmentsResponse:
			wantErrorCode(t, name, resp.ErrorCode, noError) // nothing to list, whatever the count
		case *kmsg.DescribeLogDirsResponse:
			// Duplicates collapse: partition 0, once.
			if len(resp.Dirs) != 1 || len(resp.Dirs[0].Topics) != 1 || len(resp.Dirs[0].Topics[0].Partitions) != 1 {
				t.Errorf("%s: answered %+v", name, resp.Dirs)
			}
		}
	}
}
