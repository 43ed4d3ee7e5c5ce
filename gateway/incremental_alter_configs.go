package gateway

// IncrementalAlterConfigs, versions 0–1.
//
// SET, DELETE, APPEND and SUBTRACT on a topic's configs; APPEND and
// SUBTRACT apply to list configs (cleanup.policy) only, as in Kafka.
// Broker settings are static and refused as in AlterConfigs.

import (
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.IncrementalAlterConfigs, 0, 1, serveIncrementalAlterConfigs) }

func serveIncrementalAlterConfigs(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.IncrementalAlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range req.Resources {
		res := kmsg.NewIncrementalAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		err := c.alterTopicConfigs(rr.ResourceType, rr.ResourceName, req.ValidateOnly, func(cur map[string]string) (map[string]string, error) {
			return c.g.applyIncremental(cur, rr.Configs)
		})
		if err != nil {
			res.ErrorCode = errCode(err)
			res.ErrorMessage = errMessage(err)
		}
		resp.Resources = append(resp.Resources, res)
	}
	return resp
}

func (g *Gateway) applyIncremental(cur map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) (map[string]string, error) {
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
			if configType(op.Name) != kmsg.ConfigTypeList {
				return nil, kafkaErr(kerr.InvalidConfig, "config %s is not a list; APPEND and SUBTRACT apply to lists only", op.Name)
			}
			v, _ := g.configs.TopicValue(next, op.Name)
			next[op.Name] = editList(v, value, op.Op == kmsg.IncrementalAlterConfigOpAppend)
		default:
			return nil, kafkaErr(kerr.InvalidRequest, "unknown config operation %d", op.Op)
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
