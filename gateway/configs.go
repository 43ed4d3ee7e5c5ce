package gateway

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// topicConfig describes one topic-level config: Kafka's name, the broker
// setting that supplies its default, and how a value is checked.
type topicConfig struct {
	name      string
	brokerKey string
	kind      configKind
}

type configKind int

const (
	kindLong configKind = iota
	kindInt
	kindBool
	kindCleanupPolicy
	kindTimestampType
	kindCompression
)

// topicConfigs are the topic configs caudal knows, with Kafka's names.
var topicConfigs = []topicConfig{
	{name: "cleanup.policy", brokerKey: "log.cleanup.policy", kind: kindCleanupPolicy},
	{name: "compression.type", brokerKey: "compression.type", kind: kindCompression},
	{name: "delete.retention.ms", brokerKey: "log.cleaner.delete.retention.ms", kind: kindLong},
	{name: "max.compaction.lag.ms", brokerKey: "log.cleaner.max.compaction.lag.ms", kind: kindLong},
	{name: "max.message.bytes", brokerKey: "message.max.bytes", kind: kindInt},
	{name: "message.timestamp.type", brokerKey: "log.message.timestamp.type", kind: kindTimestampType},
	{name: "min.compaction.lag.ms", brokerKey: "log.cleaner.min.compaction.lag.ms", kind: kindLong},
	{name: "min.insync.replicas", brokerKey: "min.insync.replicas", kind: kindInt},
	{name: "retention.bytes", brokerKey: "log.retention.bytes", kind: kindLong},
	{name: "retention.ms", brokerKey: "log.retention.ms", kind: kindLong},
	{name: "segment.bytes", brokerKey: "log.segment.bytes", kind: kindInt},
	{name: "segment.ms", brokerKey: "log.roll.ms", kind: kindLong},
	{name: "unclean.leader.election.enable", brokerKey: "unclean.leader.election.enable", kind: kindBool},
}

// brokerDefaults are Kafka's broker defaults for the settings caudal uses.
var brokerDefaults = map[string]string{
	"auto.create.topics.enable":         "true",
	"num.partitions":                    "1",
	"default.replication.factor":        "1",
	"log.cleanup.policy":                "delete",
	"compression.type":                  "producer",
	"log.cleaner.delete.retention.ms":   "86400000",
	"log.cleaner.max.compaction.lag.ms": "9223372036854775807",
	"message.max.bytes":                 "1048588",
	"log.message.timestamp.type":        "CreateTime",
	"log.cleaner.min.compaction.lag.ms": "0",
	"min.insync.replicas":               "1",
	"log.retention.bytes":               "-1",
	"log.retention.hours":               "168",
	"log.segment.bytes":                 "1073741824",
	"log.roll.ms":                       "604800000",
	"unclean.leader.election.enable":    "false",
	"offsets.retention.minutes":         "10080",
	"offsets.topic.num.partitions":      "50",
	"offsets.topic.replication.factor":  "1",
	"delete.topic.enable":               "true",
	// The group coordinator's.
	"group.min.session.timeout.ms":         "6000",
	"group.max.session.timeout.ms":         "1800000",
	"group.consumer.session.timeout.ms":    "45000",
	"group.consumer.heartbeat.interval.ms": "5000",
	"offsets.retention.check.interval.ms":  "600000",
	"offset.metadata.max.bytes":            "4096",
}

// brokerConfigs are the broker settings in force: Kafka's defaults,
// overridden by what the operator set (flags). They are static for the
// life of the process; AlterConfigs on a broker is refused as Kafka
// refuses non-dynamic configs.
type brokerConfigs struct {
	values map[string]string
	set    map[string]bool // set by the operator rather than defaulted
}

func newBrokerConfigs(overrides map[string]string) (*brokerConfigs, error) {
	bc := &brokerConfigs{values: maps.Clone(brokerDefaults), set: map[string]bool{}}
	for k, v := range overrides {
		if _, ok := brokerDefaults[k]; !ok && k != "log.retention.ms" && k != "log.retention.minutes" {
			return nil, fmt.Errorf("unknown broker config %q", k)
		}
		bc.values[k] = v
		bc.set[k] = true
	}
	ms, err := bc.retentionMs()
	if err != nil {
		return nil, err
	}
	bc.values["log.retention.ms"] = strconv.FormatInt(ms, 10)
	return bc, nil
}

// retentionMs resolves Kafka's three retention settings: ms wins over
// minutes, minutes over hours.
func (bc *brokerConfigs) retentionMs() (int64, error) {
	for _, u := range []struct {
		key  string
		mult int64
	}{{"log.retention.ms", 1}, {"log.retention.minutes", 60_000}, {"log.retention.hours", 3_600_000}} {
		if !bc.set[u.key] && u.key != "log.retention.hours" {
			continue
		}
		v, err := strconv.ParseInt(bc.values[u.key], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("broker config %s=%q: not a number", u.key, bc.values[u.key])
		}
		if v < 0 {
			return -1, nil
		}
		return v * u.mult, nil
	}
	return 604800000, nil
}

func (bc *brokerConfigs) bool(key string) bool { return bc.values[key] == "true" }

func (bc *brokerConfigs) int(key string) int64 {
	v, _ := strconv.ParseInt(bc.values[key], 10, 64)
	return v
}

// topicValue is a topic config's effective value and whether the topic set
// it explicitly.
func (bc *brokerConfigs) topicValue(set map[string]string, name string) (string, bool) {
	if v, ok := set[name]; ok {
		return v, true
	}
	for _, tc := range topicConfigs {
		if tc.name == name {
			return bc.values[tc.brokerKey], false
		}
	}
	return "", false
}

func lookupTopicConfig(name string) (topicConfig, bool) {
	i := slices.IndexFunc(topicConfigs, func(tc topicConfig) bool { return tc.name == name })
	if i < 0 {
		return topicConfig{}, false
	}
	return topicConfigs[i], true
}

// validateTopicConfig checks one topic config as Kafka's broker would,
// returning a message for INVALID_CONFIG.
func validateTopicConfig(name, value string) error {
	tc, ok := lookupTopicConfig(name)
	if !ok {
		return fmt.Errorf("unknown topic config name: %s", name)
	}
	bad := func() error { return fmt.Errorf("invalid value %s for configuration %s", value, name) }
	switch tc.kind {
	case kindLong:
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return bad()
		}
	case kindInt:
		if _, err := strconv.ParseInt(value, 10, 32); err != nil {
			return bad()
		}
	case kindBool:
		if value != "true" && value != "false" {
			return bad()
		}
	case kindCleanupPolicy:
		for _, p := range strings.Split(value, ",") {
			if p = strings.TrimSpace(p); p != "delete" && p != "compact" {
				return bad()
			}
		}
	case kindTimestampType:
		if value != "CreateTime" && value != "LogAppendTime" {
			return bad()
		}
	case kindCompression:
		if !slices.Contains([]string{"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"}, value) {
			return bad()
		}
	}
	return nil
}

// isCompacted reports whether a cleanup.policy value includes compact.
func isCompacted(policy string) bool {
	for _, p := range strings.Split(policy, ",") {
		if strings.TrimSpace(p) == "compact" {
			return true
		}
	}
	return false
}

// Kafka's config sources, as DescribeConfigs reports them.
const (
	sourceTopic        int8 = 1 // DYNAMIC_TOPIC_CONFIG
	sourceStaticBroker int8 = 4 // STATIC_BROKER_CONFIG
	sourceDefault      int8 = 5 // DEFAULT_CONFIG
)

type configEntry struct {
	name, value string
	source      int8
}

// topicEntries lists every topic config's effective value and source.
func (bc *brokerConfigs) topicEntries(set map[string]string) []configEntry {
	out := make([]configEntry, 0, len(topicConfigs))
	for _, tc := range topicConfigs {
		e := configEntry{name: tc.name, value: bc.values[tc.brokerKey], source: sourceDefault}
		if v, ok := set[tc.name]; ok {
			e.value, e.source = v, sourceTopic
		} else if bc.set[tc.brokerKey] {
			e.source = sourceStaticBroker
		}
		out = append(out, e)
	}
	return out
}

// brokerEntries lists the broker settings in force.
func (bc *brokerConfigs) brokerEntries() []configEntry {
	keys := slices.Sorted(maps.Keys(bc.values))
	out := make([]configEntry, 0, len(keys))
	for _, k := range keys {
		e := configEntry{name: k, value: bc.values[k], source: sourceDefault}
		if bc.set[k] {
			e.source = sourceStaticBroker
		}
		out = append(out, e)
	}
	return out
}
