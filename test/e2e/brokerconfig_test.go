package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/test/testenv"
)

// startBrokerConfigDev runs caudal dev (gateway node 0 and the worker,
// whose retention runs every second) on backend's stores.
func startBrokerConfigDev(t *testing.T, backend testenv.Backend, extra ...string) (p *testenv.Process, bucketURL, metadataURL string) {
	t.Helper()
	args := []string{"--retention-check-interval", "1s", "--broker-config", "log.retention.hours=100", "--flush-interval", "20ms"}
	if backend == testenv.Cloud {
		bucketURL, metadataURL = testenv.StoreURLs(t, backend)
		args = append(args, "--bucket-url", bucketURL, "--metadata-url", metadataURL)
	}
	return testenv.StartDev(t, append(args, extra...)...), bucketURL, metadataURL
}

// brokerConfig finds name among rcs' configs.
func brokerConfig(t *testing.T, rcs kadm.ResourceConfigs, name string) kadm.Config {
	t.Helper()
	if len(rcs) != 1 || rcs[0].Err != nil {
		t.Fatalf("describe: %+v", rcs)
	}
	for _, c := range rcs[0].Configs {
		if c.Key == name {
			return c
		}
	}
	t.Fatalf("%s not described in %s", name, rcs[0].Name)
	return kadm.Config{}
}

func synonymsOf(c kadm.Config) string {
	var out []string
	for _, s := range c.Synonyms {
		v := "null"
		if s.Value != nil {
			v = *s.Value
		}
		out = append(out, s.Source.String()+":"+s.Key+"="+v)
	}
	return strings.Join(out, ", ")
}

// TestDynamicBrokerConfigs alters broker configs with kadm, at the
// cluster default and on broker 0, and checks that DescribeConfigs
// reports them as Kafka does, that they take effect without a restart
// (auto-creation and its partition count in the gateway, retention in
// the worker), and that a per-broker value wins over the default, which
// wins over the static flag.
func TestDynamicBrokerConfigs(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			p, _, _ := startBrokerConfigDev(t, backend)
			cl := newClient(t, p.Addr, kgo.DefaultProduceTopic("aged"))
			adm := kadm.NewClient(cl)
			ctx := testCtx(t, 2*time.Minute)
			testenv.CreateTopics(t, p.Addr, 1, "aged")

			// Static flag: STATIC_BROKER_CONFIG, before Kafka's default.
			rcs, err := adm.DescribeBrokerConfigs(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if c := brokerConfig(t, rcs, "log.retention.hours"); c.MaybeValue() != "100" ||
				synonymsOf(c) != "STATIC_BROKER_CONFIG:log.retention.hours=100, DEFAULT_CONFIG:log.retention.hours=168" {
				t.Errorf("static log.retention.hours: %s {%s}", c.MaybeValue(), synonymsOf(c))
			}
			if c := brokerConfig(t, rcs, "log.retention.ms"); c.Value != nil {
				t.Errorf("unset log.retention.ms = %q, want null as Kafka", *c.Value)
			}
			alterBroker(t, ctx, "alter the cluster default", adm.AlterBrokerConfigs, []kadm.AlterConfig{
				{Op: kadm.SetConfig, Name: "log.retention.ms", Value: kmsg.StringPtr("1500")},
				{Op: kadm.SetConfig, Name: "num.partitions", Value: kmsg.StringPtr("3")},
			})
			// The cluster default lists only what is set there.
			rcs, err = adm.DescribeBrokerConfigs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(rcs) != 1 || len(rcs[0].Configs) != 2 {
				t.Fatalf("cluster default described %+v", rcs)
			}
			if c := brokerConfig(t, rcs, "num.partitions"); c.MaybeValue() != "3" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
				t.Errorf("default num.partitions: %s from %s", c.MaybeValue(), c.Source)
			}
			// A topic's retention.ms falls back to it, as Kafka lists it.
			trcs, err := adm.DescribeTopicConfigs(ctx, "aged")
			if err != nil {
				t.Fatal(err)
			}
			if c := brokerConfig(t, trcs, "retention.ms"); c.MaybeValue() != "1500" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig ||
				synonymsOf(c) != "DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=1500, STATIC_BROKER_CONFIG:log.retention.hours=100, DEFAULT_CONFIG:log.retention.hours=168" {
				t.Errorf("topic retention.ms: %s from %s {%s}", c.MaybeValue(), c.Source, synonymsOf(c))
			}

			// The worker's retention applies the new default at its
			// next pass: records older than 1.5 s go.
			if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("old")}, &kgo.Record{Value: []byte("older")}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 30*time.Second, "retention to apply the dynamic log.retention.ms", func() bool {
				starts, err := adm.ListStartOffsets(ctx, "aged")
				o, _ := starts.Lookup("aged", 0)
				return err == nil && o.Offset == 2
			})

			// num.partitions applies to auto-created topics at once; the
			// creating request gets LEADER_NOT_AVAILABLE, as in Kafka.
			md := autoCreateMetadata("auto-three")
			resp, err := md.RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, "the creating Metadata request", resp.Topics[0].ErrorCode, kerr.LeaderNotAvailable)
			if resp, err = md.RequestWith(ctx, cl); err != nil || resp.Topics[0].ErrorCode != 0 || len(resp.Topics[0].Partitions) != 3 {
				t.Fatalf("the next Metadata request: %v, %+v", err, resp.Topics)
			}

			// Broker 0's own value wins over the cluster default.
			alterBroker(t, ctx, "alter broker 0", adm.AlterBrokerConfigs, []kadm.AlterConfig{
				{Op: kadm.SetConfig, Name: "auto.create.topics.enable", Value: kmsg.StringPtr("false")},
				{Op: kadm.SetConfig, Name: "num.partitions", Value: kmsg.StringPtr("5")},
			}, 0)
			resp, err = autoCreateMetadata("not-created").RequestWith(ctx, cl)
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, "Metadata with auto.create.topics.enable=false", resp.Topics[0].ErrorCode, kerr.UnknownTopicOrPartition)
			rcs, err = adm.DescribeBrokerConfigs(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if c := brokerConfig(t, rcs, "num.partitions"); c.MaybeValue() != "5" ||
				synonymsOf(c) != "DYNAMIC_BROKER_CONFIG:num.partitions=5, DYNAMIC_DEFAULT_BROKER_CONFIG:num.partitions=3, DEFAULT_CONFIG:num.partitions=1" {
				t.Errorf("broker 0 num.partitions: %s {%s}", c.MaybeValue(), synonymsOf(c))
			}

			// Deleting broker 0's value falls back to the default.
			alterBroker(t, ctx, "delete broker 0's auto.create.topics.enable", adm.AlterBrokerConfigs, []kadm.AlterConfig{
				{Op: kadm.DeleteConfig, Name: "auto.create.topics.enable"},
			}, 0)
			if resp, err = autoCreateMetadata("created-again").RequestWith(ctx, cl); err != nil {
				t.Fatal(err)
			}
			wantCode(t, "Metadata after the per-broker value is deleted", resp.Topics[0].ErrorCode, kerr.LeaderNotAvailable)

			// Legacy AlterConfigs replaces the default's whole set.
			alterBroker(t, ctx, "legacy alter of the default", adm.AlterBrokerConfigsState, []kadm.AlterConfig{
				{Name: "log.cleanup.policy", Value: kmsg.StringPtr("compact,delete")},
			})
			if rcs, err = adm.DescribeBrokerConfigs(ctx); err != nil || len(rcs[0].Configs) != 1 || rcs[0].Configs[0].Key != "log.cleanup.policy" {
				t.Fatalf("after legacy alter the default holds %+v (%v)", rcs, err)
			}
		})
	}
}

// alterBroker runs alter (kadm's incremental or legacy one) and fails t
// unless every broker resource was altered.
func alterBroker(t *testing.T, ctx context.Context, what string, alter func(context.Context, []kadm.AlterConfig, ...int32) (kadm.AlterConfigsResponses, error),
	configs []kadm.AlterConfig, brokers ...int32) {
	t.Helper()
	rs, err := alter(ctx, configs, brokers...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, r := range rs {
		if r.Err != nil {
			t.Fatalf("%s: %v %s", what, r.Err, r.ErrMessage)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

func autoCreateMetadata(topic string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, mt)
	req.AllowAutoTopicCreation = true
	return req
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > d {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestBrokerConfigErrors sends what Kafka refuses and checks Kafka's codes
// and messages, and that nothing was stored.
func TestBrokerConfigErrors(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			p, _, _ := startBrokerConfigDev(t, backend)
			cl := newClient(t, p.Addr)
			ctx := testCtx(t, time.Minute)
			broker0 := cl.Broker(0)
			incremental := func(resource string, validateOnly bool, configs ...kmsg.IncrementalAlterConfigsRequestResourceConfig) kmsg.IncrementalAlterConfigsResponseResource {
				t.Helper()
				req := kmsg.NewPtrIncrementalAlterConfigsRequest()
				rr := kmsg.NewIncrementalAlterConfigsRequestResource()
				rr.ResourceType, rr.ResourceName, rr.Configs = kmsg.ConfigResourceTypeBroker, resource, configs
				req.Resources, req.ValidateOnly = append(req.Resources, rr), validateOnly
				resp, err := req.RequestWith(ctx, broker0)
				if err != nil {
					t.Fatal(err)
				}
				return resp.Resources[0]
			}
			set := func(name string, value *string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
				c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
				c.Name, c.Op, c.Value = name, kmsg.IncrementalAlterConfigOpSet, value
				return c
			}
			for _, tc := range []struct {
				what, resource string
				configs        []kmsg.IncrementalAlterConfigsRequestResourceConfig
				want           *kerr.Error
				msg            string
			}{
				{"unknown config", "", []kmsg.IncrementalAlterConfigsRequestResourceConfig{set("log.retention.days", kmsg.StringPtr("1"))},
					kerr.InvalidConfig, "Unknown config name: log.retention.days"},
				{"static-only config", "", []kmsg.IncrementalAlterConfigsRequestResourceConfig{set("offsets.topic.num.partitions", kmsg.StringPtr("3"))},
					kerr.InvalidRequest, "Cannot update these configs dynamically: Set(offsets.topic.num.partitions)"},
				{"a gateway flag's config", "0", []kmsg.IncrementalAlterConfigsRequestResourceConfig{set("max.connections", kmsg.StringPtr("3"))},
					kerr.InvalidRequest, "Cannot update these configs dynamically: Set(max.connections)"},
				{"invalid value", "", []kmsg.IncrementalAlterConfigsRequestResourceConfig{set("log.retention.ms", kmsg.StringPtr("soon"))},
					kerr.InvalidRequest, "invalid value soon for configuration log.retention.ms"},
				{"value out of range", "0", []kmsg.IncrementalAlterConfigsRequestResourceConfig{set("num.partitions", kmsg.StringPtr("0"))},
					kerr.InvalidRequest, "invalid value 0 for configuration num.partitions: value must be at least 1"},
				{"broker id of no gateway", "7", []kmsg.IncrementalAlterConfigsRequestResourceConfig{set("num.partitions", kmsg.StringPtr("2"))},
					kerr.InvalidRequest, "Unexpected broker id, expected 0, but received 7"},
				{"broker id not a number", "zero", []kmsg.IncrementalAlterConfigsRequestResourceConfig{set("num.partitions", kmsg.StringPtr("2"))},
					kerr.InvalidRequest, "Broker id must be an integer, but it is: zero"},
				{"null value", "", []kmsg.IncrementalAlterConfigsRequestResourceConfig{set("num.partitions", nil)},
					kerr.InvalidRequest, "Null value not supported for : num.partitions"},
				{"config twice", "", []kmsg.IncrementalAlterConfigsRequestResourceConfig{set("num.partitions", kmsg.StringPtr("2")), set("num.partitions", kmsg.StringPtr("3"))},
					kerr.InvalidRequest, "Error due to duplicate config keys"},
				// One bad config refuses the whole resource.
				{"good and bad", "", []kmsg.IncrementalAlterConfigsRequestResourceConfig{set("num.partitions", kmsg.StringPtr("2")), set("delete.topic.enable", kmsg.StringPtr("false"))},
					kerr.InvalidRequest, "Cannot update these configs dynamically: Set(delete.topic.enable)"},
			} {
				r := incremental(tc.resource, false, tc.configs...)
				wantCode(t, tc.what, r.ErrorCode, tc.want)
				if r.ErrorMessage == nil || *r.ErrorMessage != tc.msg {
					t.Errorf("%s: message %q, want %q", tc.what, deref(r.ErrorMessage), tc.msg)
				}
			}
			// Validate-only checks and stores nothing.
			if r := incremental("", true, set("num.partitions", kmsg.StringPtr("9"))); r.ErrorCode != 0 {
				t.Fatalf("validate-only: %v", kerr.ErrorForCode(r.ErrorCode))
			}
			rcs, err := kadm.NewClient(cl).DescribeBrokerConfigs(ctx)
			if err != nil || len(rcs) != 1 || len(rcs[0].Configs) != 0 {
				t.Fatalf("after refused and validate-only changes the default holds %+v (%v)", rcs, err)
			}

			// Describing another broker is refused as Kafka refuses it.
			dreq := kmsg.NewPtrDescribeConfigsRequest()
			dr := kmsg.NewDescribeConfigsRequestResource()
			dr.ResourceType, dr.ResourceName = kmsg.ConfigResourceTypeBroker, "7"
			dreq.Resources = append(dreq.Resources, dr)
			dresp, err := dreq.RequestWith(ctx, broker0)
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, "describe broker 7", dresp.Resources[0].ErrorCode, kerr.InvalidRequest)
			if m := dresp.Resources[0].ErrorMessage; m == nil || *m != "Unexpected broker id, expected 0 or empty string, but received 7" {
				t.Errorf("describe broker 7: message %q", deref(m))
			}

			// The same resource twice in one request: both refused.
			areq := kmsg.NewPtrAlterConfigsRequest()
			for range 2 {
				ar := kmsg.NewAlterConfigsRequestResource()
				ar.ResourceType = kmsg.ConfigResourceTypeBroker
				areq.Resources = append(areq.Resources, ar)
			}
			aresp, err := areq.RequestWith(ctx, broker0)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range aresp.Resources {
				wantCode(t, "a resource named twice", r.ErrorCode, kerr.InvalidRequest)
			}
		})
	}
}

// TestBrokerConfigDocumentation: DescribeConfigs with documentation and
// synonyms reports, per config, its type, read-only flag and
// documentation, for topics and for a broker.
func TestBrokerConfigDocumentation(t *testing.T) {
	p, _, _ := startBrokerConfigDev(t, testenv.Dev)
	cl := newClient(t, p.Addr)
	testenv.CreateTopics(t, p.Addr, 1, "documented")
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, r := range []struct {
		typ  kmsg.ConfigResourceType
		name string
	}{{kmsg.ConfigResourceTypeTopic, "documented"}, {kmsg.ConfigResourceTypeBroker, "0"}} {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = r.typ, r.name
		req.Resources = append(req.Resources, rr)
	}
	req.IncludeDocumentation, req.IncludeSynonyms = true, true
	resp, err := req.RequestWith(testCtx(t, 30*time.Second), cl.Broker(0))
	if err != nil {
		t.Fatal(err)
	}
	// By resource, then config: the type and read-only flag Kafka gives.
	want := map[string]map[string]struct {
		typ      kmsg.ConfigType
		readOnly bool
	}{
		"documented": {
			"retention.ms":              {kmsg.ConfigTypeLong, false},
			"cleanup.policy":            {kmsg.ConfigTypeList, false},
			"preallocate":               {kmsg.ConfigTypeBoolean, false},
			"min.cleanable.dirty.ratio": {kmsg.ConfigTypeDouble, false},
			"compression.type":          {kmsg.ConfigTypeString, false},
		},
		"0": {
			"log.retention.hours":          {kmsg.ConfigTypeInt, false},
			"num.partitions":               {kmsg.ConfigTypeInt, false},
			"offsets.topic.num.partitions": {kmsg.ConfigTypeInt, true},
			"log.cleanup.policy":           {kmsg.ConfigTypeList, false},
		},
	}
	for _, res := range resp.Resources {
		if res.ErrorCode != 0 {
			t.Fatalf("%s: %v", res.ResourceName, kerr.ErrorForCode(res.ErrorCode))
		}
		for _, c := range res.Configs {
			if c.Documentation == nil || *c.Documentation == "" {
				t.Errorf("%s %s: no documentation", res.ResourceName, c.Name)
			}
			w, ok := want[res.ResourceName][c.Name]
			if !ok {
				continue
			}
			if c.ConfigType != w.typ || c.ReadOnly != w.readOnly {
				t.Errorf("%s %s: type %v read-only %v, want %v %v", res.ResourceName, c.Name, c.ConfigType, c.ReadOnly, w.typ, w.readOnly)
			}
			delete(want[res.ResourceName], c.Name)
		}
		if len(want[res.ResourceName]) > 0 {
			t.Errorf("%s: not described: %v", res.ResourceName, want[res.ResourceName])
		}
	}
}

// TestBrokerConfigsAcrossGateways: a change of log.retention.ms at the
// cluster default made on one gateway is seen by a second gateway on the
// same stores within a couple of seconds, without a restart.
func TestBrokerConfigsAcrossGateways(t *testing.T) {
	t.Parallel()
	first, bucketURL, metadataURL := startBrokerConfigDev(t, testenv.Cloud)
	second := testenv.StartProcess(t, bucketURL, metadataURL, "--node-id", "1")
	testenv.CreateTopics(t, first.Addr, 1, "shared-retention")
	adm1 := kadm.NewClient(newClient(t, first.Addr))
	adm2 := kadm.NewClient(newClient(t, second.Addr))
	ctx := testCtx(t, time.Minute)
	for i, ms := range []string{"4000", "86400000"} {
		rs, err := adm1.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "log.retention.ms", Value: &ms}})
		if err != nil || rs[0].Err != nil {
			t.Fatalf("alter via the first gateway: %v %+v", err, rs)
		}
		took := waitFor(t, 5*time.Second, "the second gateway to see log.retention.ms="+ms, func() bool {
			rcs, err := adm2.DescribeTopicConfigs(ctx, "shared-retention")
			if err != nil || len(rcs) != 1 {
				return false
			}
			for _, c := range rcs[0].Configs {
				if c.Key == "retention.ms" {
					return c.MaybeValue() == ms && c.Source == kmsg.ConfigSourceDynamicDefaultBrokerConfig
				}
			}
			return false
		})
		t.Logf("change %d seen by the second gateway after %v", i+1, took)
		if took > 2*time.Second {
			t.Errorf("the second gateway took %v, want about a second", took)
		}
	}
	// Each gateway describes itself and refuses the other's id.
	if rcs, err := adm2.DescribeBrokerConfigs(ctx, 1); err != nil || rcs[0].Err != nil {
		t.Fatalf("gateway 1 describing itself: %v %+v", err, rcs)
	}
}
