package gateway_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// adminRefusals sends DescribeLogDirs, ListPartitionReassignments,
// AlterPartitionReassignments and ElectLeaders (at each version given) as
// cl and returns, per request, the error code where Kafka puts a refusal:
// the top level and every echoed partition must agree.
func adminRefusals(t *testing.T, cl *kgo.Client) map[string]int16 {
	t.Helper()
	out := map[string]int16{}
	for _, v := range []int16{1, 4} {
		req := kmsg.NewPtrDescribeLogDirsRequest()
		req.SetVersion(v)
		// kgo merges a sharded request's answers, top-level code aside.
		shards := cl.RequestSharded(ctx10(t), req)
		if len(shards) != 1 || shards[0].Err != nil {
			t.Fatalf("DescribeLogDirs v%d: %+v", v, shards)
		}
		resp := shards[0].Resp.(*kmsg.DescribeLogDirsResponse)
		code := resp.ErrorCode
		if v < 3 && len(resp.Dirs) == 0 {
			code = kerr.ClusterAuthorizationFailed.Code // no field to say it in: no dirs
		}
		out[fmt.Sprintf("DescribeLogDirs v%d", v)] = code
	}

	list := kmsg.NewPtrListPartitionReassignmentsRequest()
	list.Topics = []kmsg.ListPartitionReassignmentsRequestTopic{{Topic: "t", Partitions: []int32{0}}}
	lresp, err := list.RequestWith(ctx10(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	out["ListPartitionReassignments"] = lresp.ErrorCode

	alter := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	at := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	at.Topic = "t"
	at.Partitions = []kmsg.AlterPartitionAssignmentsRequestTopicPartition{{Partition: 0}}
	alter.Topics = append(alter.Topics, at)
	aresp, err := alter.RequestWith(ctx10(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	out["AlterPartitionReassignments"] = aresp.ErrorCode
	if p := aresp.Topics[0].Partitions[0].ErrorCode; aresp.ErrorCode != 0 && p != aresp.ErrorCode {
		t.Errorf("AlterPartitionReassignments: top level %d, partition %d", aresp.ErrorCode, p)
	}

	for _, v := range []int16{0, 2} {
		elect := kmsg.NewPtrElectLeadersRequest()
		elect.SetVersion(v)
		elect.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "t", Partitions: []int32{0}}}
		eresp, err := elect.RequestWith(ctx10(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		code := eresp.Topics[0].Partitions[0].ErrorCode
		if v >= 1 && eresp.ErrorCode != 0 && eresp.ErrorCode != code {
			t.Errorf("ElectLeaders v%d: top level %d, partition %d", v, eresp.ErrorCode, code)
		}
		if code == kerr.ElectionNotNeeded.Code {
			code = 0
		}
		out[fmt.Sprintf("ElectLeaders v%d", v)] = code
	}
	return out
}

// As in Kafka: DESCRIBE on the cluster for DescribeLogDirs and
// ListPartitionReassignments, ALTER for AlterPartitionReassignments and
// ElectLeaders, else CLUSTER_AUTHORIZATION_FAILED.
func TestLogDirsReassignElectNeedClusterACLs(t *testing.T) {
	e := newACLEnv(t)
	addr, _ := e.gateway()
	admin := client(t, addr, "admin")
	if _, err := kadm.NewClient(admin).CreateTopic(ctx10(t), 1, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	denied, ok := kerr.ClusterAuthorizationFailed.Code, int16(0)
	for name, code := range adminRefusals(t, admin) {
		if code != ok {
			t.Errorf("super user, %s: %v", name, kerr.ErrorForCode(code))
		}
	}
	alice := client(t, addr, "alice")
	for name, code := range adminRefusals(t, alice) {
		if code != denied {
			t.Errorf("alice without cluster ACLs, %s: %v, want CLUSTER_AUTHORIZATION_FAILED", name, kerr.ErrorForCode(code))
		}
	}

	res, err := kadm.NewClient(admin).CreateACLs(ctx10(t), kadm.NewACLs().Allow("User:alice").Clusters().Operations(kadm.OpDescribe))
	if err != nil || res[0].Err != nil {
		t.Fatalf("grant DESCRIBE on the cluster: %v %v", err, res)
	}
	want := map[string]int16{
		"DescribeLogDirs v1": ok, "DescribeLogDirs v4": ok, "ListPartitionReassignments": ok,
		"AlterPartitionReassignments": denied, "ElectLeaders v0": denied, "ElectLeaders v2": denied,
	}
	eventually(t, "alice with DESCRIBE on the cluster", func() error {
		for name, code := range adminRefusals(t, alice) {
			if code != want[name] {
				return fmt.Errorf("%s: %v, want %v", name, kerr.ErrorForCode(code), kerr.ErrorForCode(want[name]))
			}
		}
		return nil
	})
}
