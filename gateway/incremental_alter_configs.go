package gateway

// IncrementalAlterConfigs, versions 0–1.
//
// SET, DELETE, APPEND and SUBTRACT on a topic's configs or on the dynamic
// broker configs of the cluster default ("") or of this gateway, checked
// and authorized as AlterConfigs (alter_configs.go). APPEND and SUBTRACT
// apply to list configs (cleanup.policy, log.cleanup.policy) only, as in
// Kafka; on a list that is not set they start from the topic's effective
// value, or from Kafka's default for a broker config, as Kafka does.

import (
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/metadata/topicconfig"
)

func init() { register(kmsg.IncrementalAlterConfigs, 0, 1, serveIncrementalAlterConfigs) }

func serveIncrementalAlterConfigs(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	twice := resourcesNamedTwice(len(req.Resources), func(i int) (int8, string) {
		return int8(req.Resources[i].ResourceType), req.Resources[i].ResourceName
	})
	for i, rr := range req.Resources {
		res := kmsg.NewIncrementalAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		err := twice[i]
		if err == nil {
			err = checkConfigNames(len(rr.Configs), func(i int) (string, bool) {
				return rr.Configs[i].Name, rr.Configs[i].Value == nil && rr.Configs[i].Op != kmsg.IncrementalAlterConfigOpDelete
			})
		}
		if err == nil {
			unset := c.g.unsetListValue(rr.ResourceType)
			err = c.alterConfigs(rr.ResourceType, rr.ResourceName, req.ValidateOnly, func(cur map[string]string) (map[string]string, error) {
				return applyIncremental(cur, rr.Configs, unset)
			})
		}
		if err != nil {
			res.ErrorCode = errCode(err)
			res.ErrorMessage = errMessage(err)
		}
		resp.Resources = append(resp.Resources, res)
	}
	return resp
}

// unsetListValue is what APPEND and SUBTRACT start from on a list config
// the resource does not set.
func (g *Gateway) unsetListValue(kind kmsg.ConfigResourceType) func(next map[string]string, name string) string {
	if kind == kmsg.ConfigResourceTypeBroker {
		return func(_ map[string]string, name string) string { return topicconfig.KafkaDefault(name) }
	}
	return func(next map[string]string, name string) string {
		v, _ := g.configs.TopicValue(next, name)
		return v
	}
}

func applyIncremental(cur map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig, unset func(map[string]string, string) string) (map[string]string, error) {
	next := maps.Clone(cur)
	if next == nil {
		next = map[string]string{}
	}
	for _, op := range ops {
		value := ""
		if op.Value != nil {
			value = *op.Value
		}
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			next[op.Name] = value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(next, op.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			verb := "append"
			if op.Op == kmsg.IncrementalAlterConfigOpSubtract {
				verb = "subtract"
			}
			kind, ok := topicconfig.KindOf(op.Name)
			if !ok {
				return nil, kafkaErr(kerr.InvalidConfig, "Unknown config name: %s", op.Name)
			}
			if configType(kind) != kmsg.ConfigTypeList {
				return nil, kafkaErr(kerr.InvalidConfig, "Config value %s is not allowed for config key: %s", verb, op.Name)
			}
			v, ok := next[op.Name]
			if !ok {
				v = unset(next, op.Name)
			}
			next[op.Name] = editList(v, value, op.Op == kmsg.IncrementalAlterConfigOpAppend)
		default:
			return nil, kafkaErr(kerr.InvalidRequest, "Unknown operations type %d", op.Op)
		}
	}
	return next, nil
}

// editList appends or removes the comma-separated items of change.
func editList(list, change string, add bool) string {
	items := splitList(list)
	for _, it := range splitList(change) {
		has := slices.Contains(items, it)
		switch {
		case add && !has:
			items = append(items, it)
		case !add && has:
			items = slices.DeleteFunc(items, func(s string) bool { return s == it })
		}
	}
	return strings.Join(items, ",")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
