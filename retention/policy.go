package retention

import (
	"fmt"
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

// Defaults are the broker settings topic configs default to.
type Defaults struct {
	base Policy
}

// NewDefaults resolves the broker settings the worker uses (Kafka's names:
// log.retention.ms / .minutes / .hours, log.retention.bytes,
// log.cleanup.policy, log.cleaner.delete.retention.ms,
// log.cleaner.min.compaction.lag.ms) over Kafka's defaults. Other keys are
// the gateway's business and ignored here.
func NewDefaults(broker map[string]string) (Defaults, error) {
	d := Defaults{base: Policy{Delete: true, RetentionMs: 7 * 24 * 3600 * 1000, RetentionBytes: -1,
		DeleteRetentionMs: 24 * 3600 * 1000}}
	num := func(key string) (int64, bool, error) {
		v, ok := broker[key]
		if !ok {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("broker config %s=%q: not a number", key, v)
		}
		return n, true, nil
	}
	// ms wins over minutes, minutes over hours.
	for _, u := range []struct {
		key  string
		mult int64
	}{{"log.retention.ms", 1}, {"log.retention.minutes", 60_000}, {"log.retention.hours", 3_600_000}} {
		n, ok, err := num(u.key)
		if err != nil {
			return Defaults{}, err
		}
		if ok {
			d.base.RetentionMs = -1
			if n >= 0 {
				d.base.RetentionMs = n * u.mult
			}
			break
		}
	}
	for key, dst := range map[string]*int64{
		"log.retention.bytes":               &d.base.RetentionBytes,
		"log.cleaner.delete.retention.ms":   &d.base.DeleteRetentionMs,
		"log.cleaner.min.compaction.lag.ms": &d.base.MinCompactionLagMs,
	} {
		n, ok, err := num(key)
		if err != nil {
			return Defaults{}, err
		}
		if ok {
			*dst = n
		}
	}
	if v, ok := broker["log.cleanup.policy"]; ok {
		d.base.Delete, d.base.Compact = parseCleanup(v)
	}
	return d, nil
}

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

// Policy returns a topic's effective policy from its explicitly set
// configs. A value that does not parse keeps the default (the gateway
// validates configs when they are set).
func (d Defaults) Policy(configs map[string]string) Policy {
	p := d.base
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
