package gateway

// DescribeConfigs, versions 0–4.
//
// Topic resources list every topic config caudal knows with Kafka's
// names, its effective value, its source (set on the topic, a dynamic
// broker config of this gateway or of the cluster default, the operator's
// --broker-config, or Kafka's default) and, when asked, its synonyms in
// Kafka's order and its documentation. Broker resources are answered as
// Kafka's broker answers them: "" (the cluster-wide default) lists the
// dynamic defaults that are set, this gateway's node id every broker
// config in force, with read-only set on those that are not dynamic; any
// other name is INVALID_REQUEST, since clients send a broker's resource
// to that broker. Both need DESCRIBE_CONFIGS, on the topic or the cluster.

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/metadata/topicconfig"
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
		want := make(map[string]bool, min(len(rr.ConfigNames), len(entries)))
		for _, n := range rr.ConfigNames {
			want[n] = true
		}
		for _, e := range entries {
			if len(rr.ConfigNames) > 0 && !want[e.Name] {
				continue
			}
			res.Configs = append(res.Configs, describedConfig(req, e))
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
		if name == "" {
			return c.g.configs.DefaultEntries(), nil
		}
		if err := c.g.checkBrokerName(name, " or empty string"); err != nil {
			return nil, err
		}
		return c.g.configs.BrokerEntries(), nil
	default:
		return nil, kafkaErr(kerr.InvalidRequest, "Unsupported resource type: %d", kind)
	}
}

// checkBrokerName refuses a broker resource that names another broker, as
// Kafka does (ConfigHelper, ConfigAdminManager): a client sends a
// broker's resource to that broker. or is what else Kafka's message says
// it expects.
func (g *Gateway) checkBrokerName(name, or string) error {
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return kafkaErr(kerr.InvalidRequest, "Broker id must be an integer, but it is: %s", name)
	}
	if int32(id) != g.cfg.NodeID {
		return kafkaErr(kerr.InvalidRequest, "Unexpected broker id, expected %d%s, but received %s", g.cfg.NodeID, or, name)
	}
	return nil
}

func describedConfig(req *kmsg.DescribeConfigsRequest, e topicconfig.Entry) kmsg.DescribeConfigsResponseResourceConfig {
	rc := kmsg.NewDescribeConfigsResponseResourceConfig()
	rc.Name = e.Name
	if !e.Null {
		v := e.Value
		rc.Value = &v
	}
	rc.Source = kmsg.ConfigSource(e.Source)
	rc.IsDefault = e.Source == topicconfig.SourceDefault // v0's field
	rc.ReadOnly = e.ReadOnly
	rc.ConfigType = configType(e.Kind)
	if req.IncludeSynonyms {
		for _, s := range e.Synonyms {
			syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			v := s.Value
			syn.Name, syn.Value, syn.Source = s.Name, &v, kmsg.ConfigSource(s.Source)
			rc.ConfigSynonyms = append(rc.ConfigSynonyms, syn)
		}
	}
	if req.IncludeDocumentation {
		doc := e.Doc
		rc.Documentation = &doc
	}
	return rc
}

// configType is the type Kafka reports for a config of the kind.
func configType(kind topicconfig.Kind) kmsg.ConfigType {
	switch kind {
	case topicconfig.KindLong:
		return kmsg.ConfigTypeLong
	case topicconfig.KindInt:
		return kmsg.ConfigTypeInt
	case topicconfig.KindShort:
		return kmsg.ConfigTypeShort
	case topicconfig.KindDouble:
		return kmsg.ConfigTypeDouble
	case topicconfig.KindBool:
		return kmsg.ConfigTypeBoolean
	case topicconfig.KindCleanupPolicy, topicconfig.KindList:
		return kmsg.ConfigTypeList
	default:
		return kmsg.ConfigTypeString
	}
}
