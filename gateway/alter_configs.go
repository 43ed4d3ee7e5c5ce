package gateway

// AlterConfigs, versions 0–2.
//
// Replaces a topic's whole set of explicit configs with those given, as
// Kafka's legacy AlterConfigs does; each is checked first and nothing is
// changed when one is invalid. Broker settings are static (flags) and get
// INVALID_REQUEST, as Kafka answers for configs it cannot update
// dynamically.

import (
	"github.com/caudal/caudal/metadata/topicconfig"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.AlterConfigs, 0, 2, serveAlterConfigs) }

func serveAlterConfigs(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, rr := range req.Resources {
		res := kmsg.NewAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		err := c.alterTopicConfigs(rr.ResourceType, rr.ResourceName, req.ValidateOnly, func(map[string]string) (map[string]string, error) {
			next := map[string]string{}
			for _, cfg := range rr.Configs {
				if cfg.Value != nil {
					next[cfg.Name] = *cfg.Value
				}
			}
			return next, nil
		})
		if err != nil {
			res.ErrorCode = errCode(err)
			res.ErrorMessage = errMessage(err)
		}
		resp.Resources = append(resp.Resources, res)
	}
	return resp
}

// alterTopicConfigs applies change to a topic's explicit configs, checks
// the result, and stores it unless validateOnly.
func (c *conn) alterTopicConfigs(kind kmsg.ConfigResourceType, name string, validateOnly bool, change func(map[string]string) (map[string]string, error)) error {
	if kind == kmsg.ConfigResourceTypeBroker {
		if !c.allowedCluster(kmsg.ACLOperationAlterConfigs) {
			return kerr.ClusterAuthorizationFailed
		}
		return kafkaErr(kerr.InvalidRequest, "broker configs cannot be updated dynamically in caudal; set them with the gateway's --broker-config flag")
	}
	if kind != kmsg.ConfigResourceTypeTopic {
		return kafkaErr(kerr.InvalidRequest, "unsupported resource type %d", kind)
	}
	if !c.allowed(kmsg.ACLOperationAlterConfigs, topicResource, name) {
		return kerr.TopicAuthorizationFailed
	}
	t, err := c.g.store.Topic(c.ctx, name)
	if err != nil {
		return err
	}
	next, err := change(t.Configs)
	if err != nil {
		return err
	}
	for k, v := range next {
		if err := topicconfig.Validate(k, v); err != nil {
			return kafkaErr(kerr.InvalidConfig, "%v", err)
		}
	}
	if validateOnly {
		return nil
	}
	if err := c.g.store.SetTopicConfigs(c.ctx, name, next); err != nil {
		return err
	}
	c.g.topics.Forget(name)
	return nil
}
