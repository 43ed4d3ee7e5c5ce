package topicconfig

// Kafka's config sources, as DescribeConfigs reports them.
const (
	SourceTopic          int8 = 1 // DYNAMIC_TOPIC_CONFIG
	SourceDynamicBroker  int8 = 2 // DYNAMIC_BROKER_CONFIG
	SourceDynamicDefault int8 = 3 // DYNAMIC_DEFAULT_BROKER_CONFIG
	SourceStaticBroker   int8 = 4 // STATIC_BROKER_CONFIG
	SourceDefault        int8 = 5 // DEFAULT_CONFIG
)

// Entry is one config as DescribeConfigs reports it: its value (none
// when Null), where the value comes from, the settings it could come from
// in Kafka's order (Synonyms), its kind, whether it is read-only and its
// documentation.
type Entry struct {
	Name, Value string
	Null        bool
	Source      int8
	Synonyms    []Synonym
	Kind        Kind
	ReadOnly    bool
	Doc         string
}

// Synonym is one place a config's value could come from.
type Synonym struct {
	Name, Value string
	Source      int8
}

// TopicEntries lists every topic config's effective value, source and
// synonyms given the configs the topic set, as Kafka's
// createTopicConfigEntry: the topic's own value first, then the broker
// settings it falls back to. Configs Kafka 4 removed are listed only
// where the topic sets them.
func (b *Broker) TopicEntries(set map[string]string) []Entry {
	l := b.cur.Load()
	out := make([]Entry, 0, len(topicConfigs))
	for _, tc := range topicConfigs {
		v, own := set[tc.name]
		if tc.removed && !own {
			continue
		}
		var syns []Synonym
		if own {
			syns = append(syns, Synonym{tc.name, v, SourceTopic})
		} else {
			v = l.topicDefault(tc)
		}
		if tc.brokerKey != "" {
			syns = append(syns, l.synonyms(tc.brokerKey)...)
		}
		out = append(out, Entry{Name: tc.name, Value: v, Source: sourceOf(syns), Synonyms: syns, Kind: tc.kind, Doc: tc.doc})
	}
	return out
}

// BrokerEntries lists every broker setting in force on this broker, by
// name, as Kafka describes a broker id.
func (b *Broker) BrokerEntries() []Entry {
	l := b.cur.Load()
	out := make([]Entry, 0, len(brokerConfigs))
	for _, c := range brokerConfigs {
		v, ok := l.value(c.name)
		syns := l.synonyms(c.name)
		out = append(out, Entry{Name: c.name, Value: v, Null: !ok, Source: sourceOf(syns), Synonyms: syns,
			Kind: c.kind, ReadOnly: !c.dynamic, Doc: c.doc})
	}
	return out
}

// DefaultEntries lists the cluster-wide dynamic defaults that are set, as
// Kafka describes the broker resource "" (kafka-configs --entity-default).
func (b *Broker) DefaultEntries() []Entry {
	l := b.cur.Load()
	var out []Entry
	for _, c := range brokerConfigs {
		v, ok := l.clusterDefault[c.name]
		if !ok {
			continue
		}
		var syns []Synonym
		for _, s := range l.synonyms(c.name) {
			if s.Source == SourceDynamicDefault {
				syns = append(syns, s)
			}
		}
		out = append(out, Entry{Name: c.name, Value: v, Source: sourceOf(syns), Synonyms: syns,
			Kind: c.kind, ReadOnly: !c.dynamic, Doc: c.doc})
	}
	return out
}

// synonyms lists where the broker setting name could take its value
// from, as Kafka's configSynonyms: this broker's dynamic configs, the
// cluster default's, the static ones, then Kafka's defaults, each level
// in the order of name's synonyms; entries before name's own first are
// dropped, as Kafka drops them.
func (l *layers) synonyms(name string) []Synonym {
	var out []Synonym
	for _, lvl := range []struct {
		m   map[string]string
		src int8
	}{{l.perBroker, SourceDynamicBroker}, {l.clusterDefault, SourceDynamicDefault}, {l.static, SourceStaticBroker}, {kafkaDefaults, SourceDefault}} {
		for _, s := range brokerSynonyms(name) {
			if v, ok := lvl.m[s]; ok {
				out = append(out, Synonym{s, v, lvl.src})
			}
		}
	}
	for len(out) > 0 && out[0].Name != name {
		out = out[1:]
	}
	return out
}

// sourceOf is the source of a config whose synonyms are syns: the first
// one's, else Kafka's default.
func sourceOf(syns []Synonym) int8 {
	if len(syns) == 0 {
		return SourceDefault
	}
	return syns[0].Source
}
