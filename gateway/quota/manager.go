package quota

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caudal/caudal/gateway/cluster"
	"github.com/caudal/caudal/metadata"
)

// Config configures a Manager.
type Config struct {
	// Store holds the quotas every gateway shares.
	Store metadata.ClientQuotas
	// Refresh is how often the store's quota version is polled; 500 ms
	// when zero, so another gateway's change applies here within a second.
	Refresh time.Duration
	// Window is the rates' window of windows; DefaultWindow when zero.
	Window Window
	Now    func() time.Time
	Log    *slog.Logger
}

const defaultRefresh = 500 * time.Millisecond

// Manager holds the quotas in memory, answers AlterClientQuotas and
// DescribeClientQuotas, and measures the clients' byte rates.
type Manager struct {
	cfg     Config
	limits  atomic.Pointer[loaded]
	loadMu  sync.Mutex // one reload at a time, so an old list never wins
	follow  *cluster.Follower
	ratesMu sync.Mutex
	rates   map[rateKey]*rate
}

type loaded struct {
	version int64
	limits  Limits
}

// rateKey is one rate: a quota key's bytes for the tags a quota resolved.
type rateKey struct {
	key  string
	tags Tags
}

func New(cfg Config) *Manager {
	if cfg.Refresh <= 0 {
		cfg.Refresh = defaultRefresh
	}
	if cfg.Window.Samples <= 0 || cfg.Window.Size <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{cfg: cfg, rates: map[rateKey]*rate{}}
	m.limits.Store(&loaded{version: -1, limits: Limits{}})
	return m
}

// Start loads the quotas, failing if it cannot, and then polls for
// changes until Close, dropping the rates nobody used for a whole span at
// each poll. During a store outage the last quotas go on applying.
func (m *Manager) Start(ctx context.Context) error {
	f, err := cluster.Follow(ctx, "client quotas", m.cfg.Refresh, m.cfg.Log, func(ctx context.Context) error {
		m.dropIdle()
		return m.reload(ctx)
	})
	m.follow = f
	return err
}

// Close stops the polling loop and waits for it.
func (m *Manager) Close() { m.follow.Stop() }

// reload publishes the stored quotas when their version moved.
func (m *Manager) reload(ctx context.Context) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	v, err := m.cfg.Store.ClientQuotaVersion(ctx)
	if err != nil {
		return err
	}
	if m.limits.Load().version == v {
		return nil
	}
	stored, err := m.cfg.Store.ListClientQuotas(ctx)
	if err != nil {
		return err
	}
	l := Limits{}
	for _, q := range stored {
		if l[q.Entity] == nil {
			l[q.Entity] = map[string]float64{}
		}
		l[q.Entity][q.Key] = q.Value
	}
	m.limits.Store(&loaded{version: v, limits: l})
	m.cfg.Log.Info("client quotas loaded", "version", v, "entities", len(l))
	return nil
}

// Alter applies the alterations (none with validateOnly) and returns one
// result per distinct entity; ErrTooManyChanges refuses them all. A
// change applies here at once and on other gateways within a second.
func (m *Manager) Alter(ctx context.Context, alts []Alteration, validateOnly bool) ([]Result, error) {
	results, changes, err := plan(alts)
	if err != nil || validateOnly || len(changes) == 0 {
		return results, err
	}
	if err := m.cfg.Store.AlterClientQuotas(ctx, changes); err != nil {
		for i := range results {
			if results[i].Err == nil {
				results[i].Err = err
			}
		}
		return results, nil
	}
	if err := m.reload(ctx); err != nil {
		m.cfg.Log.Warn("reload client quotas after a change; the next poll applies it", "err", err)
	}
	return results, nil
}

// Describe lists the entities the filter selects, from the quotas loaded
// here.
func (m *Manager) Describe(components []Component, strict bool) ([]Entry, error) {
	f, err := newFilter(components, strict)
	if err != nil {
		return nil, err
	}
	return m.limits.Load().limits.describe(f), nil
}

// Record counts bytes of key (ProducerByteRate, ConsumerByteRate) for a
// client of user and clientID, and returns how long it is to be
// throttled: zero while it is within its quota or has none.
func (m *Manager) Record(key, user, clientID string, bytes int) time.Duration {
	limit, tags, ok := m.limits.Load().limits.Resolve(key, user, clientID)
	if !ok {
		return 0
	}
	now := m.cfg.Now().UnixMilli()
	m.ratesMu.Lock()
	defer m.ratesMu.Unlock()
	k := rateKey{key, tags}
	r := m.rates[k]
	if r == nil {
		r = &rate{w: m.cfg.Window}
		m.rates[k] = r
	}
	r.record(float64(bytes), now)
	return r.throttle(limit, now)
}

// Unrecord takes back bytes Record counted, for a fetch that is answered
// empty because it was throttled, as Kafka does.
func (m *Manager) Unrecord(key, user, clientID string, bytes int) {
	_, tags, ok := m.limits.Load().limits.Resolve(key, user, clientID)
	if !ok {
		return
	}
	m.ratesMu.Lock()
	defer m.ratesMu.Unlock()
	if r := m.rates[rateKey{key, tags}]; r != nil {
		r.record(-float64(bytes), m.cfg.Now().UnixMilli())
	}
}

// dropIdle forgets the rates whose samples all expired: they measure the
// same as new ones, and clients choose their client-ids, so the map
// holds only the recently active.
func (m *Manager) dropIdle() {
	now := m.cfg.Now().UnixMilli()
	m.ratesMu.Lock()
	defer m.ratesMu.Unlock()
	for k, r := range m.rates {
		if r.idle(now) {
			delete(m.rates, k)
		}
	}
}
