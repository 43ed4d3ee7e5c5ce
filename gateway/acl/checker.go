package acl

import (
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxCachedDecisions bounds a Checker's memory: a client that names more
// resources than this (a Metadata request for every topic of a large
// cluster) starts the cache afresh rather than growing it.
const maxCachedDecisions = 16384

// Checker decides for one connection's principal and host and remembers
// each decision until the bindings change, so that a produce or fetch
// costs one map lookup per resource and no allocation once warm. It is
// safe for concurrent use.
type Checker struct {
	a     *Authorizer
	who   subject
	super bool

	mu sync.Mutex
	// snap is the snapshot the cached decisions were made on.
	snap *snapshot
	// cache holds decisions by operation and resource type, then by
	// resource name: string-keyed maps hash only the name.
	cache  [numResourceTypes][kmsg.ACLOperationDescribeTokens + 1]map[string]bool
	cached int
}

// For returns a Checker for a connection of principal from host (an IP
// address). Make a new one when the connection's principal changes.
func (a *Authorizer) For(principal, host string) *Checker {
	return &Checker{
		a:     a,
		who:   newSubject(principal, host),
		super: a.superUsers[principal],
	}
}

// Allowed is Authorize for the Checker's principal and host.
func (c *Checker) Allowed(op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) bool {
	if c.super {
		return true
	}
	s := c.a.snap.Load()
	if s == nil || !concreteResourceType(typ) || !concreteOperation(op) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s != c.snap || c.cached >= maxCachedDecisions {
		c.forget()
		c.snap = s
	}
	decisions := c.cache[typ][op]
	if ok, found := decisions[name]; found {
		return ok
	}
	if decisions == nil {
		decisions = map[string]bool{}
		c.cache[typ][op] = decisions
	}
	ok := c.a.decide(s, &c.who, op, typ, name)
	// The name may share memory with a request buffer that is reused
	// after the request; the cache outlives it.
	decisions[strings.Clone(name)] = ok
	c.cached++
	return ok
}

func (c *Checker) forget() {
	for typ := range c.cache {
		for op := range c.cache[typ] {
			clear(c.cache[typ][op])
		}
	}
	c.cached = 0
}

// AuthorizedOperations is Authorizer.AuthorizedOperations for the
// Checker's principal and host, from its cache.
func (c *Checker) AuthorizedOperations(typ kmsg.ACLResourceType, name string) int32 {
	return operationBits(typ, func(op kmsg.ACLOperation) bool { return c.Allowed(op, typ, name) })
}

// AllowedByResourceType is Authorizer.AuthorizeByResourceType for the
// Checker's principal and host. It is not cached: it scans every binding
// of the type, and only InitProducerId asks it.
func (c *Checker) AllowedByResourceType(op kmsg.ACLOperation, typ kmsg.ACLResourceType) bool {
	return c.a.authorizeByResourceType(&c.who, op, typ)
}
