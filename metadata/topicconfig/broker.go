package topicconfig

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

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
	// The worker's: idempotent producer state expires after this long
	// without writes.
	"producer.id.expiration.ms": "86400000",
}

// Broker is the broker settings in force: Kafka's defaults, overridden by
// what the operator set (flags). They are static for the life of the
// process; AlterConfigs on a broker is refused as Kafka refuses
// non-dynamic configs.
type Broker struct {
	values map[string]string
	set    map[string]bool // set by the operator rather than defaulted
	policy Policy          // what a topic without configs of its own gets
}

// NewBroker applies the operator's settings over Kafka's defaults. It
// refuses keys caudal does not use, and values it cannot read among the
// retention settings, which delete data when misread.
func NewBroker(overrides map[string]string) (*Broker, error) {
	b := &Broker{values: maps.Clone(brokerDefaults), set: map[string]bool{}}
	for k, v := range overrides {
		if _, ok := brokerDefaults[k]; !ok && k != "log.retention.ms" && k != "log.retention.minutes" {
			return nil, fmt.Errorf("unknown broker config %q", k)
		}
		b.values[k] = v
		b.set[k] = true
	}
	if err := b.checkValues(); err != nil {
		return nil, err
	}
	ms, err := b.retentionMs()
	if err != nil {
		return nil, err
	}
	b.values["log.retention.ms"] = strconv.FormatInt(ms, 10)
	b.policy = Policy{}.with(b.topicDefaults())
	return b, nil
}

// topicDefaults is every topic config's broker default, by topic config
// name.
func (b *Broker) topicDefaults() map[string]string {
	m := make(map[string]string, len(topicConfigs))
	for _, tc := range topicConfigs {
		m[tc.name] = b.values[tc.brokerKey]
	}
	return m
}

// checkValues refuses what the operator set that caudal would misread: a
// topic default Kafka would refuse on a topic, and a non-number where
// Kafka's default is a number (read as 0, a bad message.max.bytes, say,
// would refuse every batch).
func (b *Broker) checkValues() error {
	for k := range b.set {
		_, err := strconv.ParseInt(brokerDefaults[k], 10, 64)
		if err != nil && k != "log.retention.ms" && k != "log.retention.minutes" {
			continue // not a numeric setting
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(b.values[k]), 10, 64); err != nil {
			return fmt.Errorf("broker config %s=%q: not a number", k, b.values[k])
		}
	}
	// At 0 every producer's state would expire at once, and a retried
	// batch would be stored twice. Kafka requires at least 1.
	if b.Int("producer.id.expiration.ms") < 1 {
		return fmt.Errorf("broker config producer.id.expiration.ms=%q: must be at least 1", b.values["producer.id.expiration.ms"])
	}
	for _, tc := range topicConfigs {
		if v := b.values[tc.brokerKey]; b.set[tc.brokerKey] {
			if err := Validate(tc.name, v); err != nil {
				return fmt.Errorf("broker config %s=%q: %w", tc.brokerKey, v, err)
			}
		}
	}
	return nil
}

// retentionMs resolves Kafka's three retention settings: ms wins over
// minutes, minutes over hours.
func (b *Broker) retentionMs() (int64, error) {
	for _, u := range []struct {
		key  string
		mult int64
	}{{"log.retention.ms", 1}, {"log.retention.minutes", 60_000}, {"log.retention.hours", 3_600_000}} {
		if !b.set[u.key] && u.key != "log.retention.hours" {
			continue
		}
		v, err := strconv.ParseInt(b.values[u.key], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("broker config %s=%q: not a number", u.key, b.values[u.key])
		}
		if v < 0 {
			return -1, nil
		}
		return v * u.mult, nil
	}
	return 604800000, nil
}

// Bool is a boolean broker setting.
func (b *Broker) Bool(key string) bool { return b.values[key] == "true" }

// Int is a numeric broker setting; 0 if it is not a number.
func (b *Broker) Int(key string) int64 {
	v, _ := strconv.ParseInt(b.values[key], 10, 64)
	return v
}

// TopicValue is a topic config's effective value given the configs the
// topic set, and whether the topic set it explicitly.
func (b *Broker) TopicValue(set map[string]string, name string) (string, bool) {
	if v, ok := set[name]; ok {
		return v, true
	}
	if tc, ok := lookup(name); ok {
		return b.values[tc.brokerKey], false
	}
	return "", false
}

// TopicInt is a numeric topic config's effective value. A value set on the
// topic that Validate would refuse (stored before it checked ranges) gives
// way to the broker's: read as 0, a max.message.bytes refused every batch.
func (b *Broker) TopicInt(set map[string]string, name string) int64 {
	tc, _ := lookup(name)
	if v, ok := set[name]; ok && Validate(name, v) == nil {
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(b.values[tc.brokerKey]), 10, 64)
	return n
}

// Kafka's config sources, as DescribeConfigs reports them.
const (
	SourceTopic        int8 = 1 // DYNAMIC_TOPIC_CONFIG
	SourceStaticBroker int8 = 4 // STATIC_BROKER_CONFIG
	SourceDefault      int8 = 5 // DEFAULT_CONFIG
)

// Entry is one config's value and where it comes from.
type Entry struct {
	Name, Value string
	Source      int8
}

// TopicEntries lists every topic config's effective value and source given
// the configs the topic set.
func (b *Broker) TopicEntries(set map[string]string) []Entry {
	out := make([]Entry, 0, len(topicConfigs))
	for _, tc := range topicConfigs {
		e := Entry{Name: tc.name, Value: b.values[tc.brokerKey], Source: SourceDefault}
		if v, ok := set[tc.name]; ok {
			e.Value, e.Source = v, SourceTopic
		} else if b.set[tc.brokerKey] {
			e.Source = SourceStaticBroker
		}
		out = append(out, e)
	}
	return out
}

// BrokerEntries lists the broker settings in force, by name.
func (b *Broker) BrokerEntries() []Entry {
	keys := slices.Sorted(maps.Keys(b.values))
	out := make([]Entry, 0, len(keys))
	for _, k := range keys {
		e := Entry{Name: k, Value: b.values[k], Source: SourceDefault}
		if b.set[k] {
			e.Source = SourceStaticBroker
		}
		out = append(out, e)
	}
	return out
}
