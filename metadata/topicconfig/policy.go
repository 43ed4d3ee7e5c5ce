package topicconfig

import (
	"strconv"
	"strings"
)

// Policy is a topic's effective cleanup settings: its explicit topic
// configs over the broker defaults, with Kafka's names and meanings.
type Policy struct {
	Delete             bool  // cleanup.policy has delete: time and size retention apply
	Compact            bool  // cleanup.policy has compact: key compaction applies
	RetentionMs        int64 // retention.ms; -1 keeps forever
	RetentionBytes     int64 // retention.bytes per partition; -1 is unlimited
	DeleteRetentionMs  int64 // delete.retention.ms: how long tombstones stay
	MinCompactionLagMs int64 // min.compaction.lag.ms
}

// Policy returns a topic's effective policy from its explicitly set
// configs. A value that does not parse keeps the default (the gateway
// validates configs when they are set).
func (b *Broker) Policy(configs map[string]string) Policy {
	return b.cur.Load().policy.with(configs)
}

// with is p with the settings configs holds, keyed by topic config name.
// The broker's defaults come in the same way (newLayers), so that
// this is the one table from names to fields. A value that does not parse
// keeps p's; NewBroker and SetDynamic refuse such broker values.
func (p Policy) with(configs map[string]string) Policy {
	for key, dst := range map[string]*int64{
		"retention.ms":          &p.RetentionMs,
		"retention.bytes":       &p.RetentionBytes,
		"delete.retention.ms":   &p.DeleteRetentionMs,
		"min.compaction.lag.ms": &p.MinCompactionLagMs,
	} {
		if v, ok := configs[key]; ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				*dst = n
			}
		}
	}
	if v, ok := configs["cleanup.policy"]; ok {
		p.Delete, p.Compact = parseCleanup(v)
	}
	return p
}
