// Package acl is Kafka's authorization model for the gateway: ACL
// bindings and filters, the authorizer's decisions (super users, DENY over
// ALLOW, implied operations, allow.everyone.if.no.acl.found) over an
// in-memory snapshot of the metadata store's bindings that it keeps
// fresh, and a per-connection decision cache. It does not speak the Kafka
// protocol or know which operation an API needs; the edge maps requests
// to checks and results to Kafka error codes.
package acl

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caudal/caudal/gateway/cluster"
	"github.com/caudal/caudal/metadata"
)

// Config configures an Authorizer.
type Config struct {
	// Store holds the bindings every gateway shares.
	Store metadata.ACLs
	// SuperUsers are principals ("User:admin") allowed everything
	// (super.users); there is no wildcard.
	SuperUsers []string
	// AllowIfNoACLFound allows an action on a resource no binding names
	// (allow.everyone.if.no.acl.found; Kafka's default is false).
	AllowIfNoACLFound bool
	// Refresh is how often the store's ACL version is polled; 500 ms when
	// zero, so another gateway's change applies here within a second.
	Refresh time.Duration
	Log     *slog.Logger
}

const defaultRefresh = 500 * time.Millisecond

// errNotStarted: the bindings are not loaded yet, so nothing can be
// described; decisions deny everyone but super users meanwhile.
var errNotStarted = errors.New("ACL authorizer not started")

// Authorizer decides Kafka actions from a snapshot of all bindings that a
// background loop reloads whenever the store's ACL version changes.
type Authorizer struct {
	store        metadata.ACLs
	superUsers   map[string]bool
	allowIfNoACL bool
	refresh      time.Duration
	log          *slog.Logger

	snap atomic.Pointer[snapshot]
	// reloadMu keeps reloads one at a time, so a slow one cannot publish
	// bindings older than a faster one's.
	reloadMu sync.Mutex
	follower *cluster.Follower
}

func New(cfg Config) *Authorizer {
	a := &Authorizer{
		store:        cfg.Store,
		superUsers:   map[string]bool{},
		allowIfNoACL: cfg.AllowIfNoACLFound,
		refresh:      cfg.Refresh,
		log:          cfg.Log,
	}
	for _, p := range cfg.SuperUsers {
		a.superUsers[p] = true
	}
	if a.refresh <= 0 {
		a.refresh = defaultRefresh
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

// Start loads the bindings, failing if it cannot (a gateway must not
// serve on no bindings: with AllowIfNoACLFound that would allow all), and
// then polls for changes until Close. During a store outage decisions go
// on from the last bindings.
func (a *Authorizer) Start(ctx context.Context) error {
	f, err := cluster.Follow(ctx, "ACLs", a.refresh, a.log, a.reload)
	a.follower = f
	return err
}

// Close stops the polling loop and waits for it.
func (a *Authorizer) Close() { a.follower.Stop() }

// reload publishes a new snapshot when the store's version differs from
// the current one's. The version is read first, so the bindings listed
// are at least that new; a change in between brings another reload.
func (a *Authorizer) reload(ctx context.Context) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	v, err := a.store.ACLVersion(ctx)
	if err != nil {
		return err
	}
	if cur := a.snap.Load(); cur != nil && cur.version == v {
		return nil
	}
	stored, err := a.store.ListACLs(ctx)
	if err != nil {
		return err
	}
	bindings := make([]Binding, len(stored))
	for i, s := range stored {
		bindings[i] = fromStored(s)
	}
	a.snap.Store(newSnapshot(v, bindings))
	a.log.Info("ACLs loaded", "version", v, "bindings", len(bindings))
	return nil
}

// reloadAfterChange applies this gateway's own change at once. The change
// is stored whatever happens here; if the reload fails, the polling loop
// applies it.
func (a *Authorizer) reloadAfterChange(ctx context.Context) {
	if err := a.reload(ctx); err != nil {
		a.log.Warn("reload ACLs after a change; the next poll applies it", "err", err)
	}
}

// Create stores the bindings and applies them here at once, and on other
// gateways within a second. It returns one error per binding, nil when it
// is stored (also when it already was): ErrInvalid for a binding Kafka
// would refuse, the store's error when storing failed.
func (a *Authorizer) Create(ctx context.Context, bindings []Binding) []error {
	errs := make([]error, len(bindings))
	var valid []metadata.ACL
	var validAt []int
	for i, b := range bindings {
		if errs[i] = b.validate(); errs[i] == nil {
			valid = append(valid, b.stored())
			validAt = append(validAt, i)
		}
	}
	if len(valid) == 0 {
		return errs
	}
	if err := a.store.CreateACLs(ctx, valid); err != nil {
		for _, i := range validAt {
			errs[i] = err
		}
		return errs
	}
	a.reloadAfterChange(ctx)
	return errs
}

// Describe returns the bindings the filter selects, from the bindings
// loaded here (another gateway's change shows within a second). The
// filter is ErrInvalid when Kafka would refuse it.
func (a *Authorizer) Describe(f Filter) ([]Binding, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	s := a.snap.Load()
	if s == nil {
		return nil, errNotStarted
	}
	var out []Binding
	for _, e := range s.entries {
		if f.Matches(e.Binding) {
			out = append(out, e.Binding)
		}
	}
	return out, nil
}

// Delete deletes, in one transaction, every binding some filter selects
// and returns per filter the deleted bindings it selects (a binding two
// filters select is in both results, as in Kafka), or its error:
// ErrInvalid for a filter Kafka would refuse, the store's error when
// deleting failed. The change applies as Create's does.
func (a *Authorizer) Delete(ctx context.Context, filters []Filter) ([][]Binding, []error) {
	results := make([][]Binding, len(filters))
	errs := make([]error, len(filters))
	var valid []Filter
	var validAt []int
	for i, f := range filters {
		if errs[i] = f.validate(); errs[i] == nil {
			valid = append(valid, f)
			validAt = append(validAt, i)
		}
	}
	if len(valid) == 0 {
		return results, errs
	}
	deleted, err := a.store.DeleteACLs(ctx, func(s metadata.ACL) bool {
		b := fromStored(s)
		for _, f := range valid {
			if f.Matches(b) {
				return true
			}
		}
		return false
	})
	if err != nil {
		for _, i := range validAt {
			errs[i] = err
		}
		return results, errs
	}
	for _, s := range deleted {
		b := fromStored(s)
		for j, f := range valid {
			if f.Matches(b) {
				results[validAt[j]] = append(results[validAt[j]], b)
			}
		}
	}
	if len(deleted) > 0 {
		a.reloadAfterChange(ctx)
	}
	return results, errs
}
