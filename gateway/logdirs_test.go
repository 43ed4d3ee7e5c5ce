package gateway

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/metadata"
)

// DescribeLogDirs reports the bucket as the one log dir, without the
// URL's secrets, and each partition's size exactly as the
// caudal_log_size_bytes gauge does, which is what kafka-ui and
// kafka-log-dirs.sh show beside the dashboards.
func TestDescribeLogDirsMatchesStorageMetrics(t *testing.T) {
	const bucketURL = "s3://AKIDEXAMPLE:wJalrXUtnFEMI@caudal-bucket/prefix/logs?endpoint=http://127.0.0.1:9000&region=us-east-1&token=secret-token"
	g := newTestGatewayWith(t, Config{BucketURL: bucketURL}, nil)
	ctx := context.Background()
	if _, err := g.createTopic(ctx, metadata.TopicSpec{Name: "empty", Partitions: 3, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	c := testConn(t, g)
	produceTestBatches(t, c, map[int32][]string{0: {"a", "bb"}, 1: {"ccc"}})
	produceTestBatches(t, c, map[int32][]string{0: {"dddd"}})
	if err := g.refreshStorageStats(ctx); err != nil {
		t.Fatal(err)
	}

	for v := int16(1); v <= 5; v++ {
		req := kmsg.NewPtrDescribeLogDirsRequest()
		req.SetVersion(v)
		resp := serveRequest(t, c, req).(*kmsg.DescribeLogDirsResponse)
		if resp.ErrorCode != 0 || len(resp.Dirs) != 1 {
			t.Fatalf("v%d: error %d, %d dirs", v, resp.ErrorCode, len(resp.Dirs))
		}
		dir := resp.Dirs[0]
		if dir.Dir != "s3://caudal-bucket/prefix/logs" {
			t.Errorf("v%d: log dir %q, want the bucket URL without user info or query", v, dir.Dir)
		}
		if dir.ErrorCode != 0 || dir.TotalBytes != -1 || dir.UsableBytes != -1 || dir.IsCordoned {
			t.Errorf("v%d: dir error %d, total %d, usable %d, cordoned %v", v, dir.ErrorCode, dir.TotalBytes, dir.UsableBytes, dir.IsCordoned)
		}
		sizes := map[string]int64{}
		for _, dt := range dir.Topics {
			for _, dp := range dt.Partitions {
				if dp.OffsetLag != 0 || dp.IsFuture {
					t.Errorf("v%d %s/%d: lag %d, future %v", v, dt.Topic, dp.Partition, dp.OffsetLag, dp.IsFuture)
				}
				sizes[dt.Topic+"/"+strconv.Itoa(int(dp.Partition))] = dp.Size
			}
		}
		want := map[string]int{"fuzz": 2, "empty": 3}
		for topic, parts := range want {
			for p := range parts {
				key := topic + "/" + strconv.Itoa(p)
				got, ok := sizes[key]
				gauge := int64(gaugeValue(t, g.metrics.logSize.WithLabelValues(topic, strconv.Itoa(p))))
				if !ok || got != gauge {
					t.Errorf("v%d %s: DescribeLogDirs size %d (listed %v), caudal_log_size_bytes %d", v, key, got, ok, gauge)
				}
			}
		}
		if sizes["fuzz/0"] <= sizes["fuzz/1"] || sizes["fuzz/1"] == 0 {
			t.Errorf("v%d: sizes %v: two batches in partition 0 and one in 1 should show", v, sizes)
		}
	}
}

// Named topics and partitions that do not exist are left out, duplicates
// collapse, and a topic left with no partitions is not listed, as in
// Kafka's ReplicaManager.describeLogDirs.
func TestDescribeLogDirsNamedPartitions(t *testing.T) {
	g := newTestGatewayWith(t, Config{BucketURL: "file:///var/lib/caudal/objects"}, nil)
	c := testConn(t, g)
	req := kmsg.NewPtrDescribeLogDirsRequest()
	req.SetVersion(4)
	req.Topics = []kmsg.DescribeLogDirsRequestTopic{
		{Topic: "fuzz", Partitions: []int32{1, 1, 9, -3}},
		{Topic: "nope", Partitions: []int32{0}},
		{Topic: "fuzz", Partitions: []int32{0}},
	}
	resp := serveRequest(t, c, req).(*kmsg.DescribeLogDirsResponse)
	dir := resp.Dirs[0]
	if dir.Dir != "file:///var/lib/caudal/objects" {
		t.Errorf("log dir %q", dir.Dir)
	}
	var got []string
	for _, dt := range dir.Topics {
		for _, dp := range dt.Partitions {
			got = append(got, dt.Topic+"/"+strconv.Itoa(int(dp.Partition)))
		}
	}
	if strings.Join(got, " ") != "fuzz/0 fuzz/1" {
		t.Errorf("listed %v, want fuzz/0 fuzz/1", got)
	}

	req.Topics = []kmsg.DescribeLogDirsRequestTopic{{Topic: "fuzz", Partitions: []int32{5}}, {Topic: "nope"}}
	if topics := serveRequest(t, c, req).(*kmsg.DescribeLogDirsResponse).Dirs[0].Topics; len(topics) != 0 {
		t.Errorf("only missing partitions named: listed %+v", topics)
	}
}

func TestLogDirHidesSecrets(t *testing.T) {
	for in, want := range map[string]string{
		"s3://key:secret@bucket/p?endpoint=http://minio:9000&region=x": "s3://bucket/p",
		"s3://bucket?region=eu-west-1":                                 "s3://bucket",
		"file:///data/objects":                                         "file:///data/objects",
	} {
		if got := logDir(in); got != want {
			t.Errorf("logDir(%q) = %q, want %q", in, got, want)
		}
	}
}
