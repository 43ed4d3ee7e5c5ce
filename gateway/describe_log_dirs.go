package gateway

// DescribeLogDirs, versions 1–5 (Kafka 4.0 dropped v0, KIP-896).
//
// The bucket is the one log dir every gateway shares: it is reported as
// the bucket URL with its user info and query stripped, so credentials
// and parameters never leave the gateway. Each partition's size is the sum
// of its index rows' byte lengths, the same sum the caudal_log_size_bytes
// gauge reports; offset lag is 0 (there are no followers), no log is a
// future one, no dir is cordoned, and TotalBytes and UsableBytes are -1,
// Kafka's "unknown", since a bucket has no volume size. As Kafka's
// ReplicaManager.describeLogDirs, a null topic list means every
// partition, and requested topics or partitions that do not exist are
// simply absent, as are topics left with no partitions. A metadata store
// that cannot be read fails the dir, not the request. Needs DESCRIBE on
// the cluster; without it the response has no dirs and, from v3, a
// top-level CLUSTER_AUTHORIZATION_FAILED (KafkaApis.handleDescribeLogDirsRequest).

import (
	"net/url"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/metadata"
)

func init() { register(kmsg.DescribeLogDirs, 1, 5, serveDescribeLogDirs) }

func serveDescribeLogDirs(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DescribeLogDirsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	if !c.allowedCluster(kmsg.ACLOperationDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp
	}
	dir := kmsg.NewDescribeLogDirsResponseDir()
	dir.Dir = logDir(c.g.cfg.BucketURL)
	topics, err := c.logDirTopics(req.Topics)
	if err != nil {
		dir.ErrorCode = errCode(err)
	}
	dir.Topics = topics
	resp.Dirs = append(resp.Dirs, dir)
	return resp
}

// logDir is the bucket URL as clients see it: scheme, host and path. The
// user info may hold credentials and the query an endpoint's parameters.
func logDir(bucketURL string) string {
	u, err := url.Parse(bucketURL)
	if err != nil {
		return "" // unreachable: the bucket was opened from this URL
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// logDirTopics sizes the requested partitions (every partition when
// requested is nil), topics in request order. Duplicates collapse, and
// what is marked per topic is bounded by its real partition count, so the
// answer stays as small as the cluster whatever the request repeats.
func (c *conn) logDirTopics(requested []kmsg.DescribeLogDirsRequestTopic) ([]kmsg.DescribeLogDirsResponseDirTopic, error) {
	all, err := c.g.topics.List(c.ctx)
	if err != nil {
		return nil, err
	}
	var order []metadata.Topic
	wanted := map[string][]bool{}
	if requested == nil {
		for _, t := range all {
			order = append(order, t)
			wanted[t.Name] = nil // all of them
		}
	} else {
		byName := make(map[string]metadata.Topic, len(all))
		for _, t := range all {
			byName[t.Name] = t
		}
		for _, rt := range requested {
			t, ok := byName[rt.Topic]
			if !ok {
				continue
			}
			marks, seen := wanted[t.Name]
			if !seen {
				order = append(order, t)
				marks = make([]bool, t.Partitions)
				wanted[t.Name] = marks
			}
			for _, p := range rt.Partitions {
				if p >= 0 && p < t.Partitions {
					marks[p] = true
				}
			}
		}
	}
	var out []kmsg.DescribeLogDirsResponseDirTopic
	for _, t := range order {
		dt, err := c.logDirTopic(t, wanted[t.Name])
		if err != nil {
			return nil, err
		}
		if len(dt.Partitions) > 0 {
			out = append(out, dt)
		}
	}
	return out, nil
}

// logDirTopic sizes the partitions of t marked in wanted, or all of them
// when wanted is nil.
func (c *conn) logDirTopic(t metadata.Topic, wanted []bool) (kmsg.DescribeLogDirsResponseDirTopic, error) {
	dt := kmsg.NewDescribeLogDirsResponseDirTopic()
	dt.Topic = t.Name
	sizes, err := c.g.store.PartitionSizes(c.ctx, t.ID)
	if err != nil {
		return dt, err
	}
	for p := range t.Partitions {
		if wanted != nil && !wanted[p] {
			continue
		}
		dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
		dp.Partition, dp.Size = p, sizes[p]
		dt.Partitions = append(dt.Partitions, dp)
	}
	return dt, nil
}
