package acl

import (
	"net/netip"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// snapshot is one version of all bindings, indexed for decisions and never
// changed once built: readers load it without locks, and a reload builds
// and publishes a new one.
type snapshot struct {
	version int64
	entries []entry
	// literal holds each resource type's LITERAL bindings by exact name
	// ("*" included); prefixed its PREFIXED bindings by prefix. Maps keyed
	// by the name alone hash only the name.
	literal  [numResourceTypes]map[string][]entry
	prefixed [numResourceTypes]map[string][]entry
	// prefixLens are the distinct prefix lengths of each resource type's
	// PREFIXED bindings, ascending: a name is checked against them with
	// one map lookup per length instead of a scan of every prefix.
	prefixLens [numResourceTypes][]int
}

// numResourceTypes sizes arrays indexed by a concrete resource type.
const numResourceTypes = kmsg.ACLResourceTypeUser + 1

// entry is a binding with its host parsed once, when it is an address.
type entry struct {
	Binding
	addr netip.Addr
}

// subject is who asks: the principal and the client's address.
type subject struct {
	principal string
	host      string
	addr      netip.Addr
}

func newSubject(principal, host string) subject {
	return subject{principal: principal, host: host, addr: parseAddr(host)}
}

// parseAddr parses an IP address as Kafka's InetAddress would print it,
// so that "::1", "0:0:0:0:0:0:0:1" and "::ffff:127.0.0.1" vs "127.0.0.1"
// are compared as the addresses they are; it is invalid for other hosts.
func parseAddr(host string) netip.Addr {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func newSnapshot(version int64, bindings []Binding) *snapshot {
	s := &snapshot{version: version, entries: make([]entry, 0, len(bindings))}
	for typ := range numResourceTypes {
		s.literal[typ] = map[string][]entry{}
		s.prefixed[typ] = map[string][]entry{}
	}
	for _, b := range bindings {
		e := entry{Binding: b, addr: parseAddr(b.Host)}
		s.entries = append(s.entries, e)
		if !concreteResourceType(b.ResourceType) {
			continue // stored by a newer version, perhaps; it can name nothing here
		}
		typ, name := b.ResourceType, b.ResourceName
		switch b.PatternType {
		case kmsg.ACLResourcePatternTypeLiteral:
			s.literal[typ][name] = append(s.literal[typ][name], e)
		case kmsg.ACLResourcePatternTypePrefixed:
			s.prefixed[typ][name] = append(s.prefixed[typ][name], e)
			if !slices.Contains(s.prefixLens[typ], len(name)) {
				s.prefixLens[typ] = append(s.prefixLens[typ], len(name))
			}
		}
	}
	for _, lens := range s.prefixLens {
		slices.Sort(lens)
	}
	return s
}

// appliesTo reports whether the binding is about the subject: its
// principal or "User:*", from its host or "*".
func (e *entry) appliesTo(who *subject) bool {
	if e.Principal != who.principal && e.Principal != WildcardPrincipal {
		return false
	}
	return e.Host == Wildcard || e.Host == who.host || (e.addr.IsValid() && e.addr == who.addr)
}

// verdict is what the bindings say about one action.
type verdict int8

const (
	// noBindings: no binding of any principal names the resource, so
	// allow.everyone.if.no.acl.found decides.
	noBindings verdict = iota
	denied
	allowed
)

// decide is Kafka's rule: any DENY that applies wins, else an ALLOW that
// applies permits, else the resource's bindings (of anyone) deny, unless
// it has none. Bindings apply by exact LITERAL name, the LITERAL "*", and
// every PREFIXED name that starts the resource's name. typ must be
// concrete.
func (s *snapshot) decide(who *subject, op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) verdict {
	var t tally
	t.add(s.literal[typ][name], who, op)
	if name != Wildcard && !t.deny {
		t.add(s.literal[typ][Wildcard], who, op)
	}
	for _, n := range s.prefixLens[typ] {
		if n > len(name) || t.deny {
			break
		}
		t.add(s.prefixed[typ][name[:n]], who, op)
	}
	switch {
	case t.deny:
		return denied
	case t.allow:
		return allowed
	case t.found:
		return denied
	}
	return noBindings
}

// tally accumulates the bindings of the sections that name a resource.
type tally struct {
	found, allow, deny bool
}

func (t *tally) add(es []entry, who *subject, op kmsg.ACLOperation) {
	if len(es) > 0 {
		t.found = true
	}
	for i := range es {
		e := &es[i]
		if !e.appliesTo(who) {
			continue
		}
		if e.Permission == kmsg.ACLPermissionTypeDeny {
			if namesOperation(e.Operation, op) {
				t.deny = true
				return
			}
		} else if allowPermits(e.Operation, op) {
			t.allow = true
		}
	}
}

// allowedOnAny is Kafka's Authorizer.authorizeByResourceType after its
// first check (the caller's): whether the subject may do op to at least
// one resource of the type. Only op itself and ALL count here, not the
// operations that imply op. A DENY on "*" or of a prefix of every
// allowed name leaves nothing allowed.
func (s *snapshot) allowedOnAny(who *subject, op kmsg.ACLOperation, typ kmsg.ACLResourceType) bool {
	var allowLiteral, allowPrefixed []string
	denyLiteral := map[string]bool{}
	denyPrefixed := map[string]bool{}
	wildcardAllow := false
	for i := range s.entries {
		e := &s.entries[i]
		if e.ResourceType != typ || !e.appliesTo(who) || !namesOperation(e.Operation, op) {
			continue
		}
		literal := e.PatternType == kmsg.ACLResourcePatternTypeLiteral
		switch {
		case e.Permission == kmsg.ACLPermissionTypeDeny && literal && e.ResourceName == Wildcard:
			return false
		case e.Permission == kmsg.ACLPermissionTypeDeny && literal:
			denyLiteral[e.ResourceName] = true
		case e.Permission == kmsg.ACLPermissionTypeDeny:
			denyPrefixed[e.ResourceName] = true
		case literal && e.ResourceName == Wildcard:
			wildcardAllow = true
		case literal:
			allowLiteral = append(allowLiteral, e.ResourceName)
		default:
			allowPrefixed = append(allowPrefixed, e.ResourceName)
		}
	}
	if wildcardAllow {
		return true
	}
	for _, name := range allowLiteral {
		if !denyLiteral[name] && !hasDeniedPrefix(name, denyPrefixed) {
			return true
		}
	}
	for _, name := range allowPrefixed {
		if !hasDeniedPrefix(name, denyPrefixed) {
			return true
		}
	}
	return false
}

func hasDeniedPrefix(name string, denied map[string]bool) bool {
	for n := 1; n <= len(name); n++ {
		if denied[name[:n]] {
			return true
		}
	}
	return false
}
