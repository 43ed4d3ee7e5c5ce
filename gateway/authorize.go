package gateway

// Authorization with Kafka's ACLs (gateway/acl decides). Each API file
// checks what Kafka's KafkaApis checks for it, through the connection's
// Checker, which caches decisions for its principal and host until the
// ACLs change; with authorization off every check passes. Denials carry
// Kafka's codes: TOPIC_, GROUP_, CLUSTER_ and
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED.

import (
	"context"
	"time"

	"github.com/caudal/caudal/gateway/acl"
	"github.com/caudal/caudal/metadata"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AuthorizerConfig configures authorization.
type AuthorizerConfig struct {
	Enabled bool
	// SuperUsers are principals allowed everything (Kafka's super.users).
	SuperUsers []string
	// AllowEveryoneIfNoACLFound allows what no ACL names a resource for
	// (Kafka's allow.everyone.if.no.acl.found; false by default).
	AllowEveryoneIfNoACLFound bool
}

// authorizerStart bounds the first load of the ACLs.
const authorizerStart = 30 * time.Second

func startAuthorizer(cfg Config, store metadata.Store) (*acl.Authorizer, error) {
	a := acl.New(acl.Config{Store: store, SuperUsers: cfg.Authorizer.SuperUsers,
		AllowIfNoACLFound: cfg.Authorizer.AllowEveryoneIfNoACLFound, Log: cfg.Logger})
	ctx, cancel := context.WithTimeout(context.Background(), authorizerStart)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// The resource types, short.
const (
	topicResource   = kmsg.ACLResourceTypeTopic
	groupResource   = kmsg.ACLResourceTypeGroup
	clusterResource = kmsg.ACLResourceTypeCluster
	txnResource     = kmsg.ACLResourceTypeTransactionalId
)

// allowed reports whether the connection's principal may do op on the
// resource.
func (c *conn) allowed(op kmsg.ACLOperation, typ kmsg.ACLResourceType, name string) bool {
	if c.g.acl == nil {
		return true
	}
	return c.checker().Allowed(op, typ, name)
}

// allowedCluster is allowed on the cluster resource.
func (c *conn) allowedCluster(op kmsg.ACLOperation) bool {
	return c.allowed(op, clusterResource, acl.ClusterName)
}

// allowedOnAny reports whether the principal may do op on some resource
// of the type, as Kafka's authorizeByResourceType.
func (c *conn) allowedOnAny(op kmsg.ACLOperation, typ kmsg.ACLResourceType) bool {
	if c.g.acl == nil {
		return true
	}
	return c.checker().AllowedByResourceType(op, typ)
}

// authorizedOperations is the bitfield Metadata, DescribeGroups and
// DescribeCluster report when asked.
func (c *conn) authorizedOperations(typ kmsg.ACLResourceType, name string) int32 {
	if c.g.acl == nil {
		return acl.SupportedOperations(typ)
	}
	return c.checker().AuthorizedOperations(typ, name)
}

// checker is the connection's decision cache, for its current principal.
func (c *conn) checker() *acl.Checker {
	if c.acls == nil {
		c.acls = c.g.acl.For(c.principal, remoteIP(c.nc))
	}
	return c.acls
}

// allowedGroups splits names into those the principal may do op on, in
// order, and whether each name is among them.
func (c *conn) allowedGroups(op kmsg.ACLOperation, names []string) ([]string, []bool) {
	ok := make([]bool, len(names))
	var allowed []string
	for i, n := range names {
		if ok[i] = c.allowed(op, groupResource, n); ok[i] {
			allowed = append(allowed, n)
		}
	}
	return allowed, ok
}

// mergeDenied puts answered, the entries for the allowed requests in
// order (ok[i]: request i was allowed), back among the entries deny makes
// for the others.
func mergeDenied[T any](ok []bool, answered []T, deny func(i int) T) []T {
	out := make([]T, 0, len(ok))
	k := 0
	for i := range ok {
		if ok[i] && k < len(answered) {
			out = append(out, answered[k])
			k++
		} else {
			out = append(out, deny(i))
		}
	}
	return out
}
