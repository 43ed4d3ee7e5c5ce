package gateway

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestBrokerConfigHostileRequests sends the config APIs lying counts and
// requests as large as a client may make them: the gateway closes the
// connection or answers with Kafka's codes, allocates nothing near a
// claimed count, stores nothing, and goes on serving.
func TestBrokerConfigHostileRequests(t *testing.T) {
	g := newTestGateway(t)
	addr := serveTestGateway(t, g)
	cl := testClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	healthy := func(t *testing.T) {
		t.Helper()
		req := kmsg.NewPtrDescribeConfigsRequest()
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
		req.Resources = append(req.Resources, rr)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || resp.Resources[0].ErrorCode != 0 || len(resp.Resources[0].Configs) == 0 {
			t.Fatalf("a normal DescribeConfigs fails afterwards: %v %+v", err, resp)
		}
	}
	allocated := allocationMeter()

	// Counts that claim 2^31-1 elements in a few bytes.
	huge := binary.BigEndian.AppendUint32(nil, 1<<31-1)
	brokerResource := append([]byte{byte(kmsg.ConfigResourceTypeBroker)}, 0, 0) // type, name ""
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"DescribeConfigs resources", append(header(int16(kmsg.DescribeConfigs), 1, 1), huge...)},
		{"DescribeConfigs config names", append(append(append(header(int16(kmsg.DescribeConfigs), 1, 2), 0, 0, 0, 1), brokerResource...), huge...)},
		{"IncrementalAlterConfigs configs", append(append(append(header(int16(kmsg.IncrementalAlterConfigs), 0, 3), 0, 0, 0, 1), brokerResource...), huge...)},
		{"AlterConfigs resources", append(header(int16(kmsg.AlterConfigs), 0, 4), huge...)},
		// A config name whose length runs past the frame.
		{"AlterConfigs lying name length", append(append(append(header(int16(kmsg.AlterConfigs), 0, 5), 0, 0, 0, 1), brokerResource...), 0, 0, 0, 1, 0x7f, 0xff, 'a')},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sendExpectClosed(t, addr, tc.body)
			healthy(t)
		})
	}

	// Real requests as large as a client may send: a hundred thousand
	// names to describe, a hundred thousand configs to set.
	t.Run("many config names", func(t *testing.T) {
		req := kmsg.NewPtrDescribeConfigsRequest()
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, "0"
		for i := range 100_000 {
			rr.ConfigNames = append(rr.ConfigNames, fmt.Sprintf("no.such.config.%d", i))
		}
		rr.ConfigNames = append(rr.ConfigNames, "num.partitions")
		req.Resources = append(req.Resources, rr)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if cs := resp.Resources[0].Configs; len(cs) != 1 || cs[0].Name != "num.partitions" {
			t.Fatalf("described %d configs", len(cs))
		}
	})
	t.Run("many configs to set", func(t *testing.T) {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType = kmsg.ConfigResourceTypeBroker
		for i := range 100_000 {
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Value = fmt.Sprintf("no.such.config.%d", i), kmsg.StringPtr("1")
			rr.Configs = append(rr.Configs, c)
		}
		req.Resources = append(req.Resources, rr)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if code := resp.Resources[0].ErrorCode; code != kerr.InvalidConfig.Code {
			t.Fatalf("setting 100000 unknown configs: %v", kerr.ErrorForCode(code))
		}
		stored, err := g.store.ListBrokerConfigs(ctx)
		if err != nil || len(stored) != 0 {
			t.Fatalf("refused configs were stored: %v %v", stored, err)
		}
		healthy(t)
	})

	if total, heap := allocated(); total > 512<<20 || heap > 256<<20 {
		t.Errorf("hostile config requests allocated %d MiB in all, and the heap holds %d MiB afterwards", total>>20, heap>>20)
	}
}

// allocationMeter starts counting after a GC; the function it returns
// gives the bytes allocated since and, after another GC, the heap in use.
func allocationMeter() func() (total, heap uint64) {
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	return func() (uint64, uint64) {
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, after.HeapAlloc
	}
}
