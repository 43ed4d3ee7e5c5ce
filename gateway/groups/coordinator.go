// Package groups is the consumer-group coordinator: the classic protocol's
// and KIP-848's state machines, the server-side assignors, committed
// offsets and their expiry, and consumer lag. Its protocol is Kafka's, so
// it takes and returns kmsg requests and responses and writes Kafka error
// codes; it owns no connection and maps storage errors through the
// gateway's ErrorCode.
//
// Group state (members, generation, assignments) lives in this gateway's
// memory, behind groupTable; what must survive a restart is written to a
// groupStore in the background, and committed offsets go straight to the
// metadata store. Timers are absolute times on the injected clock
// (Config.Now), checked by tick every few milliseconds of wall time, so
// tests can drive them with a fake clock. One gateway coordinates each
// group (Config.Coordinates); the others answer NOT_COORDINATOR.
package groups

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/metadata/topicconfig"
)

type groupState int8

const (
	groupEmpty groupState = iota
	groupPreparingRebalance
	groupCompletingRebalance
	groupStable
	// groupDead is only what DescribeGroups reports for a group it does
	// not know: a group that dies leaves memory at once, under co.mu.
	groupDead
	// KIP-848 states.
	groupAssigning
	groupReconciling
)

var groupStateNames = map[groupState]string{
	groupEmpty:               "Empty",
	groupPreparingRebalance:  "PreparingRebalance",
	groupCompletingRebalance: "CompletingRebalance",
	groupStable:              "Stable",
	groupDead:                "Dead",
	groupAssigning:           "Assigning",
	groupReconciling:         "Reconciling",
}

func (s groupState) String() string { return groupStateNames[s] }

const (
	groupTypeClassic  = "classic"
	groupTypeConsumer = "consumer"
)

// group is one consumer group. All fields are guarded by the
// coordinator's mutex.
type group struct {
	name  string
	typ   string // groupTypeClassic or groupTypeConsumer
	state groupState
	// emptySince is when the group last became empty (offset retention).
	emptySince time.Time

	// Classic protocol.
	protocolType string
	protocol     string
	generation   int32
	leader       string
	members      map[string]*member
	statics      map[string]string    // group.instance.id → member id
	pending      map[string]time.Time // ids handed out with MEMBER_ID_REQUIRED → expiry
	joinDeadline time.Time
	joinSeq      int64
	// initial is the delayed first join phase of a group that was Empty
	// (initial_delay.go).
	initial initialJoin

	// KIP-848 protocol.
	cons *consumerGroup
}

// member is a classic group member.
type member struct {
	id, instanceID, clientID, host string
	protocols                      []kmsg.JoinGroupRequestProtocol
	session, rebalance             time.Duration
	expires                        time.Time
	assignment                     []byte
	joinedAt                       int64
	// join and sync are the member's waiting JoinGroup / SyncGroup, if
	// any; buffered so that answering never blocks.
	join chan *kmsg.JoinGroupResponse
	sync chan syncResult
}

type syncResult struct {
	code       int16
	assignment []byte
}

func newGroup(name string) *group {
	return &group{
		name:    name,
		typ:     groupTypeClassic,
		members: map[string]*member{},
		statics: map[string]string{},
		pending: map[string]time.Time{},
		cons:    newConsumerGroup(),
	}
}

// groupTable holds the groups this coordinator owns. It is an interface so
// that coordinators can later be spread over gateways.
type groupTable interface {
	get(name string) *group
	put(g *group)
	remove(name string)
	all() []*group
}

type memGroupTable map[string]*group

func (t memGroupTable) get(name string) *group { return t[name] }
func (t memGroupTable) put(g *group)           { t[g.name] = g }
func (t memGroupTable) remove(name string)     { delete(t, name) }
func (t memGroupTable) all() []*group {
	out := make([]*group, 0, len(t))
	for _, g := range t {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Topics is the gateway's view of the topics (gateway/cluster.Topics).
type Topics interface {
	ByName(ctx context.Context, name string) (metadata.Topic, error)
	// All lists every topic; it may be a little stale.
	All(ctx context.Context) ([]metadata.Topic, error)
}

// Config is what a Coordinator needs.
type Config struct {
	Store  metadata.Store
	Topics Topics
	// Broker supplies the group.* and offsets.* broker settings.
	Broker *topicconfig.Broker
	// Coordinates reports whether this gateway coordinates a group.
	Coordinates func(group string) bool
	// ErrorCode maps storage and other typed errors to Kafka codes, and
	// ErrorMessage to the text a client may see (nil for none).
	ErrorCode    func(error) int16
	ErrorMessage func(error) *string
	// InitialRebalanceDelay is Kafka's group.initial.rebalance.delay.ms:
	// how long the first join phase of an empty classic group waits for
	// more members. Zero completes it as soon as every member known has
	// joined.
	InitialRebalanceDelay time.Duration
	Now                   func() time.Time
	Log                   *slog.Logger
	Registerer            prometheus.Registerer
}

// errText is the message a client may see for err, "" for none.
func (co *Coordinator) errText(err error) string {
	if co.errMessage == nil {
		return err.Error()
	}
	if m := co.errMessage(err); m != nil {
		return *m
	}
	return ""
}

// ErrStopped is what requests get once the coordinator is closing.
var ErrStopped = errors.New("group coordinator is shutting down")

// Coordinator serves the group APIs for the groups this gateway
// coordinates.
type Coordinator struct {
	store       metadata.Store
	topics      Topics
	gs          groupStore
	now         func() time.Time
	log         *slog.Logger
	set         groupSettings
	coordinates func(string) bool
	errCode     func(error) int16
	errMessage  func(error) *string

	mu      sync.Mutex
	groups  groupTable
	dirty   map[string]bool
	stopped bool

	kick chan struct{}
	stop chan struct{}
	wg   sync.WaitGroup

	lag *prometheus.GaugeVec
}

// New returns a coordinator of no groups yet; Start runs its timers.
func New(c Config) *Coordinator {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	co := &Coordinator{
		store:       c.Store,
		topics:      c.Topics,
		gs:          groupStoreFor(c.Store),
		now:         c.Now,
		log:         c.Log,
		set:         groupSettingsFrom(c.Broker, c.InitialRebalanceDelay),
		coordinates: c.Coordinates,
		errCode:     c.ErrorCode,
		errMessage:  c.ErrorMessage,
		groups:      memGroupTable{},
		dirty:       map[string]bool{},
		kick:        make(chan struct{}, 1),
		stop:        make(chan struct{}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "caudal_consumer_group_lag",
			Help: "Records between a group's committed offset and the partition's high watermark.",
		}, []string{"group", "topic", "partition"}),
	}
	if err := c.Registerer.Register(co.lag); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if gv, ok := are.ExistingCollector.(*prometheus.GaugeVec); ok {
				co.lag = gv
			}
		}
	}
	return co
}

// Start runs the timers, the persister and the lag refresher.
func (co *Coordinator) Start() {
	co.wg.Add(3)
	go co.timerLoop()
	go co.persistLoop()
	go co.lagLoop()
}

// Close answers every waiting request, saves what is unsaved and stops.
func (co *Coordinator) Close(ctx context.Context) {
	co.mu.Lock()
	if co.stopped {
		co.mu.Unlock()
		return
	}
	co.stopped = true
	for _, gr := range co.groups.all() {
		for _, m := range gr.members {
			co.answerJoinErr(m, errCodeNotCoordinator)
			co.answerSync(m, syncResult{code: errCodeNotCoordinator})
		}
	}
	co.mu.Unlock()
	close(co.stop)
	co.wg.Wait()
	co.persist(ctx)
}

func (co *Coordinator) timerLoop() {
	defer co.wg.Done()
	t := time.NewTicker(co.set.tick)
	defer t.Stop()
	var lastSweep, lastEvict time.Time
	for {
		select {
		case <-co.stop:
			return
		case <-t.C:
		}
		now := co.now()
		co.tick(now)
		if now.Sub(lastSweep) >= co.set.retentionCheck {
			lastSweep = now
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := co.expireOffsets(ctx, now); err != nil {
				co.log.Warn("expire group offsets", "err", err)
			}
			cancel()
		}
		if now.Sub(lastEvict) >= co.set.evictAfter {
			lastEvict = now
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			co.evictEmpty(ctx, now)
			cancel()
		}
	}
}

// tick fires every timer that is due at now.
func (co *Coordinator) tick(now time.Time) {
	co.mu.Lock()
	defer co.mu.Unlock()
	for _, gr := range co.groups.all() {
		if gr.typ == groupTypeConsumer {
			co.consumerTick(gr, now)
			continue
		}
		for id, until := range gr.pending {
			if now.After(until) {
				delete(gr.pending, id)
				co.completeJoinAfterRemoval(gr)
			}
		}
		for _, m := range gr.members {
			if m.join == nil && now.After(m.expires) {
				co.log.Info("group member session expired", "group", gr.name, "member", m.id)
				co.removeMember(gr, m)
			}
		}
		switch {
		case gr.state != groupPreparingRebalance || now.Before(gr.joinDeadline):
		case gr.initial.active:
			co.initialStepDue(gr, now)
		default:
			co.completeJoin(gr)
		}
	}
}

// lookup returns the group, loading it from the group store when this
// coordinator does not hold it, and creating it when create is set. On
// success it returns with co.mu held, also when the group is nil (not
// found and create unset).
func (co *Coordinator) lookup(ctx context.Context, name string, create bool) (*group, error) {
	for {
		co.mu.Lock()
		if co.stopped {
			co.mu.Unlock()
			return nil, ErrStopped
		}
		if gr := co.groups.get(name); gr != nil {
			return gr, nil
		}
		co.mu.Unlock()
		rec, err := co.gs.LoadGroup(ctx, name)
		var gr *group
		switch {
		case errors.Is(err, metadata.ErrNotFound):
			if !create {
				co.mu.Lock()
				if gr := co.groups.get(name); gr != nil {
					return gr, nil
				}
				return nil, nil
			}
			gr = newGroup(name)
			gr.emptySince = co.now()
		case err != nil:
			return nil, err
		default:
			gr = co.restore(rec)
		}
		co.mu.Lock()
		if co.groups.get(name) != nil {
			co.mu.Unlock()
			continue
		}
		co.groups.put(gr)
		return gr, nil
	}
}

// restore rebuilds a group from its record after a restart. Members come
// back as they were but must rejoin: a classic group starts a rebalance
// (so its generation goes up), a KIP-848 group bumps its epoch.
func (co *Coordinator) restore(rec groupRecord) *group {
	gr := newGroup(rec.Name)
	now := co.now()
	gr.emptySince = rec.UpdatedAt
	gr.protocolType = rec.ProtocolType
	gr.protocol = rec.Protocol
	gr.generation = rec.Generation
	gr.leader = rec.Leader
	if rec.Type == groupTypeConsumer {
		gr.typ = groupTypeConsumer
		co.restoreConsumer(gr, rec, now)
		return gr
	}
	var maxRebalance time.Duration
	for _, mr := range rec.Members {
		gr.joinSeq++
		m := &member{
			id: mr.MemberID, instanceID: mr.InstanceID, clientID: mr.ClientID, host: mr.ClientHost,
			protocols:  []kmsg.JoinGroupRequestProtocol{{Name: rec.Protocol, Metadata: mr.ProtocolMetadata}},
			session:    time.Duration(mr.SessionTimeoutMs) * time.Millisecond,
			rebalance:  co.set.capRebalance(time.Duration(mr.RebalanceTimeoutMs) * time.Millisecond),
			assignment: mr.Assignment,
			joinedAt:   gr.joinSeq,
		}
		m.expires = now.Add(m.session)
		gr.members[m.id] = m
		if m.instanceID != "" {
			gr.statics[m.instanceID] = m.id
		}
		maxRebalance = max(maxRebalance, m.rebalance)
	}
	if len(gr.members) > 0 {
		gr.state = groupPreparingRebalance
		gr.joinDeadline = now.Add(maxRebalance)
	}
	return gr
}

// record snapshots a group for the group store.
func (co *Coordinator) record(gr *group) groupRecord {
	rec := groupRecord{
		Name: gr.name, Type: gr.typ, ProtocolType: gr.protocolType, Protocol: gr.protocol,
		Generation: gr.generation, Leader: gr.leader, UpdatedAt: co.now(),
	}
	if gr.typ == groupTypeConsumer {
		co.recordConsumer(gr, &rec)
		return rec
	}
	for _, m := range gr.sortedMembers() {
		rec.Members = append(rec.Members, groupMemberRecord{
			MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.host,
			SessionTimeoutMs:   ms(m.session),
			RebalanceTimeoutMs: ms(m.rebalance),
			ProtocolMetadata:   m.metadataFor(gr.protocol),
			Assignment:         m.assignment,
		})
	}
	return rec
}

// markDirty queues the group for the persister. Called with co.mu held.
func (co *Coordinator) markDirty(gr *group) { co.markDirtyName(gr.name) }

// markDirtyName is markDirty by name, for a group that may not be in
// memory. Called with co.mu held.
func (co *Coordinator) markDirtyName(name string) {
	co.dirty[name] = true
	select {
	case co.kick <- struct{}{}:
	default:
	}
}

// expireOffsets deletes the committed offsets of groups that have been
// empty longer than offsets.retention.minutes (KIP-211): an offset expires
// once both its commit and the group's emptiness are that old. A group
// left with neither members nor offsets is forgotten.
func (co *Coordinator) expireOffsets(ctx context.Context, now time.Time) error {
	if co.set.offsetsRetention < 0 {
		return nil
	}
	names, err := co.store.Groups(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		// Another gateway's group may have members there that this
		// gateway knows nothing of.
		if !co.coordinates(name) {
			continue
		}
		co.mu.Lock()
		var emptySince time.Time
		active, inMemory := false, false
		if gr := co.groups.get(name); gr != nil {
			inMemory = true
			active = gr.memberCount() > 0
			emptySince = gr.emptySince
		}
		co.mu.Unlock()
		if active {
			continue
		}
		offs, err := co.store.FetchOffsets(ctx, name)
		if err != nil {
			return err
		}
		var expired []metadata.TopicPartition
		for _, o := range offs {
			if now.Sub(o.CommitTime) >= co.set.offsetsRetention {
				expired = append(expired, metadata.TopicPartition{Topic: o.Topic, Partition: o.Partition})
			}
		}
		if len(expired) == 0 {
			continue
		}
		if !inMemory {
			// An evicted group was saved last when it became empty, as
			// restore takes it too. A group never saved has only
			// offsets: its commits are as old as its emptiness.
			rec, err := co.gs.LoadGroup(ctx, name)
			switch {
			case err == nil:
				emptySince = rec.UpdatedAt
			case !errors.Is(err, metadata.ErrNotFound):
				return err
			}
		}
		if now.Sub(emptySince) < co.set.offsetsRetention {
			continue
		}
		if err := co.store.DeleteOffsets(ctx, name, expired); err != nil {
			return err
		}
		co.log.Info("expired group offsets", "group", name, "partitions", len(expired))
		if len(expired) == len(offs) {
			co.mu.Lock()
			gr := co.groups.get(name)
			if gr == nil || gr.memberCount() == 0 {
				if gr != nil {
					co.groups.remove(name)
				}
				// The persister deletes the stored state of a dirty
				// group missing from memory, evicted ones included.
				co.markDirtyName(name)
			}
			co.mu.Unlock()
		}
	}
	return nil
}

func (gr *group) memberCount() int {
	if gr.typ == groupTypeConsumer {
		return len(gr.cons.members)
	}
	return len(gr.members)
}

func (gr *group) sortedMembers() []*member {
	ms := make([]*member, 0, len(gr.members))
	for _, m := range gr.members {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].joinedAt < ms[j].joinedAt })
	return ms
}

// stateName is the group's state as ListGroups and DescribeGroups report it.
func (gr *group) stateName() string {
	if gr.typ == groupTypeConsumer {
		return gr.consumerState().String()
	}
	return gr.state.String()
}

func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

func newMemberID(clientID string) string {
	if clientID == "" {
		clientID = "member"
	}
	return clientID + "-" + uuid.NewString()
}

func ms(d time.Duration) int32 { return int32(d / time.Millisecond) }
