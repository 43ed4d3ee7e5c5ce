package topicconfig

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync/atomic"
)

// Broker is the broker settings in force, from four layers as Kafka
// stacks them: a dynamic config of this broker over the cluster-wide
// dynamic default over the operator's flags (static) over Kafka's
// default. The static layer is fixed at start; SetDynamic replaces the
// dynamic ones at once for every reader, so a change made through
// AlterConfigs applies without a restart.
type Broker struct {
	cur atomic.Pointer[layers]
}

// layers is one immutable version of the settings.
type layers struct {
	perBroker, clusterDefault, static map[string]string
	policy                            Policy // what a topic without configs of its own gets
}

// kafkaDefaults are Kafka's defaults of the broker settings that have one.
var kafkaDefaults = func() map[string]string {
	m := map[string]string{}
	for _, c := range brokerConfigs {
		if !c.null {
			m[c.name] = c.def
		}
	}
	return m
}()

// NewBroker applies the operator's settings over Kafka's defaults. It
// refuses keys caudal does not report, keys a gateway flag sets, and
// values Kafka would refuse: read as 0, a bad message.max.bytes, say,
// would refuse every batch, and a misread retention deletes data.
func NewBroker(overrides map[string]string) (*Broker, error) {
	return NewGatewayBroker(overrides, nil)
}

// NewGatewayBroker is NewBroker for a gateway, which also reports the
// settings its own flags hold (max.connections, node.id, …) as static.
func NewGatewayBroker(overrides, fromFlags map[string]string) (*Broker, error) {
	for k, v := range overrides {
		c, ok := brokerConfigByName(k)
		switch {
		case !ok:
			return nil, fmt.Errorf("unknown broker config %q", k)
		case c.flag != "":
			return nil, fmt.Errorf("broker config %s is set with the gateway's %s flag", k, c.flag)
		}
		if err := checkValue(k, v, c.kind, c.min); err != nil {
			return nil, fmt.Errorf("broker config %s=%q: %w", k, v, err)
		}
	}
	static := maps.Clone(overrides)
	if static == nil {
		static = map[string]string{}
	}
	maps.Copy(static, fromFlags)
	b := &Broker{}
	b.cur.Store(newLayers(static, nil, nil))
	return b, nil
}

func newLayers(static, clusterDefault, perBroker map[string]string) *layers {
	l := &layers{static: static, clusterDefault: clusterDefault, perBroker: perBroker}
	defaults := make(map[string]string, len(topicConfigs))
	for _, tc := range topicConfigs {
		defaults[tc.name] = l.topicDefault(tc)
	}
	l.policy = Policy{}.with(defaults)
	return l
}

// SetDynamic makes the dynamic configs of the cluster default and of
// this broker the ones in force. A stored value caudal cannot apply (set
// by another version, say) is left out, as Kafka ignores invalid dynamic
// configs; the error names them.
func (b *Broker) SetDynamic(clusterDefault, perBroker map[string]string) error {
	var errs []error
	valid := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if err := ValidateDynamic(k, v); err != nil {
				errs = append(errs, err)
				continue
			}
			out[k] = v
		}
		return out
	}
	cur := b.cur.Load()
	b.cur.Store(newLayers(cur.static, valid(clusterDefault), valid(perBroker)))
	return errors.Join(errs...)
}

// Why a dynamic broker config is refused, compared with errors.Is.
var (
	ErrUnknownConfig = errors.New("unknown broker config")
	ErrNotDynamic    = errors.New("broker config is not dynamic")
	ErrInvalidValue  = errors.New("invalid broker config value")
)

// ConfigError is a refused dynamic broker config, with Kafka's message.
type ConfigError struct {
	Reason error // ErrUnknownConfig, ErrNotDynamic or ErrInvalidValue
	Msg    string
}

func (e *ConfigError) Error() string { return e.Msg }
func (e *ConfigError) Unwrap() error { return e.Reason }

// ValidateDynamic checks one dynamic broker config as Kafka's
// DynamicBrokerConfig does.
func ValidateDynamic(name, value string) error {
	c, ok := brokerConfigByName(name)
	if !ok {
		return &ConfigError{ErrUnknownConfig, "Unknown config name: " + name}
	}
	if !c.dynamic {
		return &ConfigError{ErrNotDynamic, fmt.Sprintf("Cannot update these configs dynamically: Set(%s)", name)}
	}
	if err := checkValue(name, value, c.kind, c.min); err != nil {
		return &ConfigError{ErrInvalidValue, err.Error()}
	}
	return nil
}

// value is a broker setting's value in force, or ok=false when it has
// none (an unset setting without a default, as log.retention.ms).
func (l *layers) value(key string) (string, bool) {
	for _, m := range []map[string]string{l.perBroker, l.clusterDefault, l.static, kafkaDefaults} {
		if v, ok := m[key]; ok {
			return v, true
		}
	}
	return "", false
}

// resolved is key's value as Kafka reads it: the first of its synonyms
// that has a value, converted to key's unit; a negative time is -1.
func (l *layers) resolved(key string) string {
	for _, s := range brokerSynonyms(key) {
		v, ok := l.value(s)
		if !ok {
			continue
		}
		if unitMs(s) == unitMs(key) {
			return v
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue // refused where it is set; a default always parses
		}
		if n < 0 {
			return "-1"
		}
		return strconv.FormatInt(n*unitMs(s)/unitMs(key), 10)
	}
	return ""
}

// topicDefault is the value a topic that does not set tc gets.
func (l *layers) topicDefault(tc topicConfig) string {
	if tc.brokerKey == "" {
		return tc.def
	}
	return l.resolved(tc.brokerKey)
}

// Bool is a boolean broker setting.
func (b *Broker) Bool(key string) bool { return b.cur.Load().resolved(key) == "true" }

// Int is a numeric broker setting, with its synonyms (log.retention.ms
// from log.retention.hours); 0 if it is not a number.
func (b *Broker) Int(key string) int64 {
	v, _ := strconv.ParseInt(strings.TrimSpace(b.cur.Load().resolved(key)), 10, 64)
	return v
}

// TopicValue is a topic config's effective value given the configs the
// topic set, and whether the topic set it explicitly.
func (b *Broker) TopicValue(set map[string]string, name string) (string, bool) {
	if v, ok := set[name]; ok {
		return v, true
	}
	if tc, ok := lookup(name); ok {
		return b.cur.Load().topicDefault(tc), false
	}
	return "", false
}

// TopicInt is a numeric topic config's effective value. A value set on the
// topic that Validate would refuse (stored before it checked ranges) gives
// way to the broker's: read as 0, a max.message.bytes refused every batch.
func (b *Broker) TopicInt(set map[string]string, name string) int64 {
	tc, _ := lookup(name)
	v, ok := set[name]
	if !ok || Validate(name, v) != nil {
		v = b.cur.Load().topicDefault(tc)
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n
}

// DynamicStore is where dynamic broker configs are kept (the metadata
// store): by resource, "" for the cluster default or a broker id.
type DynamicStore interface {
	ListBrokerConfigs(ctx context.Context) (map[string]map[string]string, error)
}

// LoadDynamic applies the stored dynamic configs of the cluster default
// and of broker ("" for none: the worker is no broker). On a store error
// the configs in force stay.
func (b *Broker) LoadDynamic(ctx context.Context, store DynamicStore, broker string) error {
	all, err := store.ListBrokerConfigs(ctx)
	if err != nil {
		return err
	}
	var own map[string]string
	if broker != "" {
		own = all[broker]
	}
	return b.SetDynamic(all[""], own)
}
