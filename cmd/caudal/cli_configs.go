package main

// caudal configs (kafka-configs): describe and alter topic configs,
// broker configs (cli_configs_brokers.go), users' SCRAM credentials
// (cli_configs_users.go), and users', clients' and ips' quotas
// (cli_configs_quotas.go).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type configsCmd struct {
	adm           *kadm.Client
	entityType    string
	name          string
	entityDefault bool
	all           bool
	add, remove   string
}

func runConfigs(prog string, args []string) error {
	fs, conn := newToolFlags(prog, "--entity-type topics|brokers|users|clients|ips --entity-name N --describe | --alter --add-config k=v[,k=v] --delete-config k[,k]")
	var c configsCmd
	describe := fs.Bool("describe", false, "list the entity's configs")
	alter := fs.Bool("alter", false, "alter the entity's configs")
	fs.StringVar(&c.entityType, "entity-type", "", "topics, brokers, users, clients or ips")
	fs.StringVar(&c.name, "entity-name", "", "topic name, broker id, user name, client id or ip")
	fs.BoolVar(&c.entityDefault, "entity-default", false, "the cluster-wide broker default, or the default user, client or ip")
	topic := fs.String("topic", "", "same as --entity-type topics --entity-name `T`")
	broker := fs.String("broker", "", "same as --entity-type brokers --entity-name `B`")
	user := fs.String("user", "", "same as --entity-type users --entity-name `U`")
	fs.BoolVar(&c.all, "all", false, "describe: every config, not only the dynamic ones")
	fs.StringVar(&c.add, "add-config", "", "configs to set: `k=v,k2=[v1,v2]`; for users SCRAM-SHA-256=[iterations=8192,password=…],SCRAM-SHA-512=[password=…]")
	fs.StringVar(&c.remove, "delete-config", "", "configs to remove: `k,k2`")
	if err := parseToolFlags(fs, args); err != nil {
		return err
	}
	if err := c.check(fs, *describe, *alter, *topic, *broker, *user); err != nil {
		return err
	}
	return conn.withAdmin(func(adm *kadm.Client) error {
		c.adm = adm
		ctx, cancel := opContext()
		defer cancel()
		switch {
		case quotaEntityTypes[c.entityType] != "" && *alter:
			return c.alterClientEntity(ctx)
		case quotaEntityTypes[c.entityType] != "":
			return c.describeClientEntity(ctx)
		case c.entityType == "brokers" && *alter:
			return c.alterBroker(ctx)
		case c.entityType == "brokers":
			return c.describeBrokers(ctx)
		case *alter:
			return c.alter(ctx)
		}
		return c.describe(ctx)
	})
}

func (c *configsCmd) check(fs *flag.FlagSet, describe, alter bool, topic, broker, user string) error {
	if err := exactlyOne(fs, map[string]bool{"describe": describe, "alter": alter}); err != nil {
		return err
	}
	switch {
	case topic != "":
		c.entityType, c.name = "topics", topic
	case broker != "":
		c.entityType, c.name = "brokers", broker
	case user != "":
		c.entityType, c.name = "users", user
	}
	switch c.entityType {
	case "topics", "topic":
		c.entityType = "topics"
		if c.name == "" && alter {
			return badUsage(fs, "--alter needs --entity-name")
		}
	case "brokers", "broker":
		c.entityType = "brokers"
		if _, err := strconv.ParseInt(c.name, 10, 32); c.name != "" && err != nil {
			return badUsage(fs, "broker --entity-name must be a broker id, got %q", c.name)
		}
	case "users", "user", "clients", "client", "ips", "ip":
		c.entityType = strings.TrimSuffix(c.entityType, "s") + "s"
		if alter && (c.name == "") == !c.entityDefault {
			return badUsage(fs, "--alter of %s needs --entity-name or --entity-default", c.entityType)
		}
	case "":
		return badUsage(fs, "missing required argument --entity-type")
	default:
		return badUsage(fs, "unsupported --entity-type %q: caudal supports topics, brokers, users, clients and ips", c.entityType)
	}
	if alter && c.add == "" && c.remove == "" {
		return badUsage(fs, "--alter needs --add-config or --delete-config")
	}
	return nil
}

func (c *configsCmd) alter(ctx context.Context) error {
	alters, err := c.alterations()
	if err != nil {
		return err
	}
	resps, err := c.adm.AlterTopicConfigs(ctx, alters, c.name)
	if err != nil {
		return fmt.Errorf("Error: %w", err)
	}
	for _, r := range resps {
		if r.Err != nil {
			return c.entityError(r.Err, r.ErrMessage)
		}
	}
	fmt.Printf("Completed updating config for topic %s.\n", c.name)
	return nil
}

// alterations turns --add-config and --delete-config into kadm's form.
func (c *configsCmd) alterations() ([]kadm.AlterConfig, error) {
	var out []kadm.AlterConfig
	for _, pair := range splitConfigList(c.add) {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("Error: --add-config %q is not key=value", pair)
		}
		v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
		out = append(out, kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: &v})
	}
	for _, k := range splitList(c.remove, ",") {
		out = append(out, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
	}
	return out, nil
}

// splitConfigList splits k=v,k2=[a,b] on the commas outside brackets.
func splitConfigList(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s + "," {
		switch {
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case r == ',' && depth == 0:
			if part := strings.TrimSpace(s[start:i]); part != "" {
				out = append(out, part)
			}
			start = i + 1
		}
	}
	return out
}

func (c *configsCmd) entityError(err error, msg string) error {
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("Error: topic '%s' does not exist", c.name)
	}
	return fmt.Errorf("Error: %s", serverError(err, msg))
}

func (c *configsCmd) describe(ctx context.Context) error {
	rcs, err := c.describeTopics(ctx)
	if err != nil {
		return fmt.Errorf("Error: %w", err)
	}
	for _, rc := range rcs {
		if rc.Err != nil {
			return c.entityError(rc.Err, rc.ErrMessage)
		}
	}
	for _, rc := range rcs {
		c.printConfigs(rc)
	}
	return nil
}

func (c *configsCmd) describeTopics(ctx context.Context) (kadm.ResourceConfigs, error) {
	names := []string{c.name}
	if c.name == "" {
		topics, err := c.adm.ListTopics(ctx)
		if err != nil {
			return nil, err
		}
		names = topics.Names()
	}
	rcs, err := c.adm.DescribeTopicConfigs(ctx, names...)
	slices.SortFunc(rcs, func(a, b kadm.ResourceConfig) int { return strings.Compare(a.Name, b.Name) })
	return rcs, err
}

func (c *configsCmd) printConfigs(rc kadm.ResourceConfig) {
	kind := "Dynamic"
	if c.all {
		kind = "All"
	}
	fmt.Printf("%s configs for topic %s are:\n", kind, rc.Name)
	for _, cfg := range rc.Configs {
		if c.all || cfg.Source == kmsg.ConfigSourceDynamicTopicConfig {
			fmt.Printf("  %s=%s sensitive=%t synonyms={%s}\n", cfg.Key, configValue(cfg.Value, cfg.Sensitive), cfg.Sensitive, synonyms(cfg))
		}
	}
}

func configValue(v *string, sensitive bool) string {
	if sensitive || v == nil {
		return "null"
	}
	return *v
}

func synonyms(cfg kadm.Config) string {
	out := make([]string, len(cfg.Synonyms))
	for i, s := range cfg.Synonyms {
		out[i] = fmt.Sprintf("%s:%s=%s", s.Source, s.Key, configValue(s.Value, cfg.Sensitive))
	}
	return strings.Join(out, ", ")
}
