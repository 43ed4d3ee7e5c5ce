package acl_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/gateway/acl"
)

type check struct {
	principal, host string
	op              kmsg.ACLOperation
	typ             kmsg.ACLResourceType
	name            string
	want            bool
}

func (c check) String() string {
	return fmt.Sprintf("%s@%s %v %v:%s", c.principal, c.host, c.op, c.typ, c.name)
}

const (
	alice = "User:alice"
	bob   = "User:bob"
	any4  = "192.0.2.1"
)

// TestDecisions: Kafka's rules, each through Authorize and a Checker
// (asked twice, so that the cached answer is checked too).
func TestDecisions(t *testing.T) {
	cases := []struct {
		name       string
		superUsers []string
		allowNoACL bool
		bindings   []acl.Binding
		checks     []check
	}{
		{
			name:     "literal",
			bindings: []acl.Binding{bind(allow, topic, literal, "orders", alice, read)},
			checks: []check{
				{alice, any4, read, topic, "orders", true},
				{alice, any4, write, topic, "orders", false},
				{bob, any4, read, topic, "orders", false},
				{alice, any4, read, topic, "orders2", false},
				{alice, any4, read, topic, "order", false},
				{alice, any4, read, group, "orders", false},
			},
		},
		{
			name:     "prefixed",
			bindings: []acl.Binding{bind(allow, topic, prefixed, "app-", alice, read)},
			checks: []check{
				{alice, any4, read, topic, "app-logs", true},
				{alice, any4, read, topic, "app-", true},
				{alice, any4, read, topic, "app", false},
				{alice, any4, read, topic, "xapp-logs", false},
				{bob, any4, read, topic, "app-logs", false},
			},
		},
		{
			name: "prefixes of several lengths",
			bindings: []acl.Binding{
				bind(allow, topic, prefixed, "a", alice, read),
				bind(allow, topic, prefixed, "abc", bob, read),
				bind(allow, topic, prefixed, "abcdef", "User:carol", read),
			},
			checks: []check{
				{alice, any4, read, topic, "abcdefg", true},
				{bob, any4, read, topic, "abcdefg", true},
				{"User:carol", any4, read, topic, "abcdefg", true},
				{"User:carol", any4, read, topic, "abcde", false},
				{bob, any4, read, topic, "ab", false},
			},
		},
		{
			name:     "wildcard resource",
			bindings: []acl.Binding{bind(allow, topic, literal, "*", alice, read)},
			checks: []check{
				{alice, any4, read, topic, "anything", true},
				{alice, any4, read, topic, "*", true},
				{alice, any4, read, group, "anything", false},
				{bob, any4, read, topic, "anything", false},
			},
		},
		{
			name:     "prefixed star is not a wildcard",
			bindings: []acl.Binding{bind(allow, topic, prefixed, "*", alice, read)},
			checks: []check{
				{alice, any4, read, topic, "*x", true},
				{alice, any4, read, topic, "x", false},
			},
		},
		{
			name:     "wildcard principal",
			bindings: []acl.Binding{bind(allow, topic, literal, "t", "User:*", write)},
			checks: []check{
				{alice, any4, write, topic, "t", true},
				{bob, any4, write, topic, "t", true},
				{"Service:ingest", any4, write, topic, "t", true},
				{alice, any4, read, topic, "t", false},
			},
		},
		{
			name: "hosts",
			bindings: []acl.Binding{
				from(bind(allow, topic, literal, "t", alice, read), "10.0.0.1"),
				from(bind(allow, topic, literal, "v6", alice, read), "0:0:0:0:0:0:0:1"),
			},
			checks: []check{
				{alice, "10.0.0.1", read, topic, "t", true},
				{alice, "10.0.0.2", read, topic, "t", false},
				{alice, "::ffff:10.0.0.1", read, topic, "t", true},
				{alice, "::1", read, topic, "v6", true},
				{alice, "127.0.0.1", read, topic, "v6", false},
			},
		},
		{
			name: "deny beats allow",
			bindings: []acl.Binding{
				bind(allow, topic, literal, "t", "User:*", read),
				bind(deny, topic, literal, "t", alice, read),
				bind(allow, topic, literal, "app-x", alice, read),
				bind(deny, topic, prefixed, "app-", alice, read),
				from(bind(deny, topic, literal, "*", bob, write), "10.0.0.9"),
				bind(allow, topic, literal, "w", bob, write),
			},
			checks: []check{
				{alice, any4, read, topic, "t", false},
				{bob, any4, read, topic, "t", true},
				{alice, any4, read, topic, "app-x", false},
				{bob, "10.0.0.9", write, topic, "w", false},
				{bob, "10.0.0.8", write, topic, "w", true},
			},
		},
		{
			name: "implied by allow",
			bindings: []acl.Binding{
				bind(allow, topic, literal, "r", alice, read),
				bind(allow, topic, literal, "w", alice, write),
				bind(allow, topic, literal, "d", alice, del),
				bind(allow, topic, literal, "a", alice, alter),
				bind(allow, topic, literal, "c", alice, create),
				bind(allow, topic, literal, "ac", alice, alterConfigs),
				bind(allow, topic, literal, "dc", alice, describeConfigs),
				bind(allow, topic, literal, "desc", alice, describe),
				bind(allow, topic, literal, "all", alice, all),
			},
			checks: []check{
				{alice, any4, describe, topic, "r", true},
				{alice, any4, describe, topic, "w", true},
				{alice, any4, describe, topic, "d", true},
				{alice, any4, describe, topic, "a", true},
				{alice, any4, describe, topic, "c", false},
				{alice, any4, describe, topic, "ac", false},
				{alice, any4, describeConfigs, topic, "ac", true},
				{alice, any4, describeConfigs, topic, "a", false},
				{alice, any4, alterConfigs, topic, "dc", false},
				{alice, any4, read, topic, "desc", false},
				{alice, any4, write, topic, "r", false},
				{alice, any4, read, topic, "all", true},
				{alice, any4, alterConfigs, topic, "all", true},
				{alice, any4, describe, topic, "all", true},
				// ANY is a filter value, never an action.
				{alice, any4, kmsg.ACLOperationAny, topic, "all", false},
			},
		},
		{
			name: "deny implies nothing but all",
			bindings: []acl.Binding{
				bind(allow, topic, literal, "t", alice, all),
				bind(deny, topic, literal, "t", alice, read),
				bind(allow, topic, literal, "u", alice, read),
				bind(deny, topic, literal, "u", alice, describe),
				bind(allow, topic, literal, "v", alice, all),
				bind(deny, topic, literal, "v", alice, all),
			},
			checks: []check{
				{alice, any4, read, topic, "t", false},
				{alice, any4, describe, topic, "t", true},
				{alice, any4, write, topic, "t", true},
				{alice, any4, read, topic, "u", true},
				{alice, any4, describe, topic, "u", false},
				{alice, any4, describe, topic, "v", false},
				{alice, any4, read, topic, "v", false},
			},
		},
		{
			name:       "super users",
			superUsers: []string{"User:admin"},
			bindings:   []acl.Binding{bind(deny, topic, literal, "*", "User:*", all)},
			checks: []check{
				{"User:admin", any4, write, topic, "t", true},
				{"User:admin", any4, clusterAction, cluster, acl.ClusterName, true},
				{"User:admin2", any4, write, topic, "t", false},
				{alice, any4, read, topic, "t", false},
			},
		},
		{
			name:       "allow if no ACL found",
			allowNoACL: true,
			bindings: []acl.Binding{
				bind(allow, topic, literal, "owned", bob, read),
				bind(allow, topic, prefixed, "team-", bob, read),
			},
			checks: []check{
				{alice, any4, write, topic, "free", true},
				{alice, any4, read, group, "g", true},
				{alice, any4, read, topic, "owned", false},
				{alice, any4, read, topic, "team-x", false},
				{bob, any4, write, topic, "owned", false},
			},
		},
		{
			name:     "no ACL found denies by default",
			bindings: []acl.Binding{bind(allow, topic, literal, "owned", bob, read)},
			checks: []check{
				{alice, any4, write, topic, "free", false},
				{alice, any4, describe, cluster, acl.ClusterName, false},
			},
		},
		{
			name: "cluster",
			bindings: []acl.Binding{
				bind(allow, cluster, literal, acl.ClusterName, alice, idempotentWrite),
				bind(allow, cluster, literal, acl.ClusterName, bob, alter),
			},
			checks: []check{
				{alice, any4, idempotentWrite, cluster, acl.ClusterName, true},
				{alice, any4, clusterAction, cluster, acl.ClusterName, false},
				{alice, any4, describe, cluster, acl.ClusterName, false},
				{bob, any4, describe, cluster, acl.ClusterName, true},
				{bob, any4, create, cluster, acl.ClusterName, false},
			},
		},
		{
			name: "transactional ids and groups",
			bindings: []acl.Binding{
				bind(allow, txnID, prefixed, "tx-", alice, write),
				bind(allow, group, literal, "g", alice, read),
			},
			checks: []check{
				{alice, any4, write, txnID, "tx-1", true},
				{alice, any4, describe, txnID, "tx-1", true},
				{alice, any4, write, txnID, "other", false},
				{alice, any4, write, topic, "tx-1", false},
				{alice, any4, read, group, "g", true},
				{alice, any4, describe, group, "g", true},
				{alice, any4, del, group, "g", false},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := started(t, acl.Config{SuperUsers: tc.superUsers, AllowIfNoACLFound: tc.allowNoACL}, tc.bindings...)
			checkers := map[string]*acl.Checker{}
			for _, c := range tc.checks {
				// A fresh Checker decides on the bindings; the shared one
				// below answers again from its cache.
				if got := a.For(c.principal, c.host).Allowed(c.op, c.typ, c.name); got != c.want {
					t.Errorf("fresh Checker.Allowed %s = %v, want %v", c, got, c.want)
				}
				ch := checkers[c.principal+"@"+c.host]
				if ch == nil {
					ch = a.For(c.principal, c.host)
					checkers[c.principal+"@"+c.host] = ch
				}
				for range 2 {
					if got := ch.Allowed(c.op, c.typ, c.name); got != c.want {
						t.Errorf("Checker.Allowed %s = %v, want %v", c, got, c.want)
					}
				}
			}
		})
	}
}

// TestCheckerSeesChanges: a Checker's cached decisions end when this
// gateway changes the bindings.
func TestCheckerSeesChanges(t *testing.T) {
	a := started(t, acl.Config{})
	ch := a.For(alice, any4)
	if ch.Allowed(read, topic, "t") {
		t.Fatal("allowed before any binding")
	}
	b := bind(allow, topic, literal, "t", alice, read)
	if errs := a.Create(ctx, []acl.Binding{b}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if !ch.Allowed(read, topic, "t") {
		t.Fatal("not allowed right after the binding was created")
	}
	if _, errs := a.Delete(ctx, []acl.Filter{filterOf(b)}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if ch.Allowed(read, topic, "t") {
		t.Fatal("still allowed after the binding was deleted")
	}
}

// TestNotStarted: until the bindings are loaded only super users pass, and
// Start fails when they cannot be loaded.
func TestNotStarted(t *testing.T) {
	store := &memStore{fail: errDown}
	a := acl.New(acl.Config{Store: store, SuperUsers: []string{"User:admin"}, AllowIfNoACLFound: true})
	if err := a.Start(ctx); !errors.Is(err, errDown) {
		t.Fatalf("Start on a failing store = %v", err)
	}
	defer a.Close()
	if a.For(alice, any4).Allowed(read, topic, "t") {
		t.Fatal("allowed before the bindings were loaded")
	}
	if !a.For("User:admin", any4).Allowed(read, topic, "t") {
		t.Fatal("super user refused before the bindings were loaded")
	}
	if _, err := a.Describe(acl.Filter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: kmsg.ACLResourcePatternTypeAny,
		Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}); err == nil {
		t.Fatal("Describe before the bindings were loaded succeeded")
	}
}

// TestAuthorizedOperations: Kafka's bit field, bit i for operation code i,
// over the operations Kafka reports for each resource type.
func TestAuthorizedOperations(t *testing.T) {
	a := started(t, acl.Config{SuperUsers: []string{"User:admin"}},
		bind(allow, topic, literal, "t", alice, read),
		bind(allow, topic, literal, "t", alice, alterConfigs),
		bind(allow, group, literal, "g", alice, all),
		bind(deny, group, literal, "g", alice, del),
		bind(allow, cluster, literal, acl.ClusterName, alice, idempotentWrite),
	)
	bits := func(ops ...kmsg.ACLOperation) int32 {
		var b int32
		for _, op := range ops {
			b |= 1 << op
		}
		return b
	}
	cases := []struct {
		principal string
		typ       kmsg.ACLResourceType
		name      string
		want      int32
	}{
		{alice, topic, "t", bits(read, describe, describeConfigs, alterConfigs)},
		{alice, group, "g", bits(read, describe, describeConfigs, alterConfigs)},
		{alice, cluster, acl.ClusterName, bits(idempotentWrite)},
		{alice, txnID, "x", 0},
		{bob, topic, "t", 0},
		{"User:admin", topic, "t", acl.SupportedOperations(topic)},
	}
	for _, c := range cases {
		ch := a.For(c.principal, any4)
		for range 2 { // decided, then from the cache
			if got := ch.AuthorizedOperations(c.typ, c.name); got != c.want {
				t.Errorf("Checker.AuthorizedOperations(%s, %v:%s) = %#b, want %#b", c.principal, c.typ, c.name, got, c.want)
			}
		}
	}
	// READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS,
	// ALTER_CONFIGS: codes 3–8, 10, 11.
	if got := acl.SupportedOperations(topic); got != 0b110111111000 {
		t.Errorf("SupportedOperations(TOPIC) = %#b", got)
	}
}

// TestAllowedByResourceType: Kafka's "on at least one resource of the
// type", which InitProducerId asks about WRITE on topics.
func TestAllowedByResourceType(t *testing.T) {
	cases := []struct {
		name       string
		allowNoACL bool
		bindings   []acl.Binding
		want       bool
	}{
		{"no bindings", false, nil, false},
		{"no bindings, allow if none", true, nil, true},
		{"literal allow", false, []acl.Binding{bind(allow, topic, literal, "t1", alice, write)}, true},
		{"all allows", false, []acl.Binding{bind(allow, topic, literal, "t1", alice, all)}, true},
		{"other operation", false, []acl.Binding{bind(allow, topic, literal, "t1", alice, read)}, false},
		{"other type", false, []acl.Binding{bind(allow, group, literal, "t1", alice, write)}, false},
		{"other principal", false, []acl.Binding{bind(allow, topic, literal, "t1", bob, write)}, false},
		{"wildcard principal", false, []acl.Binding{bind(allow, topic, prefixed, "p", "User:*", write)}, true},
		{"literal denied", false, []acl.Binding{
			bind(allow, topic, literal, "t1", alice, write),
			bind(deny, topic, literal, "t1", alice, write)}, false},
		{"denied by a shorter prefix", false, []acl.Binding{
			bind(allow, topic, prefixed, "ab", alice, write),
			bind(deny, topic, prefixed, "a", alice, write)}, false},
		{"a longer prefix denied leaves the rest", false, []acl.Binding{
			bind(allow, topic, prefixed, "ab", alice, write),
			bind(deny, topic, prefixed, "abc", alice, write)}, true},
		{"wildcard deny", false, []acl.Binding{
			bind(allow, topic, literal, "t1", alice, write),
			bind(deny, topic, literal, "*", alice, write)}, false},
		{"wildcard allow", false, []acl.Binding{bind(allow, topic, literal, "*", alice, write)}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := started(t, acl.Config{AllowIfNoACLFound: tc.allowNoACL, SuperUsers: []string{"User:admin"}}, tc.bindings...)
			if got := a.For(alice, any4).AllowedByResourceType(write, topic); got != tc.want {
				t.Errorf("Checker.AllowedByResourceType = %v, want %v", got, tc.want)
			}
			if !a.For("User:admin", any4).AllowedByResourceType(write, topic) {
				t.Error("super user refused")
			}
		})
	}
}
