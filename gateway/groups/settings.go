package groups

import (
	"time"

	"github.com/caudal/caudal/metadata/topicconfig"
)

// groupSettings are the coordinator's timeouts, read once from the broker
// configs.
type groupSettings struct {
	minSession, maxSession time.Duration
	// consumerSession and consumerHeartbeat apply to KIP-848 groups,
	// whose members do not choose their own.
	consumerSession   time.Duration
	consumerHeartbeat time.Duration
	offsetsRetention  time.Duration // <0: keep forever
	retentionCheck    time.Duration
	maxMetadata       int
	// initialDelay is group.initial.rebalance.delay.ms (initial_delay.go).
	initialDelay time.Duration
	// tick is how often timers are checked (wall clock); lagRefresh how
	// often the lag gauges are recomputed.
	tick       time.Duration
	lagRefresh time.Duration
	// persistRetry is how soon a group that failed to save is tried
	// again; evictAfter is how long a group stays in memory empty.
	persistRetry time.Duration
	evictAfter   time.Duration
}

func groupSettingsFrom(bc *topicconfig.Broker, initialDelay time.Duration) groupSettings {
	ms := func(key string) time.Duration { return time.Duration(bc.Int(key)) * time.Millisecond }
	s := groupSettings{
		minSession:        ms("group.min.session.timeout.ms"),
		maxSession:        ms("group.max.session.timeout.ms"),
		consumerSession:   ms("group.consumer.session.timeout.ms"),
		consumerHeartbeat: ms("group.consumer.heartbeat.interval.ms"),
		offsetsRetention:  time.Duration(bc.Int("offsets.retention.minutes")) * time.Minute,
		retentionCheck:    ms("offsets.retention.check.interval.ms"),
		maxMetadata:       int(bc.Int("offset.metadata.max.bytes")),
		initialDelay:      max(initialDelay, 0),
		tick:              50 * time.Millisecond,
		lagRefresh:        10 * time.Second,
		persistRetry:      time.Second,
		evictAfter:        time.Minute,
	}
	if bc.Int("offsets.retention.minutes") < 0 {
		s.offsetsRetention = -1
	}
	if s.retentionCheck <= 0 {
		s.retentionCheck = 10 * time.Minute
	}
	return s
}

// capRebalance bounds a client-chosen rebalance timeout. Kafka takes it as
// sent, but it sets how long a join phase and each JoinGroup and SyncGroup
// may wait: up to about 24 days. group.max.session.timeout.ms (30 min by
// default) is the longest a member may be silent anyway.
func (s groupSettings) capRebalance(d time.Duration) time.Duration {
	return min(d, s.maxSession)
}
