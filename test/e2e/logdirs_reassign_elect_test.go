package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/caudal/caudal/test/testenv"
)

// The admin APIs kafka-ui and Kafka's log-dirs, reassignment and
// leader-election tools use, from franz-go's kadm and sarama's
// ClusterAdmin, against caudal dev and against a gateway on MinIO and
// PostgreSQL: the bucket is the log dir with each partition's size,
// reassignments complete at once and bad ones get Kafka's codes, and no
// election is ever needed.
func TestLogDirsReassignmentsElections(t *testing.T) {
	deployments := map[string]func(t *testing.T) (addr, logDir string){
		"dev": func(t *testing.T) (string, string) {
			p := testenv.StartDev(t, "--flush-interval", "20ms")
			return p.Addr, "file://"
		},
		"minio+postgres": func(t *testing.T) (string, string) {
			bucketURL, metadataURL := testenv.StoreURLs(t, testenv.Cloud)
			p := testenv.StartProcess(t, bucketURL, metadataURL, "--flush-interval", "20ms")
			return p.Addr, strings.SplitN(bucketURL, "?", 2)[0]
		},
	}
	for name, start := range deployments {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr, logDir := start(t)
			testAdminAPIs(t, addr, logDir)
		})
	}
}

func testAdminAPIs(t *testing.T, addr, logDir string) {
	ctx := testCtx(t, 90*time.Second)
	cl := newClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "sizes"); err != nil {
		t.Fatal(err)
	}
	for p, n := range map[int32]int{0: 3, 1: 1} {
		for range n {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "sizes", Partition: p, Value: []byte("some bytes")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	brokers, err := adm.ListBrokers(ctx)
	if err != nil || len(brokers) != 1 {
		t.Fatalf("brokers %v: %v", brokers, err)
	}
	id := brokers[0].NodeID

	// DescribeLogDirs.
	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var dir kadm.DescribedLogDir
	for _, d := range dirs[id] {
		dir = d
	}
	if len(dirs[id]) != 1 || dir.Err != nil || !strings.HasPrefix(dir.Dir, logDir) || strings.Contains(dir.Dir, "?") ||
		strings.Contains(dir.Dir, testenv.MinIOPassword) || dir.TotalBytes != -1 || dir.UsableBytes != -1 {
		t.Fatalf("log dirs %+v, want one %s… without a query, sizes unknown", dirs, logDir)
	}
	sizes := map[int32]int64{}
	for p, dp := range dir.Topics["sizes"] {
		sizes[p] = dp.Size
	}
	if len(sizes) != 3 || sizes[0] <= sizes[1] || sizes[1] == 0 || sizes[2] != 0 {
		t.Errorf("kadm sizes %v: want 3 partitions, 0 > 1 > 2 = 0", sizes)
	}
	for _, version := range []sarama.KafkaVersion{sarama.V2_1_0_0, sarama.V3_6_0_0} {
		sa := saramaAdmin(t, addr, version)
		all, err := sa.DescribeLogDirs([]int32{id})
		if err != nil || len(all[id]) != 1 {
			t.Fatalf("sarama %s log dirs %v: %v", version, all, err)
		}
		got := map[int32]int64{}
		for _, st := range all[id][0].Topics {
			if st.Topic == "sizes" {
				for _, sp := range st.Partitions {
					got[sp.PartitionID] = sp.Size
				}
			}
		}
		if all[id][0].Path != dir.Dir || len(got) != 3 || got[0] != sizes[0] || got[1] != sizes[1] || got[2] != 0 {
			t.Errorf("sarama %s: dir %q sizes %v; kadm: dir %q sizes %v", version, all[id][0].Path, got, dir.Dir, sizes)
		}
	}

	// AlterPartitionReassignments.
	var req kadm.AlterPartitionAssignmentsReq
	req.Assign("sizes", 0, []int32{id})
	req.Assign("sizes", 1, []int32{id, id + 1000})
	req.CancelAssign("sizes", 2)
	req.Assign("nope", 0, []int32{id})
	altered, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		topic     string
		partition int32
		err       error
	}{
		{"sizes", 0, nil},
		{"sizes", 1, kerr.InvalidReplicaAssignment},
		{"sizes", 2, kerr.NoReassignmentInProgress},
		{"nope", 0, kerr.UnknownTopicOrPartition},
	} {
		if got := altered[want.topic][want.partition]; !errors.Is(got.Err, want.err) && got.Err != want.err {
			t.Errorf("kadm reassign %s/%d: %v (%s), want %v", want.topic, want.partition, got.Err, got.ErrMessage, want.err)
		}
	}
	listed, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{"sizes": {0: {}, 1: {}, 2: {}}})
	if err != nil || len(listed) != 0 {
		t.Errorf("kadm list reassignments: %v, %v; want none in progress", listed, err)
	}
	sa := saramaAdmin(t, addr, sarama.V3_6_0_0)
	if err := sa.AlterPartitionReassignments("sizes", [][]int32{{id}, {id}, {id}}); err != nil {
		t.Errorf("sarama reassign to the one gateway: %v", err)
	}
	if err := sa.AlterPartitionReassignments("sizes", [][]int32{{id + 1000}}); !errors.Is(err, sarama.ErrInvalidReplicaAssignment) {
		t.Errorf("sarama reassign to a broker that is not there: %v", err)
	}
	if err := sa.AlterPartitionReassignments("nope", [][]int32{{id}}); !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		t.Errorf("sarama reassign an unknown topic: %v", err)
	}
	if status, err := sa.ListPartitionReassignments("sizes", []int32{0, 1, 2}); err != nil || len(status) != 0 {
		t.Errorf("sarama list reassignments: %v, %v; want none in progress", status, err)
	}

	// ElectLeaders.
	elected, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"sizes": {0: {}, 1: {}, 5: {}}, "nope": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	for tp, want := range map[[2]any]error{
		{"sizes", int32(0)}: kerr.ElectionNotNeeded, {"sizes", int32(1)}: kerr.ElectionNotNeeded,
		{"sizes", int32(5)}: kerr.UnknownTopicOrPartition, {"nope", int32(0)}: kerr.UnknownTopicOrPartition,
	} {
		if got := elected[tp[0].(string)][tp[1].(int32)]; !errors.Is(got.Err, want) {
			t.Errorf("kadm elect %v: %v, want %v", tp, got.Err, want)
		}
	}
	for _, version := range []sarama.KafkaVersion{sarama.V2_1_0_0, sarama.V3_6_0_0} {
		res, err := saramaAdmin(t, addr, version).ElectLeaders(sarama.PreferredElection, map[string][]int32{"sizes": {0, 2}, "nope": {1}})
		if err != nil {
			t.Fatalf("sarama %s elect: %v", version, err)
		}
		if res["sizes"][0].ErrorCode != sarama.ErrElectionNotNeeded || res["sizes"][2].ErrorCode != sarama.ErrElectionNotNeeded ||
			res["nope"][1].ErrorCode != sarama.ErrUnknownTopicOrPartition {
			t.Errorf("sarama %s elect: sizes/0 %v, sizes/2 %v, nope/1 %v", version,
				res["sizes"][0].ErrorCode, res["sizes"][2].ErrorCode, res["nope"][1].ErrorCode)
		}
	}
}

func saramaAdmin(t *testing.T, addr string, version sarama.KafkaVersion) sarama.ClusterAdmin {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = version
	cfg.ClientID = "caudal-e2e"
	adm, err := sarama.NewClusterAdmin([]string{addr}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adm.Close() })
	return adm
}
