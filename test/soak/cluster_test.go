package soak

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caudal/caudal/test/testenv"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cluster is caudal as it is deployed: three gateways and a worker as
// processes of their own on MinIO and PostgreSQL, each of which the soak
// can take away.
type cluster struct {
	minio    *testenv.StoppableMinIO
	pg       *testenv.StoppablePostgres
	gateways []*testenv.Process
	worker   *child
}

func startCluster(t *testing.T, dir string) *cluster {
	t.Helper()
	c := &cluster{minio: testenv.StartStoppableMinIO(t), pg: testenv.StartStoppablePostgres(t)}
	bucketURL := c.minio.URL(c.minio.NewBucket(t), "caudal")
	// Default flush and heartbeat settings: the soak tests caudal as
	// users run it.
	for range 3 {
		c.gateways = append(c.gateways, testenv.StartProcess(t, bucketURL, c.pg.URL))
	}
	// Compaction every 2 s (merge's MinAge stays 1 minute: the worker has
	// no flag for it), orphan GC every 30 s, and debug logs, whose
	// "merged rows" lines tell when the worker is compacting.
	c.worker = &child{name: "worker", log: filepath.Join(dir, "worker.log"), argv: []string{
		testenv.CaudalBinary(t), "worker", "--bucket-url", bucketURL, "--metadata-url", c.pg.URL,
		"--compaction-interval", "2s", "--retention-check-interval", "30s", "--log-level", "debug"}}
	c.worker.start(t)
	t.Cleanup(c.worker.kill)
	return c
}

func (c *cluster) bootstrap() []string {
	var addrs []string
	for _, g := range c.gateways {
		addrs = append(addrs, g.Addr)
	}
	return addrs
}

// notServing lists the gateways that do not answer a Metadata request for
// the topic on a connection of their own, and a worker that exited: what
// did not survive.
func (c *cluster) notServing() []string {
	var down []string
	for i, g := range c.gateways {
		if err := serving(g.Addr); err != nil {
			down = append(down, fmt.Sprintf("gateway %d (%s): %v", i, g.Addr, err))
		}
	}
	if !c.worker.running() {
		down = append(down, "worker exited")
	}
	return down
}

func serving(addr string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return err
	}
	for _, rt := range resp.(*kmsg.MetadataResponse).Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return err
		}
	}
	return nil
}

// keepLogs copies the gateways' logs and the servers' into dir, beside the
// worker's and the clients'.
func (c *cluster) keepLogs(dir string) {
	for i, g := range c.gateways {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("gateway-%d.log", i)), []byte(g.Log()), 0o644)
	}
	for name, path := range map[string]string{"minio.log": c.minio.LogPath(), "postgres.log": c.pg.LogPath()} {
		if b, err := os.ReadFile(path); err == nil {
			os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
	}
}
