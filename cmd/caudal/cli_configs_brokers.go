package main

// caudal configs --entity-type brokers: dynamic broker configs of one
// broker (--entity-name ID) or of the cluster default (--entity-default),
// described and altered as Kafka's ConfigCommand does: a describe lists
// the configs set at that level (--all: every config, with its source),
// sorted by name, and an alter replaces that level's whole set with
// legacy AlterConfigs after refusing --delete-config of a config not set.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// brokerLevel is a broker id, or "" for the cluster default, and the
// source of the configs set at that level.
type brokerLevel struct {
	name   string
	source kmsg.ConfigSource
}

func levelOf(name string) brokerLevel {
	if name == "" {
		return brokerLevel{"", kmsg.ConfigSourceDynamicDefaultBrokerConfig}
	}
	return brokerLevel{name, kmsg.ConfigSourceDynamicBrokerConfig}
}

// ids is the level's broker for kadm: none for the cluster default.
func (l brokerLevel) ids() []int32 {
	if l.name == "" {
		return nil
	}
	id, _ := strconv.ParseInt(l.name, 10, 32)
	return []int32{int32(id)}
}

// brokerLevels are the levels to describe: the one named, else every
// live broker and then the cluster default, as kafka-configs lists them.
func (c *configsCmd) brokerLevels(ctx context.Context) ([]brokerLevel, error) {
	if c.entityDefault || c.name != "" {
		return []brokerLevel{levelOf(c.brokerName())}, nil
	}
	meta, err := c.adm.BrokerMetadata(ctx)
	if err != nil {
		return nil, err
	}
	var out []brokerLevel
	for _, id := range meta.Brokers.NodeIDs() {
		out = append(out, levelOf(strconv.Itoa(int(id))))
	}
	return append(out, levelOf("")), nil
}

// brokerName is the broker id named, or "" for --entity-default.
func (c *configsCmd) brokerName() string {
	if c.entityDefault {
		return ""
	}
	return c.name
}

// brokerConfigs describes a level: with all, every config; else those
// set at the level. Sorted by name.
func (c *configsCmd) brokerConfigs(ctx context.Context, l brokerLevel, all bool) ([]kadm.Config, error) {
	rcs, err := c.adm.DescribeBrokerConfigs(ctx, l.ids()...)
	if err != nil {
		return nil, fmt.Errorf("Error: %w", err)
	}
	if len(rcs) != 1 {
		return nil, fmt.Errorf("Error: %d answers describing one broker resource", len(rcs))
	}
	if rcs[0].Err != nil {
		return nil, c.entityError(rcs[0].Err, rcs[0].ErrMessage)
	}
	cfgs := slices.DeleteFunc(slices.Clone(rcs[0].Configs), func(cfg kadm.Config) bool { return !all && cfg.Source != l.source })
	slices.SortFunc(cfgs, func(a, b kadm.Config) int { return strings.Compare(a.Key, b.Key) })
	return cfgs, nil
}

func (c *configsCmd) describeBrokers(ctx context.Context) error {
	levels, err := c.brokerLevels(ctx)
	if err != nil {
		return fmt.Errorf("Error: %w", err)
	}
	for _, l := range levels {
		cfgs, err := c.brokerConfigs(ctx, l, c.all)
		if err != nil {
			return err
		}
		switch {
		case l.name == "":
			fmt.Println("Default configs for brokers in the cluster are:")
		case c.all:
			fmt.Printf("All configs for broker %s are:\n", l.name)
		default:
			fmt.Printf("Dynamic configs for broker %s are:\n", l.name)
		}
		for _, cfg := range cfgs {
			fmt.Printf("  %s=%s sensitive=%t synonyms={%s}\n", cfg.Key, configValue(cfg.Value, cfg.Sensitive), cfg.Sensitive, synonyms(cfg))
		}
	}
	return nil
}

func (c *configsCmd) alterBroker(ctx context.Context) error {
	l := levelOf(c.brokerName())
	old, err := c.brokerConfigs(ctx, l, false)
	if err != nil {
		return err
	}
	next := map[string]string{}
	for _, cfg := range old {
		next[cfg.Key] = configValue(cfg.Value, false)
	}
	changes, err := c.alterations()
	if err != nil {
		return err
	}
	var missing []string
	for _, ch := range changes {
		if ch.Op == kadm.SetConfig {
			next[ch.Name] = *ch.Value
			continue
		}
		if _, ok := next[ch.Name]; !ok {
			missing = append(missing, ch.Name)
		}
		delete(next, ch.Name)
	}
	if len(missing) > 0 {
		return fmt.Errorf("Error: Invalid config(s): %s", strings.Join(missing, ","))
	}
	set := make([]kadm.AlterConfig, 0, len(next))
	for k, v := range next {
		set = append(set, kadm.AlterConfig{Name: k, Value: &v})
	}
	resps, err := c.adm.AlterBrokerConfigsState(ctx, set, l.ids()...)
	if err != nil {
		return fmt.Errorf("Error: %w", err)
	}
	for _, r := range resps {
		if r.Err != nil {
			return c.entityError(r.Err, r.ErrMessage)
		}
	}
	if l.name == "" {
		fmt.Println("Completed updating default config for brokers in the cluster.")
	} else {
		fmt.Printf("Completed updating config for broker %s.\n", l.name)
	}
	return nil
}
