package topicconfig_test

import (
	"slices"
	"testing"

	"github.com/caudal/caudal/metadata/topicconfig"
)

func TestNewBrokerResolvesRetention(t *testing.T) {
	for _, tc := range []struct {
		name   string
		broker map[string]string
		wantMs int64
	}{
		{"kafka default", nil, 604800000},
		{"hours", map[string]string{"log.retention.hours": "1"}, 3600000},
		{"minutes over hours", map[string]string{"log.retention.hours": "1", "log.retention.minutes": "2"}, 120000},
		{"ms over minutes and hours", map[string]string{"log.retention.hours": "1", "log.retention.minutes": "2", "log.retention.ms": "3"}, 3},
		{"negative ms keeps forever", map[string]string{"log.retention.ms": "-1", "log.retention.minutes": "2"}, -1},
		{"negative hours keeps forever", map[string]string{"log.retention.hours": "-5"}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := topicconfig.NewBroker(tc.broker)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Int("log.retention.ms"); got != tc.wantMs {
				t.Errorf("log.retention.ms = %d, want %d", got, tc.wantMs)
			}
			if got := b.Policy(nil).RetentionMs; got != tc.wantMs {
				t.Errorf("Policy().RetentionMs = %d, want %d", got, tc.wantMs)
			}
		})
	}
}

func TestNewBrokerRefuses(t *testing.T) {
	for _, tc := range []struct {
		broker map[string]string
		err    string
	}{
		{map[string]string{"log.retention.days": "1"}, `unknown broker config "log.retention.days"`},
		{map[string]string{"log.retention.hours": "x"}, `broker config log.retention.hours="x": invalid value x for configuration log.retention.hours`},
		{map[string]string{"log.retention.minutes": "1.5"}, `broker config log.retention.minutes="1.5": invalid value 1.5 for configuration log.retention.minutes`},
		{map[string]string{"log.retention.ms": ""}, `broker config log.retention.ms="": invalid value  for configuration log.retention.ms`},
		{map[string]string{"log.retention.bytes": "1GiB"}, `broker config log.retention.bytes="1GiB": invalid value 1GiB for configuration log.retention.bytes`},
		{map[string]string{"log.cleaner.delete.retention.ms": "1d"}, `broker config log.cleaner.delete.retention.ms="1d": invalid value 1d for configuration log.cleaner.delete.retention.ms`},
		{map[string]string{"log.cleaner.min.compaction.lag.ms": "soon"}, `broker config log.cleaner.min.compaction.lag.ms="soon": invalid value soon for configuration log.cleaner.min.compaction.lag.ms`},
		// Read as 0, these refused every batch or every member.
		{map[string]string{"message.max.bytes": "1MB"}, `broker config message.max.bytes="1MB": invalid value 1MB for configuration message.max.bytes`},
		{map[string]string{"group.max.session.timeout.ms": "30m"}, `broker config group.max.session.timeout.ms="30m": invalid value 30m for configuration group.max.session.timeout.ms`},
		{map[string]string{"message.max.bytes": "-1"}, `broker config message.max.bytes="-1": invalid value -1 for configuration message.max.bytes: value must be at least 0`},
		// Read as 0, this would forget every idempotent producer at once.
		{map[string]string{"producer.id.expiration.ms": "0"}, `broker config producer.id.expiration.ms="0": invalid value 0 for configuration producer.id.expiration.ms: value must be at least 1`},
		{map[string]string{"producer.id.expiration.ms": "1d"}, `broker config producer.id.expiration.ms="1d": invalid value 1d for configuration producer.id.expiration.ms`},
		// Kafka reads every setting, even one another overrides.
		{map[string]string{"log.retention.ms": "5", "log.retention.hours": "x"}, `broker config log.retention.hours="x": invalid value x for configuration log.retention.hours`},
	} {
		if _, err := topicconfig.NewBroker(tc.broker); err == nil || err.Error() != tc.err {
			t.Errorf("NewBroker(%v) = %v, want %q", tc.broker, err, tc.err)
		}
	}
}

func TestPolicy(t *testing.T) {
	const week, day = 604800000, 86400000
	for _, tc := range []struct {
		name   string
		broker map[string]string
		topic  map[string]string
		want   topicconfig.Policy
	}{
		{"defaults", nil, nil, topicconfig.Policy{Delete: true, RetentionMs: week, RetentionBytes: -1, DeleteRetentionMs: day}},
		{"broker hours", map[string]string{"log.retention.hours": "1"}, nil,
			topicconfig.Policy{Delete: true, RetentionMs: 3600000, RetentionBytes: -1, DeleteRetentionMs: day}},
		{"broker minutes over hours", map[string]string{"log.retention.hours": "1", "log.retention.minutes": "2"}, nil,
			topicconfig.Policy{Delete: true, RetentionMs: 120000, RetentionBytes: -1, DeleteRetentionMs: day}},
		{"broker negative ms over minutes", map[string]string{"log.retention.ms": "-1", "log.retention.minutes": "2"}, nil,
			topicconfig.Policy{Delete: true, RetentionMs: -1, RetentionBytes: -1, DeleteRetentionMs: day}},
		{"broker compact", map[string]string{"log.cleanup.policy": "compact"}, nil,
			topicconfig.Policy{Compact: true, RetentionMs: week, RetentionBytes: -1, DeleteRetentionMs: day}},
		{"topic cleanup settings", nil,
			map[string]string{"retention.ms": "2000", "retention.bytes": "10", "cleanup.policy": "compact,delete", "delete.retention.ms": "5"},
			topicconfig.Policy{Delete: true, Compact: true, RetentionMs: 2000, RetentionBytes: 10, DeleteRetentionMs: 5}},
		{"broker cleanup settings", map[string]string{"log.cleanup.policy": "compact", "log.retention.bytes": "100",
			"log.cleaner.delete.retention.ms": "7", "log.cleaner.min.compaction.lag.ms": " 9 "}, nil,
			topicconfig.Policy{Compact: true, RetentionMs: week, RetentionBytes: 100, DeleteRetentionMs: 7, MinCompactionLagMs: 9}},
		{"topic over broker", map[string]string{"log.retention.hours": "1"},
			map[string]string{"retention.ms": "2000", "retention.bytes": "10", "cleanup.policy": "compact,delete", "delete.retention.ms": "5", "min.compaction.lag.ms": "6"},
			topicconfig.Policy{Delete: true, Compact: true, RetentionMs: 2000, RetentionBytes: 10, DeleteRetentionMs: 5, MinCompactionLagMs: 6}},
		{"topic forever", nil, map[string]string{"retention.ms": "-1"},
			topicconfig.Policy{Delete: true, RetentionMs: -1, RetentionBytes: -1, DeleteRetentionMs: day}},
		{"spaces in topic values", nil, map[string]string{"retention.ms": " 3 ", "cleanup.policy": " compact , delete "},
			topicconfig.Policy{Delete: true, Compact: true, RetentionMs: 3, RetentionBytes: -1, DeleteRetentionMs: day}},
		{"topic value that does not parse keeps the default", nil, map[string]string{"retention.ms": "soon"},
			topicconfig.Policy{Delete: true, RetentionMs: week, RetentionBytes: -1, DeleteRetentionMs: day}},
		{"empty cleanup policy", nil, map[string]string{"cleanup.policy": ""},
			topicconfig.Policy{RetentionMs: week, RetentionBytes: -1, DeleteRetentionMs: day}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := topicconfig.NewBroker(tc.broker)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Policy(tc.topic); got != tc.want {
				t.Errorf("got %+v want %+v", got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		err         string // "" if valid
	}{
		{"retention.ms", "-1", ""},
		{"retention.ms", "9223372036854775807", ""},
		{"retention.ms", "soon", "invalid value soon for configuration retention.ms"},
		{"max.message.bytes", "1048588", ""},
		{"max.message.bytes", "4294967296", "invalid value 4294967296 for configuration max.message.bytes"},
		// Stored, these would refuse every batch or delete at once.
		{"max.message.bytes", "-5", "invalid value -5 for configuration max.message.bytes: value must be at least 0"},
		{"retention.ms", "-2", "invalid value -2 for configuration retention.ms: value must be at least -1"},
		{"segment.bytes", "13", "invalid value 13 for configuration segment.bytes: value must be at least 14"},
		{"min.insync.replicas", "0", "invalid value 0 for configuration min.insync.replicas: value must be at least 1"},
		{"retention.bytes", "-7", ""},
		{"max.message.bytes", " 1000 ", ""},
		{"unclean.leader.election.enable", "false", ""},
		{"unclean.leader.election.enable", "yes", "invalid value yes for configuration unclean.leader.election.enable"},
		{"cleanup.policy", "compact,delete", ""},
		{"cleanup.policy", " delete , compact ", ""},
		{"cleanup.policy", "compact,archive", "invalid value compact,archive for configuration cleanup.policy"},
		{"message.timestamp.type", "LogAppendTime", ""},
		{"message.timestamp.type", "logappendtime", "invalid value logappendtime for configuration message.timestamp.type"},
		{"compression.type", "zstd", ""},
		{"compression.type", "brotli", "invalid value brotli for configuration compression.type"},
		{"retention.hours", "1", "unknown topic config name: retention.hours"},
	} {
		err := topicconfig.Validate(tc.name, tc.value)
		if (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("Validate(%q, %q) = %v, want %q", tc.name, tc.value, err, tc.err)
		}
	}
}

func TestKindOfAndIsCompacted(t *testing.T) {
	if k, ok := topicconfig.KindOf("cleanup.policy"); !ok || k != topicconfig.KindCleanupPolicy {
		t.Errorf("KindOf(cleanup.policy) = %v, %v", k, ok)
	}
	if k, ok := topicconfig.KindOf("max.message.bytes"); !ok || k != topicconfig.KindInt {
		t.Errorf("KindOf(max.message.bytes) = %v, %v", k, ok)
	}
	if k, ok := topicconfig.KindOf("log.retention.hours"); !ok || k != topicconfig.KindInt {
		t.Errorf("KindOf(log.retention.hours) = %v, %v", k, ok)
	}
	if _, ok := topicconfig.KindOf("log.retention.days"); ok {
		t.Error("an unknown name has a kind")
	}
	for policy, want := range map[string]bool{"compact": true, "delete,compact": true, " compact ": true, "delete": false, "": false} {
		if got := topicconfig.IsCompacted(policy); got != want {
			t.Errorf("IsCompacted(%q) = %v", policy, got)
		}
	}
}

// A topic config comes from the topic, else from an operator's broker
// setting, else from Kafka's default, and says which.
func TestEntriesAndSources(t *testing.T) {
	b, err := topicconfig.NewBroker(map[string]string{"log.retention.minutes": "2", "num.partitions": "3"})
	if err != nil {
		t.Fatal(err)
	}
	topic := map[string]string{"cleanup.policy": "compact"}
	want := map[string]topicconfig.Entry{
		"cleanup.policy": {Name: "cleanup.policy", Value: "compact", Source: topicconfig.SourceTopic,
			Synonyms: []topicconfig.Synonym{{"cleanup.policy", "compact", topicconfig.SourceTopic}, {"log.cleanup.policy", "delete", topicconfig.SourceDefault}}},
		"retention.bytes":   {Name: "retention.bytes", Value: "-1", Source: topicconfig.SourceDefault, Synonyms: []topicconfig.Synonym{{"log.retention.bytes", "-1", topicconfig.SourceDefault}}},
		"max.message.bytes": {Name: "max.message.bytes", Value: "1048588", Source: topicconfig.SourceDefault, Synonyms: []topicconfig.Synonym{{"message.max.bytes", "1048588", topicconfig.SourceDefault}}},
		// The resolved retention time is a default: the operator set
		// minutes, not ms, and Kafka drops synonyms before
		// log.retention.ms's own.
		"retention.ms": {Name: "retention.ms", Value: "120000", Source: topicconfig.SourceDefault},
	}
	entries := b.TopicEntries(topic)
	for _, e := range entries {
		if w, ok := want[e.Name]; ok && !sameEntry(e, w) {
			t.Errorf("topic entry %+v, want %+v", e, w)
		}
		if v, set := b.TopicValue(topic, e.Name); v != e.Value || set != (e.Source == topicconfig.SourceTopic) {
			t.Errorf("TopicValue(%s) = %q, %v; entry %+v", e.Name, v, set, e)
		}
		if e.Doc == "" {
			t.Errorf("%s has no documentation", e.Name)
		}
		if e.Name == "message.format.version" {
			t.Error("a config Kafka 4 removed is listed though the topic does not set it")
		}
	}
	if len(entries) != 31 {
		t.Errorf("%d topic entries, want 31", len(entries))
	}
	if v, set := b.TopicValue(topic, "no.such.config"); v != "" || set {
		t.Errorf("TopicValue of an unknown name = %q, %v", v, set)
	}

	brokerWant := map[string]topicconfig.Entry{
		"log.retention.minutes": {Name: "log.retention.minutes", Value: "2", Source: topicconfig.SourceStaticBroker},
		// Unset and without a default, as Kafka reports it.
		"log.retention.ms":    {Name: "log.retention.ms", Null: true, Source: topicconfig.SourceDefault},
		"num.partitions":      {Name: "num.partitions", Value: "3", Source: topicconfig.SourceStaticBroker},
		"delete.topic.enable": {Name: "delete.topic.enable", Value: "true", Source: topicconfig.SourceDefault},
		// A day, as Kafka's default.
		"producer.id.expiration.ms": {Name: "producer.id.expiration.ms", Value: "86400000", Source: topicconfig.SourceDefault},
	}
	prev := ""
	for _, e := range b.BrokerEntries() {
		if e.Name <= prev {
			t.Errorf("broker entries out of order: %s after %s", e.Name, prev)
		}
		prev = e.Name
		if w, ok := brokerWant[e.Name]; ok {
			if e.Value != w.Value || e.Null != w.Null || e.Source != w.Source {
				t.Errorf("broker entry %+v, want %+v", e, w)
			}
			delete(brokerWant, e.Name)
		}
	}
	if len(brokerWant) > 0 {
		t.Errorf("broker entries miss %v", brokerWant)
	}
	if !b.Bool("auto.create.topics.enable") || b.Bool("unclean.leader.election.enable") || b.Int("num.partitions") != 3 {
		t.Error("Bool or Int misread the broker settings")
	}
	if b.Int("log.retention.ms") != 120000 {
		t.Errorf("Int(log.retention.ms) = %d, want log.retention.minutes in ms", b.Int("log.retention.ms"))
	}
}

func sameEntry(a, b topicconfig.Entry) bool {
	return a.Name == b.Name && a.Value == b.Value && a.Source == b.Source && slices.Equal(a.Synonyms, b.Synonyms)
}

func TestTopicInt(t *testing.T) {
	b, err := topicconfig.NewBroker(map[string]string{"message.max.bytes": "2000000"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		set  map[string]string
		want int64
	}{
		{nil, 2000000},
		{map[string]string{"max.message.bytes": "5000"}, 5000},
		{map[string]string{"max.message.bytes": " 5000 "}, 5000},
		// Stored before values were checked: the broker's value holds.
		{map[string]string{"max.message.bytes": "-5"}, 2000000},
		{map[string]string{"max.message.bytes": "1MB"}, 2000000},
	} {
		if got := b.TopicInt(tc.set, "max.message.bytes"); got != tc.want {
			t.Errorf("TopicInt(%v) = %d, want %d", tc.set, got, tc.want)
		}
	}
}
