package topicconfig

import (
	"math"
	"slices"
	"strings"
)

// brokerConfig describes one Kafka broker config caudal reports.
type brokerConfig struct {
	name string
	// def is Kafka's default (caudal's where it differs, and says so);
	// null: the setting has no value unless set, as log.retention.ms.
	def  string
	null bool
	kind Kind
	min  int64
	// dynamic: IncrementalAlterConfigs and AlterConfigs may set it, and
	// caudal applies a change without a restart.
	dynamic bool
	// flag: the gateway's own flag sets it, so --broker-config may not.
	flag string
	doc  string
}

const maxLong = "9223372036854775807"

// brokerConfigs are the broker configs caudal reports, by name. The log.*
// settings and the others that are topic defaults, num.partitions,
// auto.create.topics.enable and producer.id.expiration.ms are dynamic;
// the rest are read at start-up, as in Kafka.
var brokerConfigs = sortedByName([]brokerConfig{
	{name: "auto.create.topics.enable", def: "true", kind: KindBool, dynamic: true,
		doc: "Create a topic a Metadata request names when it does not exist (caudal: applied dynamically)."},
	{name: "compression.gzip.level", def: "-1", kind: KindInt, min: -1, dynamic: true, doc: "Default of the topic config compression.gzip.level."},
	{name: "compression.lz4.level", def: "9", kind: KindInt, min: 1, dynamic: true, doc: "Default of the topic config compression.lz4.level."},
	{name: "compression.type", def: "producer", kind: KindCompression, dynamic: true, doc: "Default of the topic config compression.type."},
	{name: "compression.zstd.level", def: "3", kind: KindInt, min: -131072, dynamic: true, doc: "Default of the topic config compression.zstd.level."},
	{name: "default.replication.factor", def: "1", kind: KindInt, min: 1,
		doc: "Replication factor of topics created without one; accepted and reported, durability is the bucket's."},
	{name: "delete.topic.enable", def: "true", kind: KindBool, doc: "Whether topics may be deleted."},
	{name: "group.consumer.heartbeat.interval.ms", def: "5000", kind: KindInt, min: 1, doc: "Heartbeat interval of consumer-protocol (KIP-848) group members."},
	{name: "group.consumer.session.timeout.ms", def: "45000", kind: KindInt, min: 1, doc: "Session timeout of consumer-protocol (KIP-848) group members."},
	{name: "group.initial.rebalance.delay.ms", def: "3000", kind: KindInt, min: 0, doc: "How long the first rebalance of a new classic group waits for more members."},
	{name: "group.max.session.timeout.ms", def: "1800000", kind: KindInt, min: 1, doc: "Longest session timeout a classic group member may ask for."},
	{name: "group.min.session.timeout.ms", def: "6000", kind: KindInt, min: 1, doc: "Shortest session timeout a classic group member may ask for."},
	{name: "log.cleaner.delete.retention.ms", def: "86400000", kind: KindLong, min: 0, dynamic: true, doc: "Default of the topic config delete.retention.ms."},
	{name: "log.cleaner.max.compaction.lag.ms", def: maxLong, kind: KindLong, min: 1, dynamic: true, doc: "Default of the topic config max.compaction.lag.ms."},
	{name: "log.cleaner.min.cleanable.ratio", def: "0.5", kind: KindDouble, dynamic: true, doc: "Default of the topic config min.cleanable.dirty.ratio."},
	{name: "log.cleaner.min.compaction.lag.ms", def: "0", kind: KindLong, min: 0, dynamic: true, doc: "Default of the topic config min.compaction.lag.ms."},
	{name: "log.cleanup.policy", def: "delete", kind: KindCleanupPolicy, dynamic: true, doc: "Default of the topic config cleanup.policy."},
	{name: "log.flush.interval.messages", def: maxLong, kind: KindLong, min: 1, dynamic: true, doc: "Default of the topic config flush.messages."},
	{name: "log.flush.interval.ms", null: true, kind: KindLong, min: 0, dynamic: true,
		doc: "Default of the topic config flush.ms; unset, log.flush.scheduler.interval.ms."},
	{name: "log.flush.scheduler.interval.ms", def: maxLong, kind: KindLong, min: math.MinInt64, doc: "Kafka's flusher interval; no effect."},
	{name: "log.index.interval.bytes", def: "4096", kind: KindInt, min: 0, dynamic: true, doc: "Default of the topic config index.interval.bytes."},
	{name: "log.index.size.max.bytes", def: "10485760", kind: KindInt, min: 4, dynamic: true, doc: "Default of the topic config segment.index.bytes."},
	{name: "log.local.retention.bytes", def: "-2", kind: KindLong, min: -2, dynamic: true, doc: "Default of the topic config local.retention.bytes."},
	{name: "log.local.retention.ms", def: "-2", kind: KindLong, min: -2, dynamic: true, doc: "Default of the topic config local.retention.ms."},
	{name: "log.message.timestamp.after.max.ms", def: maxLong, kind: KindLong, min: 0, dynamic: true,
		doc: "Default of the topic config message.timestamp.after.max.ms."},
	{name: "log.message.timestamp.before.max.ms", def: maxLong, kind: KindLong, min: 0, dynamic: true,
		doc: "Default of the topic config message.timestamp.before.max.ms."},
	{name: "log.message.timestamp.type", def: "CreateTime", kind: KindTimestampType, dynamic: true, doc: "Default of the topic config message.timestamp.type."},
	{name: "log.preallocate", def: "false", kind: KindBool, dynamic: true, doc: "Default of the topic config preallocate."},
	{name: "log.retention.bytes", def: "-1", kind: KindLong, min: math.MinInt64, dynamic: true, doc: "Default of the topic config retention.bytes."},
	{name: "log.retention.check.interval.ms", def: "300000", kind: KindLong, min: 1,
		doc: "How often retention runs; in caudal the worker's --retention-check-interval."},
	{name: "log.retention.hours", def: "168", kind: KindInt, min: math.MinInt64, dynamic: true,
		doc: "Default of the topic config retention.ms, in hours; log.retention.minutes and log.retention.ms take precedence."},
	{name: "log.retention.minutes", null: true, kind: KindInt, min: math.MinInt64, dynamic: true,
		doc: "Default of the topic config retention.ms, in minutes; log.retention.ms takes precedence."},
	{name: "log.retention.ms", null: true, kind: KindLong, min: math.MinInt64, dynamic: true,
		doc: "Default of the topic config retention.ms; -1 keeps records forever."},
	{name: "log.roll.hours", def: "168", kind: KindInt, min: 1, dynamic: true, doc: "Default of the topic config segment.ms, in hours."},
	{name: "log.roll.jitter.hours", def: "0", kind: KindInt, min: 0, dynamic: true, doc: "Default of the topic config segment.jitter.ms, in hours."},
	{name: "log.roll.jitter.ms", null: true, kind: KindLong, min: 0, dynamic: true, doc: "Default of the topic config segment.jitter.ms."},
	{name: "log.roll.ms", null: true, kind: KindLong, min: 1, dynamic: true, doc: "Default of the topic config segment.ms."},
	{name: "log.segment.bytes", def: "1073741824", kind: KindInt, min: 14, dynamic: true, doc: "Default of the topic config segment.bytes."},
	{name: "log.segment.delete.delay.ms", def: "60000", kind: KindLong, min: 0, dynamic: true, doc: "Default of the topic config file.delete.delay.ms."},
	{name: "max.connections", def: "2147483647", kind: KindInt, min: 0, flag: "--max-connections",
		doc: "Client connections served at once; in caudal the gateway's --max-connections."},
	{name: "max.connections.per.ip", def: "2147483647", kind: KindInt, min: 0, flag: "--max-connections-per-ip",
		doc: "Client connections per address; in caudal the gateway's --max-connections-per-ip."},
	{name: "message.max.bytes", def: "1048588", kind: KindInt, min: 0, dynamic: true, doc: "Default of the topic config max.message.bytes."},
	{name: "min.insync.replicas", def: "1", kind: KindInt, min: 1, dynamic: true, doc: "Default of the topic config min.insync.replicas."},
	{name: "num.partitions", def: "1", kind: KindInt, min: 1, dynamic: true,
		doc: "Partitions of topics created without a count, and of auto-created ones (caudal: applied dynamically)."},
	// caudal keeps one copy of group offsets in its metadata store, so
	// its internal topic needs no replicas.
	{name: "offset.metadata.max.bytes", def: "4096", kind: KindInt, min: 0, doc: "Largest metadata string a committed offset may carry."},
	{name: "offsets.retention.check.interval.ms", def: "600000", kind: KindLong, min: 1, doc: "How often expired committed offsets are removed."},
	{name: "offsets.retention.minutes", def: "10080", kind: KindInt, min: math.MinInt64, doc: "How long committed offsets of an empty group are kept."},
	{name: "offsets.topic.num.partitions", def: "50", kind: KindInt, min: 1, doc: "Partitions of __consumer_offsets."},
	{name: "offsets.topic.replication.factor", def: "1", kind: KindShort, min: 1, doc: "Replication factor reported for __consumer_offsets (Kafka's default is 3)."},
	{name: "producer.id.expiration.ms", def: "86400000", kind: KindInt, min: 1, dynamic: true,
		doc: "How long an idempotent producer's state is kept after its last write."},
	{name: "queued.max.request.bytes", def: "104857600", kind: KindLong, min: math.MinInt64, flag: "--queued-max-request-bytes",
		doc: "Bytes of requests held at once; in caudal the gateway's --queued-max-request-bytes (Kafka's default is -1, no limit)."},
	{name: "socket.request.max.bytes", def: "104857600", kind: KindInt, min: 1, doc: "Largest request accepted."},
	{name: "transaction.max.timeout.ms", def: "900000", kind: KindInt, min: 1, doc: "Longest transaction timeout a producer may ask for."},
	{name: "transactional.id.expiration.ms", def: "604800000", kind: KindInt, min: 1, doc: "How long a transactional id's state is kept after its last use."},
	{name: "unclean.leader.election.enable", def: "false", kind: KindBool, dynamic: true, doc: "Default of the topic config unclean.leader.election.enable."},
})

func sortedByName(cs []brokerConfig) []brokerConfig {
	slices.SortFunc(cs, func(a, b brokerConfig) int { return strings.Compare(a.name, b.name) })
	return cs
}

func brokerConfigByName(name string) (brokerConfig, bool) {
	i, ok := slices.BinarySearchFunc(brokerConfigs, name, func(c brokerConfig, n string) int { return strings.Compare(c.name, n) })
	if !ok {
		return brokerConfig{}, false
	}
	return brokerConfigs[i], true
}

// brokerSynonymGroups are the broker settings Kafka reads as one, the
// first that has a value winning, each converted to the first's unit.
var brokerSynonymGroups = [][]string{
	{"log.retention.ms", "log.retention.minutes", "log.retention.hours"},
	{"log.roll.ms", "log.roll.hours"},
	{"log.roll.jitter.ms", "log.roll.jitter.hours"},
	{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"},
}

// brokerSynonyms is name with the settings Kafka reads in its place, in
// Kafka's order (DynamicBrokerConfig.brokerConfigSynonyms).
func brokerSynonyms(name string) []string {
	for _, g := range brokerSynonymGroups {
		if slices.Contains(g, name) {
			return g
		}
	}
	return []string{name}
}

// unitMs converts a value of the broker setting name to milliseconds.
func unitMs(name string) int64 {
	switch {
	case strings.HasSuffix(name, ".hours"):
		return 3_600_000
	case strings.HasSuffix(name, ".minutes"):
		return 60_000
	}
	return 1
}

// KafkaDefault is Kafka's default of the broker setting name ("" when it
// has none).
func KafkaDefault(name string) string { return kafkaDefaults[name] }
