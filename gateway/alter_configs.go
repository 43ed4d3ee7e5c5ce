package gateway

// AlterConfigs, versions 0–2.
//
// Replaces a resource's whole set of explicit configs with those given,
// as Kafka's legacy AlterConfigs does; each is checked first and nothing
// is changed when one is invalid. Topic resources need ALTER_CONFIGS on
// the topic. Broker resources, "" for the cluster-wide default or this
// gateway's node id, take Kafka's dynamic broker configs and need
// ALTER_CONFIGS on the cluster; every gateway applies a change within a
// second, and the worker at its next pass. A config caudal cannot change
// at run time gets INVALID_REQUEST ("Cannot update these configs
// dynamically"), an unknown one INVALID_CONFIG, as do bad values of topic
// configs; bad values of broker configs get INVALID_REQUEST, as Kafka's
// ConfigAdminManager answers them. A resource named twice, a config named
// twice in one resource or a null value is INVALID_REQUEST.

import (
	"errors"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/metadata/topicconfig"
)

func init() { register(kmsg.AlterConfigs, 0, 2, serveAlterConfigs) }

func serveAlterConfigs(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.AlterConfigsRequest)
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	twice := resourcesNamedTwice(len(req.Resources), func(i int) (int8, string) {
		return int8(req.Resources[i].ResourceType), req.Resources[i].ResourceName
	})
	for i, rr := range req.Resources {
		res := kmsg.NewAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		err := twice[i]
		if err == nil {
			err = checkConfigNames(len(rr.Configs), func(i int) (string, bool) { return rr.Configs[i].Name, rr.Configs[i].Value == nil })
		}
		if err == nil {
			err = c.alterConfigs(rr.ResourceType, rr.ResourceName, req.ValidateOnly, func(map[string]string) (map[string]string, error) {
				next := make(map[string]string, len(rr.Configs))
				for _, cfg := range rr.Configs {
					next[cfg.Name] = *cfg.Value
				}
				return next, nil
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

// resourcesNamedTwice is, per resource of a request, INVALID_REQUEST when
// another has the same type and name, as Kafka answers both.
func resourcesNamedTwice(n int, resource func(int) (int8, string)) []error {
	type key struct {
		typ  int8
		name string
	}
	seen := make(map[key]int, n)
	errs := make([]error, n)
	for i := range n {
		t, name := resource(i)
		if j, ok := seen[key{t, name}]; ok {
			errs[i] = kafkaErr(kerr.InvalidRequest, "Each resource must appear at most once.")
			errs[j] = errs[i]
		}
		seen[key{t, name}] = i
	}
	return errs
}

// checkConfigNames refuses, as Kafka does, a config named twice in one
// resource and null values where a value is needed.
func checkConfigNames(n int, config func(int) (name string, null bool)) error {
	seen := make(map[string]bool, n)
	var nulls []string
	for i := range n {
		name, null := config(i)
		if seen[name] {
			return kafkaErr(kerr.InvalidRequest, "Error due to duplicate config keys")
		}
		seen[name] = true
		if null {
			nulls = append(nulls, name)
		}
	}
	if len(nulls) > 0 {
		return kafkaErr(kerr.InvalidRequest, "Null value not supported for : %s", strings.Join(nulls, ", "))
	}
	return nil
}

// alterConfigs applies change to a resource's explicit configs, checks
// the result, and stores it unless validateOnly.
func (c *conn) alterConfigs(kind kmsg.ConfigResourceType, name string, validateOnly bool, change func(map[string]string) (map[string]string, error)) error {
	switch kind {
	case kmsg.ConfigResourceTypeTopic:
		return c.alterTopicConfigs(name, validateOnly, change)
	case kmsg.ConfigResourceTypeBroker:
		return c.alterBrokerConfigs(name, validateOnly, change)
	}
	return kafkaErr(kerr.InvalidRequest, "Unknown resource type %d", kind)
}

func (c *conn) alterTopicConfigs(name string, validateOnly bool, change func(map[string]string) (map[string]string, error)) error {
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

// alterBrokerConfigs changes the dynamic configs of the cluster default
// ("") or of this gateway, under the store's lock so that concurrent
// incremental changes both land, and applies them here at once.
func (c *conn) alterBrokerConfigs(name string, validateOnly bool, change func(map[string]string) (map[string]string, error)) error {
	if !c.allowedCluster(kmsg.ACLOperationAlterConfigs) {
		return kerr.ClusterAuthorizationFailed
	}
	if name != "" {
		if err := c.g.checkBrokerName(name, ""); err != nil {
			return err
		}
	}
	// refused is the change's own error, given to the client as it is
	// rather than as the store wraps it; it also ends a validate-only
	// change before it stores.
	var refused error
	err := c.g.store.UpdateBrokerConfigs(c.ctx, name, func(cur map[string]string) (map[string]string, error) {
		next, err := checkedBrokerConfigs(cur, change)
		if err == nil && validateOnly {
			err = errValidatedOnly
		}
		refused = err
		return next, err
	})
	switch {
	case errors.Is(refused, errValidatedOnly):
		return nil
	case refused != nil:
		return refused
	case err == nil:
		// Applied here at once; a failure leaves it to the next poll.
		if err := c.g.reloadBrokerConfigs(c.ctx); err != nil {
			c.g.log.Warn("apply dynamic broker configs", "err", err)
		}
	}
	return err
}

// errValidatedOnly ends a validate-only broker change before it stores.
var errValidatedOnly = errors.New("validated only")

// checkedBrokerConfigs is change applied to cur, every changed config
// checked as a dynamic broker config.
func checkedBrokerConfigs(cur map[string]string, change func(map[string]string) (map[string]string, error)) (map[string]string, error) {
	next, err := change(cur)
	if err != nil {
		return nil, err
	}
	for k, v := range next {
		if old, ok := cur[k]; ok && old == v {
			continue // stored before; a change elsewhere must not fail on it
		}
		if err := topicconfig.ValidateDynamic(k, v); err != nil {
			return nil, brokerConfigErr(err)
		}
	}
	return next, nil
}

// brokerConfigErr gives a refused broker config Kafka's code: an unknown
// name is INVALID_CONFIG (Kafka's InvalidConfigurationException); a
// config that is not dynamic, or a bad value, INVALID_REQUEST, which
// Kafka's ConfigAdminManager makes of DynamicBrokerConfig's refusals
// (KAFKA-13609).
func brokerConfigErr(err error) error {
	if errors.Is(err, topicconfig.ErrUnknownConfig) {
		return kafkaErr(kerr.InvalidConfig, "%v", err)
	}
	return kafkaErr(kerr.InvalidRequest, "%v", err)
}
