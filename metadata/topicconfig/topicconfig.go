// Package topicconfig is Kafka's topic and broker configuration as caudal
// reads it: the config names and their broker defaults, parsing and
// validation of values, and the retention and cleanup policy a topic's
// configs resolve to. The gateway serves and checks configs with it and the
// worker's jobs take their policy from it, so both read the same settings
// the same way. It imports no other caudal package.
package topicconfig

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Kind is how a config's value is checked.
type Kind int

// The kinds of topic config.
const (
	KindLong Kind = iota
	KindInt
	KindBool
	KindCleanupPolicy
	KindTimestampType
	KindCompression
)

// topicConfig describes one topic-level config: Kafka's name, the broker
// setting that supplies its default, and how a value is checked.
type topicConfig struct {
	name      string
	brokerKey string
	kind      Kind
	// min is the smallest value Kafka accepts for a numeric config.
	min int64
}

// topicConfigs are the topic configs caudal knows, with Kafka's names.
var topicConfigs = []topicConfig{
	{name: "cleanup.policy", brokerKey: "log.cleanup.policy", kind: KindCleanupPolicy},
	{name: "compression.type", brokerKey: "compression.type", kind: KindCompression},
	{name: "delete.retention.ms", brokerKey: "log.cleaner.delete.retention.ms", kind: KindLong, min: 0},
	{name: "max.compaction.lag.ms", brokerKey: "log.cleaner.max.compaction.lag.ms", kind: KindLong, min: 1},
	{name: "max.message.bytes", brokerKey: "message.max.bytes", kind: KindInt, min: 0},
	{name: "message.timestamp.type", brokerKey: "log.message.timestamp.type", kind: KindTimestampType},
	{name: "min.compaction.lag.ms", brokerKey: "log.cleaner.min.compaction.lag.ms", kind: KindLong, min: 0},
	{name: "min.insync.replicas", brokerKey: "min.insync.replicas", kind: KindInt, min: 1},
	{name: "retention.bytes", brokerKey: "log.retention.bytes", kind: KindLong, min: math.MinInt64},
	{name: "retention.ms", brokerKey: "log.retention.ms", kind: KindLong, min: -1},
	{name: "segment.bytes", brokerKey: "log.segment.bytes", kind: KindInt, min: 14},
	{name: "segment.ms", brokerKey: "log.roll.ms", kind: KindLong, min: 1},
	{name: "unclean.leader.election.enable", brokerKey: "unclean.leader.election.enable", kind: KindBool},
}

func lookup(name string) (topicConfig, bool) {
	i := slices.IndexFunc(topicConfigs, func(tc topicConfig) bool { return tc.name == name })
	if i < 0 {
		return topicConfig{}, false
	}
	return topicConfigs[i], true
}

// KindOf is the kind of the topic config name, if caudal knows it.
func KindOf(name string) (Kind, bool) {
	tc, ok := lookup(name)
	return tc.kind, ok
}

// Validate checks one topic config as Kafka's broker would; the error's
// message is the one Kafka gives with INVALID_CONFIG.
func Validate(name, value string) error {
	tc, ok := lookup(name)
	if !ok {
		return fmt.Errorf("unknown topic config name: %s", name)
	}
	bad := func() error { return fmt.Errorf("invalid value %s for configuration %s", value, name) }
	switch tc.kind {
	case KindLong, KindInt:
		bits := 64
		if tc.kind == KindInt {
			bits = 32
		}
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, bits) // as Kafka reads numbers
		if err != nil {
			return bad()
		}
		// A negative max.message.bytes, say, would refuse every batch.
		if n < tc.min {
			return fmt.Errorf("invalid value %s for configuration %s: value must be at least %d", value, name, tc.min)
		}
	case KindBool:
		if value != "true" && value != "false" {
			return bad()
		}
	case KindCleanupPolicy:
		for _, p := range strings.Split(value, ",") {
			if p = strings.TrimSpace(p); p != "delete" && p != "compact" {
				return bad()
			}
		}
	case KindTimestampType:
		if value != "CreateTime" && value != "LogAppendTime" {
			return bad()
		}
	case KindCompression:
		if !slices.Contains([]string{"producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"}, value) {
			return bad()
		}
	}
	return nil
}

// IsCompacted reports whether a cleanup.policy value includes compact.
func IsCompacted(policy string) bool {
	_, compact := parseCleanup(policy)
	return compact
}

// parseCleanup reads a cleanup.policy value; items it does not know are
// ignored (Validate refuses them where a value is set).
func parseCleanup(v string) (del, compact bool) {
	for _, p := range strings.Split(v, ",") {
		switch strings.TrimSpace(p) {
		case "delete":
			del = true
		case "compact":
			compact = true
		}
	}
	return del, compact
}
