package gateway

// DescribeConfigs, versions 0–4.
//
// Topic resources list every topic config caudal knows with Kafka's names,
// its effective value and its source: set on the topic, set on the broker
// by the operator, or Kafka's default. Broker resources (any broker id, or
// "" for the cluster default) list the broker settings in force.

import (
	"strconv"

	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DescribeConfigs, 0, 4, serveDescribeConfigs) }

func serveDescribeConfigs(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DescribeConfigsRequest)
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, rr := range req.Resources {
		res := kmsg.NewDescribeConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		entries, err := c.configEntries(rr.ResourceType, rr.ResourceName)
		if err != nil {
			res.ErrorCode = errCode(err)
			res.ErrorMessage = errMessage(err)
		}
		want := map[string]bool{}
		for _, n := range rr.ConfigNames {
			want[n] = true
		}
		for _, e := range entries {
			if rr.ConfigNames != nil && !want[e.Name] {
				continue
			}
			res.Configs = append(res.Configs, describedConfig(req, rr.ResourceType, e))
		}
		resp.Resources = append(resp.Resources, res)
	}
	return resp
}

func (c *conn) configEntries(kind kmsg.ConfigResourceType, name string) ([]topicconfig.Entry, error) {
	switch kind {
	case kmsg.ConfigResourceTypeTopic:
		if !c.allowed(kmsg.ACLOperationDescribeConfigs, topicResource, name) {
			return nil, kerr.TopicAuthorizationFailed
		}
		t, err := c.g.store.Topic(c.ctx, name)
		if err != nil {
			return nil, err
		}
		return c.g.configs.TopicEntries(t.Configs), nil
	case kmsg.ConfigResourceTypeBroker:
		if !c.allowedCluster(kmsg.ACLOperationDescribeConfigs) {
			return nil, kerr.ClusterAuthorizationFailed
		}
		if err := checkBrokerName(name); err != nil {
			return nil, err
		}
		return c.g.configs.BrokerEntries(), nil
	default:
		return nil, kafkaErr(kerr.InvalidRequest, "unsupported resource type %d", kind)
	}
}

func checkBrokerName(name string) error {
	if name == "" {
		return nil
	}
	if _, err := strconv.ParseInt(name, 10, 32); err != nil {
		return kafkaErr(kerr.InvalidRequest, "broker id must be an integer, got %q", name)
	}
	return nil
}

func describedConfig(req *kmsg.DescribeConfigsRequest, kind kmsg.ConfigResourceType, e topicconfig.Entry) kmsg.DescribeConfigsResponseResourceConfig {
	rc := kmsg.NewDescribeConfigsResponseResourceConfig()
	rc.Name = e.Name
	v := e.Value
	rc.Value = &v
	rc.Source = kmsg.ConfigSource(e.Source)
	rc.IsDefault = e.Source == topicconfig.SourceDefault
	// Broker settings come from flags and cannot be altered at run time.
	rc.ReadOnly = kind == kmsg.ConfigResourceTypeBroker
	rc.ConfigType = configType(e.Name)
	if req.IncludeSynonyms {
		syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
		syn.Name, syn.Value, syn.Source = e.Name, &v, rc.Source
		rc.ConfigSynonyms = append(rc.ConfigSynonyms, syn)
	}
	return rc
}

func configType(name string) kmsg.ConfigType {
	kind, ok := topicconfig.KindOf(name)
	if !ok {
		return kmsg.ConfigTypeString
	}
	switch kind {
	case topicconfig.KindLong:
		return kmsg.ConfigTypeLong
	case topicconfig.KindInt:
		return kmsg.ConfigTypeInt
	case topicconfig.KindBool:
		return kmsg.ConfigTypeBoolean
	case topicconfig.KindCleanupPolicy:
		return kmsg.ConfigTypeList
	default:
		return kmsg.ConfigTypeString
	}
}
