// Package topicconfig is Kafka's topic and broker configuration as caudal
// reads it: the config names, their broker defaults and documentation,
// parsing and validation of values, the layers a broker setting comes
// from (Kafka's default, the operator's flags, dynamic configs for the
// cluster and for one broker), and the retention and cleanup policy a
// topic's configs resolve to. The gateway serves and checks configs with
// it and the worker's jobs take their policy from it, so both read the
// same settings the same way. It imports no other caudal package.
package topicconfig

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Kind is how a config's value is checked, and the type Kafka reports.
type Kind int

// The kinds of config.
const (
	KindLong Kind = iota
	KindInt
	KindBool
	KindCleanupPolicy // a LIST of delete and compact
	KindTimestampType // a STRING: CreateTime or LogAppendTime
	KindCompression   // a STRING naming a codec
	KindString
	KindList
	KindShort
	KindDouble
)

// topicConfig describes one topic-level config: Kafka's name, the broker
// setting that supplies its default, and how a value is checked.
type topicConfig struct {
	name string
	// brokerKey is the broker setting it falls back to; with its
	// synonyms (brokerSynonyms) the first that has a value wins, as
	// log.retention.ms over .minutes over .hours. Empty: def is the
	// default.
	brokerKey string
	def       string
	kind      Kind
	// min is the smallest value Kafka accepts for a numeric config.
	min int64
	// removed: Kafka 4 dropped the config. caudal still accepts it, as a
	// no-op, so that topics and tools made for Kafka 3 keep working, and
	// lists it only where a topic sets it.
	removed bool
	doc     string
}

// topicConfigs are the topic configs caudal knows, with Kafka's names. The
// ones about segment files, flushes, indexes, replication throttles and
// tiered storage are accepted and reported but change nothing: caudal's
// segments are objects in the bucket and its replication is the bucket's.
var topicConfigs = []topicConfig{
	{name: "cleanup.policy", brokerKey: "log.cleanup.policy", kind: KindCleanupPolicy,
		doc: "delete: remove old records by retention.ms and retention.bytes; compact: keep the latest record of each key; both may be given."},
	{name: "compression.gzip.level", brokerKey: "compression.gzip.level", kind: KindInt, min: -1,
		doc: "Level of gzip compression when compression.type is gzip (caudal keeps batches as producers compressed them)."},
	{name: "compression.lz4.level", brokerKey: "compression.lz4.level", kind: KindInt, min: 1,
		doc: "Level of lz4 compression when compression.type is lz4 (caudal keeps batches as producers compressed them)."},
	{name: "compression.type", brokerKey: "compression.type", kind: KindCompression,
		doc: "Final compression of the topic's batches: producer keeps the producer's codec; uncompressed, gzip, snappy, lz4, zstd."},
	{name: "compression.zstd.level", brokerKey: "compression.zstd.level", kind: KindInt, min: -131072,
		doc: "Level of zstd compression when compression.type is zstd (caudal keeps batches as producers compressed them)."},
	{name: "delete.retention.ms", brokerKey: "log.cleaner.delete.retention.ms", kind: KindLong, min: 0,
		doc: "How long tombstones stay on a compacted topic, so that consumers reading from the start see them."},
	{name: "file.delete.delay.ms", brokerKey: "log.segment.delete.delay.ms", kind: KindLong, min: 0,
		doc: "Kafka's wait before deleting a segment file; accepted, no effect (the worker's --delete-grace applies)."},
	{name: "flush.messages", brokerKey: "log.flush.interval.messages", kind: KindLong, min: 1,
		doc: "Kafka's forced fsync interval in messages; accepted, no effect (nothing is acknowledged before it is in the bucket)."},
	{name: "flush.ms", brokerKey: "log.flush.interval.ms", kind: KindLong, min: 0,
		doc: "Kafka's forced fsync interval in ms; accepted, no effect (nothing is acknowledged before it is in the bucket)."},
	{name: "follower.replication.throttled.replicas", def: "", kind: KindList,
		doc: "Replicas whose replication is throttled on the follower side; accepted, no effect."},
	{name: "index.interval.bytes", brokerKey: "log.index.interval.bytes", kind: KindInt, min: 0,
		doc: "Kafka's offset index granularity; accepted, no effect (caudal indexes each flushed object)."},
	{name: "leader.replication.throttled.replicas", def: "", kind: KindList,
		doc: "Replicas whose replication is throttled on the leader side; accepted, no effect."},
	{name: "local.retention.bytes", brokerKey: "log.local.retention.bytes", kind: KindLong, min: -2,
		doc: "Tiered storage's local retention in bytes; accepted, no effect (all of caudal's data is in the bucket)."},
	{name: "local.retention.ms", brokerKey: "log.local.retention.ms", kind: KindLong, min: -2,
		doc: "Tiered storage's local retention in ms; accepted, no effect (all of caudal's data is in the bucket)."},
	{name: "max.compaction.lag.ms", brokerKey: "log.cleaner.max.compaction.lag.ms", kind: KindLong, min: 1,
		doc: "Longest a record stays ineligible for compaction."},
	{name: "max.message.bytes", brokerKey: "message.max.bytes", kind: KindInt, min: 0,
		doc: "Largest record batch size allowed, after compression."},
	{name: "message.downconversion.enable", def: "true", kind: KindBool, removed: true,
		doc: "Removed in Kafka 4 (KIP-724); accepted, no effect: caudal serves record batches as stored."},
	{name: "message.format.version", def: "3.0-IV1", kind: KindString, removed: true,
		doc: "Removed in Kafka 4 (KIP-724); accepted, no effect: caudal stores message format v2 only."},
	{name: "message.timestamp.after.max.ms", brokerKey: "log.message.timestamp.after.max.ms", kind: KindLong, min: 0,
		doc: "Largest allowed gap of a CreateTime timestamp after the broker's clock; accepted, not enforced."},
	{name: "message.timestamp.before.max.ms", brokerKey: "log.message.timestamp.before.max.ms", kind: KindLong, min: 0,
		doc: "Largest allowed gap of a CreateTime timestamp before the broker's clock; accepted, not enforced."},
	{name: "message.timestamp.difference.max.ms", def: "9223372036854775807", kind: KindLong, min: 0, removed: true,
		doc: "Removed in Kafka 4; accepted, not enforced."},
	{name: "message.timestamp.type", brokerKey: "log.message.timestamp.type", kind: KindTimestampType,
		doc: "CreateTime or LogAppendTime; caudal keeps the producer's timestamps either way."},
	{name: "min.cleanable.dirty.ratio", brokerKey: "log.cleaner.min.cleanable.ratio", kind: KindDouble,
		doc: "Kafka's threshold of uncompacted log for the cleaner to run; accepted, no effect."},
	{name: "min.compaction.lag.ms", brokerKey: "log.cleaner.min.compaction.lag.ms", kind: KindLong, min: 0,
		doc: "Shortest time a record stays uncompacted."},
	{name: "min.insync.replicas", brokerKey: "min.insync.replicas", kind: KindInt, min: 1,
		doc: "Replicas that must acknowledge acks=all; caudal's durability is the bucket's."},
	{name: "preallocate", brokerKey: "log.preallocate", kind: KindBool,
		doc: "Kafka's preallocation of segment files; accepted, no effect."},
	{name: "remote.storage.enable", def: "false", kind: KindBool,
		doc: "Tiered storage; accepted, no effect (all of caudal's data is in the bucket)."},
	{name: "retention.bytes", brokerKey: "log.retention.bytes", kind: KindLong, min: math.MinInt64,
		doc: "Largest size of a partition before old records are deleted; -1 is no limit."},
	{name: "retention.ms", brokerKey: "log.retention.ms", kind: KindLong, min: -1,
		doc: "Longest time a record is kept before it is deleted; -1 is no limit."},
	{name: "segment.bytes", brokerKey: "log.segment.bytes", kind: KindInt, min: 14,
		doc: "Kafka's segment file size; accepted, no effect (caudal writes one object per flush)."},
	{name: "segment.index.bytes", brokerKey: "log.index.size.max.bytes", kind: KindInt, min: 4,
		doc: "Kafka's offset index size; accepted, no effect."},
	{name: "segment.jitter.ms", brokerKey: "log.roll.jitter.ms", kind: KindLong, min: 0,
		doc: "Kafka's random jitter on segment.ms; accepted, no effect."},
	{name: "segment.ms", brokerKey: "log.roll.ms", kind: KindLong, min: 1,
		doc: "Kafka's time before a segment file is rolled; accepted, no effect (caudal writes one object per flush)."},
	{name: "unclean.leader.election.enable", brokerKey: "unclean.leader.election.enable", kind: KindBool,
		doc: "Whether an out-of-sync replica may become leader; caudal has no replicas to elect."},
}

func lookup(name string) (topicConfig, bool) {
	i := slices.IndexFunc(topicConfigs, func(tc topicConfig) bool { return tc.name == name })
	if i < 0 {
		return topicConfig{}, false
	}
	return topicConfigs[i], true
}

// KindOf is the kind of the topic or broker config name, if caudal knows
// it.
func KindOf(name string) (Kind, bool) {
	if tc, ok := lookup(name); ok {
		return tc.kind, true
	}
	bc, ok := brokerConfigByName(name)
	return bc.kind, ok
}

// Doc is the documentation of the topic or broker config name.
func Doc(name string) string {
	if tc, ok := lookup(name); ok {
		return tc.doc
	}
	bc, _ := brokerConfigByName(name)
	return bc.doc
}

// Validate checks one topic config as Kafka's broker would; the error's
// message is the one Kafka gives with INVALID_CONFIG.
func Validate(name, value string) error {
	tc, ok := lookup(name)
	if !ok {
		return fmt.Errorf("unknown topic config name: %s", name)
	}
	return checkValue(name, value, tc.kind, tc.min)
}

// checkValue checks value as a config of the kind, numbers at least min.
func checkValue(name, value string, kind Kind, min int64) error {
	bad := func() error { return fmt.Errorf("invalid value %s for configuration %s", value, name) }
	switch kind {
	case KindLong, KindInt, KindShort:
		bits := map[Kind]int{KindLong: 64, KindInt: 32, KindShort: 16}[kind]
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, bits) // as Kafka reads numbers
		if err != nil {
			return bad()
		}
		// A negative max.message.bytes, say, would refuse every batch.
		if n < min {
			return fmt.Errorf("invalid value %s for configuration %s: value must be at least %d", value, name, min)
		}
	case KindDouble:
		if f, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err != nil || f < 0 || f > 1 {
			return bad()
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
