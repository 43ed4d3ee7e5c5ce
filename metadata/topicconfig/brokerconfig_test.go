package topicconfig_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/caudal/caudal/metadata/topicconfig"
)

// Per-broker dynamic over cluster-default dynamic over static over
// Kafka's default, for every reader at once.
func TestDynamicPrecedence(t *testing.T) {
	b, err := topicconfig.NewBroker(map[string]string{"num.partitions": "2", "log.retention.hours": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Int("num.partitions") != 2 || b.Policy(nil).RetentionMs != 3_600_000 {
		t.Fatalf("static: num.partitions %d, retention %d", b.Int("num.partitions"), b.Policy(nil).RetentionMs)
	}
	if err := b.SetDynamic(map[string]string{"num.partitions": "3", "log.retention.ms": "5000"}, nil); err != nil {
		t.Fatal(err)
	}
	if b.Int("num.partitions") != 3 || b.Policy(nil).RetentionMs != 5000 || b.TopicInt(nil, "retention.ms") != 5000 {
		t.Fatalf("cluster default: num.partitions %d, retention %d", b.Int("num.partitions"), b.Policy(nil).RetentionMs)
	}
	if err := b.SetDynamic(map[string]string{"num.partitions": "3", "log.retention.ms": "5000"}, map[string]string{"num.partitions": "4", "auto.create.topics.enable": "false"}); err != nil {
		t.Fatal(err)
	}
	if b.Int("num.partitions") != 4 || b.Bool("auto.create.topics.enable") {
		t.Fatalf("per broker: num.partitions %d, auto.create %v", b.Int("num.partitions"), b.Bool("auto.create.topics.enable"))
	}
	// A topic's own value still wins.
	if got := b.Policy(map[string]string{"retention.ms": "7"}).RetentionMs; got != 7 {
		t.Fatalf("topic retention.ms = %d", got)
	}
	// Removing the dynamic configs goes back to the static ones.
	if err := b.SetDynamic(nil, nil); err != nil {
		t.Fatal(err)
	}
	if b.Int("num.partitions") != 2 || b.Policy(nil).RetentionMs != 3_600_000 {
		t.Fatalf("after removal: num.partitions %d, retention %d", b.Int("num.partitions"), b.Policy(nil).RetentionMs)
	}
}

// Synonyms are listed as Kafka lists them: the topic's value, then the
// broker settings by level, each level in the synonyms' order.
func TestDynamicSynonyms(t *testing.T) {
	b, err := topicconfig.NewBroker(map[string]string{"log.retention.hours": "72"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetDynamic(map[string]string{"log.retention.ms": "5000", "message.max.bytes": "2000"}, map[string]string{"message.max.bytes": "3000"}); err != nil {
		t.Fatal(err)
	}
	entry := func(entries []topicconfig.Entry, name string) topicconfig.Entry {
		i := slices.IndexFunc(entries, func(e topicconfig.Entry) bool { return e.Name == name })
		if i < 0 {
			t.Fatalf("%s not listed", name)
		}
		return entries[i]
	}
	topic := b.TopicEntries(map[string]string{"retention.ms": "100"})
	wantRet := []topicconfig.Synonym{
		{"retention.ms", "100", topicconfig.SourceTopic},
		{"log.retention.ms", "5000", topicconfig.SourceDynamicDefault},
		{"log.retention.hours", "72", topicconfig.SourceStaticBroker},
		{"log.retention.hours", "168", topicconfig.SourceDefault},
	}
	if e := entry(topic, "retention.ms"); e.Value != "100" || e.Source != topicconfig.SourceTopic || !slices.Equal(e.Synonyms, wantRet) {
		t.Errorf("retention.ms: %+v\nwant synonyms %v", e, wantRet)
	}
	wantMax := []topicconfig.Synonym{
		{"message.max.bytes", "3000", topicconfig.SourceDynamicBroker},
		{"message.max.bytes", "2000", topicconfig.SourceDynamicDefault},
		{"message.max.bytes", "1048588", topicconfig.SourceDefault},
	}
	if e := entry(topic, "max.message.bytes"); e.Value != "3000" || e.Source != topicconfig.SourceDynamicBroker || !slices.Equal(e.Synonyms, wantMax) {
		t.Errorf("max.message.bytes: %+v", e)
	}
	broker := b.BrokerEntries()
	if e := entry(broker, "message.max.bytes"); e.Value != "3000" || e.ReadOnly || !slices.Equal(e.Synonyms, wantMax) {
		t.Errorf("broker message.max.bytes: %+v", e)
	}
	if e := entry(broker, "group.max.session.timeout.ms"); !e.ReadOnly || e.Doc == "" || e.Kind != topicconfig.KindInt {
		t.Errorf("a static setting is described %+v", e)
	}
	// The cluster default lists only what is set there, with only its
	// own synonyms.
	defaults := b.DefaultEntries()
	if len(defaults) != 2 {
		t.Fatalf("default entries %+v", defaults)
	}
	if e := entry(defaults, "log.retention.ms"); e.Value != "5000" || e.Source != topicconfig.SourceDynamicDefault ||
		!slices.Equal(e.Synonyms, []topicconfig.Synonym{{"log.retention.ms", "5000", topicconfig.SourceDynamicDefault}}) {
		t.Errorf("default log.retention.ms: %+v", e)
	}
}

func TestValidateDynamic(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		reason      error
		msg         string
	}{
		{"log.retention.ms", "60000", nil, ""},
		{"log.cleanup.policy", "compact,delete", nil, ""},
		{"auto.create.topics.enable", "false", nil, ""},
		{"num.partitions", "12", nil, ""},
		{"log.retention.days", "1", topicconfig.ErrUnknownConfig, "Unknown config name: log.retention.days"},
		{"offsets.topic.num.partitions", "3", topicconfig.ErrNotDynamic, "Cannot update these configs dynamically: Set(offsets.topic.num.partitions)"},
		{"max.connections", "3", topicconfig.ErrNotDynamic, "Cannot update these configs dynamically: Set(max.connections)"},
		{"log.retention.ms", "soon", topicconfig.ErrInvalidValue, "invalid value soon for configuration log.retention.ms"},
		{"num.partitions", "0", topicconfig.ErrInvalidValue, "invalid value 0 for configuration num.partitions: value must be at least 1"},
		{"message.max.bytes", "4294967296", topicconfig.ErrInvalidValue, "invalid value 4294967296 for configuration message.max.bytes"},
		{"log.cleanup.policy", "archive", topicconfig.ErrInvalidValue, "invalid value archive for configuration log.cleanup.policy"},
	} {
		err := topicconfig.ValidateDynamic(tc.name, tc.value)
		if tc.reason == nil && err != nil || tc.reason != nil && (!errors.Is(err, tc.reason) || err.Error() != tc.msg) {
			t.Errorf("ValidateDynamic(%s, %s) = %v, want %v %q", tc.name, tc.value, err, tc.reason, tc.msg)
		}
	}
}

// A stored dynamic value caudal cannot apply is left out, and the others
// still apply.
func TestSetDynamicSkipsInvalid(t *testing.T) {
	b, _ := topicconfig.NewBroker(nil)
	err := b.SetDynamic(map[string]string{"num.partitions": "x", "log.retention.bytes": "10", "delete.topic.enable": "false"}, nil)
	if err == nil {
		t.Fatal("invalid stored values were not reported")
	}
	if b.Int("num.partitions") != 1 || b.Policy(nil).RetentionBytes != 10 || !b.Bool("delete.topic.enable") {
		t.Errorf("num.partitions %d, retention.bytes %d, delete.topic.enable %v", b.Int("num.partitions"), b.Policy(nil).RetentionBytes, b.Bool("delete.topic.enable"))
	}
}

// Settings that a gateway flag owns are refused as --broker-config, and
// reported from the flags.
func TestGatewayFlagSettings(t *testing.T) {
	if _, err := topicconfig.NewBroker(map[string]string{"max.connections": "5"}); err == nil ||
		err.Error() != "broker config max.connections is set with the gateway's --max-connections flag" {
		t.Errorf("max.connections as --broker-config: %v", err)
	}
	b, err := topicconfig.NewGatewayBroker(nil, map[string]string{"max.connections": "5"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range b.BrokerEntries() {
		if e.Name == "max.connections" && (e.Value != "5" || e.Source != topicconfig.SourceStaticBroker) {
			t.Errorf("max.connections reported %+v", e)
		}
	}
}

// Topic configs Kafka 3 accepts and caudal has no use for are accepted;
// the ones Kafka 4 removed are listed only where set.
func TestNoOpTopicConfigs(t *testing.T) {
	for name, value := range map[string]string{
		"message.format.version": "2.8", "message.downconversion.enable": "false", "file.delete.delay.ms": "1000",
		"flush.messages": "10", "flush.ms": "1000", "index.interval.bytes": "4096", "preallocate": "true",
		"segment.index.bytes": "1024", "segment.jitter.ms": "0", "min.cleanable.dirty.ratio": "0.3",
		"message.timestamp.difference.max.ms": "1000", "remote.storage.enable": "false",
	} {
		if err := topicconfig.Validate(name, value); err != nil {
			t.Errorf("Validate(%s, %s) = %v", name, value, err)
		}
	}
	for name, value := range map[string]string{"preallocate": "yes", "min.cleanable.dirty.ratio": "1.5", "flush.messages": "0"} {
		if err := topicconfig.Validate(name, value); err == nil {
			t.Errorf("Validate(%s, %s) accepted", name, value)
		}
	}
	b, _ := topicconfig.NewBroker(nil)
	entries := b.TopicEntries(map[string]string{"message.format.version": "2.8"})
	i := slices.IndexFunc(entries, func(e topicconfig.Entry) bool { return e.Name == "message.format.version" })
	if i < 0 || entries[i].Value != "2.8" || entries[i].Source != topicconfig.SourceTopic {
		t.Errorf("a set message.format.version is not listed: %v", i)
	}
}
