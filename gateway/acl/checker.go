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

// Allowed reports whether the Checker's principal, from its host, may do
// op to the named resource. Super users may do anything; before Start
// has loaded the bindings nobody else may.
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
	ok := c.decide(s, op, typ, name)
	// The name may share memory with a request buffer that is reused
	// after the request; the cache outlives it.
	decisions[strings.Clone(name)] = ok
	c.cached++
	return ok
}

// decide is Allowed without the cache, for the principal who is not a
// super user; s is loaded, and op and typ are concrete.
func (c *Checker) decide(s *snapshot, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) bool {
	switch s.decide(&c.who, op, typ, name) {
	case allowed:
		return true
	case noBindings:
		return c.a.allowIfNoACL
	}
	return false
}

func (c *Checker) forget() {
	for typ := range c.cache {
		for op := range c.cache[typ] {
			clear(c.cache[typ][op])
		}
	}
	c.cached = 0
}

// AuthorizedOperations is Kafka's authorized-operations bit field for
// the resource, from the cache: bit i is set when the operation whose
// code is i (READ is 3, so 1<<3) is Allowed, over the operations Kafka
// reports for the resource type (SupportedOperations).
func (c *Checker) AuthorizedOperations(typ kmsg.ACLResourceType, name string) int32 {
	return operationBits(typ, func(op kmsg.ACLOperation) bool { return c.Allowed(op, typ, name) })
}

// hardcodedName is the resource name Kafka's authorizeByResourceType
// first authorizes, so that super users, the "*" bindings and
// allow.everyone.if.no.acl.found answer before the bindings are scanned.
const hardcodedName = "hardcode"

// AllowedByResourceType reports whether the Checker's principal may do
// op to at least one resource of the type, as Kafka's
// Authorizer.authorizeByResourceType. InitProducerId without a
// transactional id needs IDEMPOTENT_WRITE on the cluster or, since
// Kafka 3.0 (KIP-679), WRITE on any topic: the edge asks
// AllowedByResourceType(WRITE, TOPIC) for the latter. It is not cached:
// it scans every binding of the type, and only InitProducerId asks it.
func (c *Checker) AllowedByResourceType(op kmsg.ACLOperation, typ kmsg.ACLResourceType) bool {
	if c.super {
		return true
	}
	s := c.a.snap.Load()
	if s == nil || !concreteOperation(op) {
		return false
	}
	// decide indexes the snapshot by type; allowedOnAny compares it.
	if concreteResourceType(typ) && c.decide(s, op, typ, hardcodedName) {
		return true
	}
	return s.allowedOnAny(&c.who, op, typ)
}
