package acl_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/caudal/caudal/gateway/acl"
	"github.com/caudal/caudal/metadata"
	"github.com/caudal/caudal/test/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

var ctx = context.Background()

// Short names for the enums the tables are written in.
const (
	topic   = kmsg.ACLResourceTypeTopic
	group   = kmsg.ACLResourceTypeGroup
	cluster = kmsg.ACLResourceTypeCluster
	txnID   = kmsg.ACLResourceTypeTransactionalId

	literal  = kmsg.ACLResourcePatternTypeLiteral
	prefixed = kmsg.ACLResourcePatternTypePrefixed

	allow = kmsg.ACLPermissionTypeAllow
	deny  = kmsg.ACLPermissionTypeDeny

	all             = kmsg.ACLOperationAll
	read            = kmsg.ACLOperationRead
	write           = kmsg.ACLOperationWrite
	create          = kmsg.ACLOperationCreate
	del             = kmsg.ACLOperationDelete
	alter           = kmsg.ACLOperationAlter
	describe        = kmsg.ACLOperationDescribe
	clusterAction   = kmsg.ACLOperationClusterAction
	describeConfigs = kmsg.ACLOperationDescribeConfigs
	alterConfigs    = kmsg.ACLOperationAlterConfigs
	idempotentWrite = kmsg.ACLOperationIdempotentWrite
)

// bind is a binding from any host.
func bind(perm kmsg.ACLPermissionType, typ kmsg.ACLResourceType, pat kmsg.ACLResourcePatternType, name, principal string, op kmsg.ACLOperation) acl.Binding {
	return acl.Binding{ResourceType: typ, ResourceName: name, PatternType: pat, Principal: principal, Host: "*", Operation: op, Permission: perm}
}

func from(b acl.Binding, host string) acl.Binding {
	b.Host = host
	return b
}

// memStore is metadata.ACLs in memory, for tests of decisions; the
// cross-gateway test uses the real stores.
type memStore struct {
	mu      sync.Mutex
	acls    []metadata.ACL
	version int64
	fail    error // every call fails with it when set
}

func (m *memStore) CreateACLs(_ context.Context, acls []metadata.ACL) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	for _, a := range acls {
		if !slices.Contains(m.acls, a) {
			m.acls = append(m.acls, a)
			m.version++
		}
	}
	return nil
}

func (m *memStore) DeleteACLs(_ context.Context, match func(metadata.ACL) bool) ([]metadata.ACL, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	var gone []metadata.ACL
	m.acls = slices.DeleteFunc(m.acls, func(a metadata.ACL) bool {
		if match(a) {
			gone = append(gone, a)
			return true
		}
		return false
	})
	if len(gone) > 0 {
		m.version++
	}
	return gone, nil
}

func (m *memStore) ListACLs(context.Context) ([]metadata.ACL, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.acls), m.fail
}

func (m *memStore) ACLVersion(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.version, m.fail
}

// started returns a started Authorizer on store holding bindings.
func started(t testing.TB, cfg acl.Config, bindings ...acl.Binding) *acl.Authorizer {
	t.Helper()
	if cfg.Store == nil {
		cfg.Store = &memStore{}
	}
	a := acl.New(cfg)
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	for i, err := range a.Create(ctx, bindings) {
		if err != nil {
			t.Fatalf("create %+v: %v", bindings[i], err)
		}
	}
	return a
}

var errDown = errors.New("store down")
