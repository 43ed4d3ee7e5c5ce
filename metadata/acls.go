package metadata

import "context"

// ACLs stores Kafka ACL bindings for gateway/acl, which owns their meaning
// (matching, filters, validation) and keeps all of them in memory. Every
// change raises a version in the same transaction, so that each gateway
// can poll one cheap row and reload the bindings only when they changed.
type ACLs interface {
	// CreateACLs stores the bindings; one already stored is left as it is
	// (Kafka creates idempotently). The version rises when any is new.
	CreateACLs(ctx context.Context, acls []ACL) error
	// DeleteACLs deletes every stored binding for which match returns
	// true, in one transaction, and returns the deleted bindings. The
	// version rises when any is deleted. match must not call the store.
	DeleteACLs(ctx context.Context, match func(ACL) bool) ([]ACL, error)
	// ListACLs returns every stored binding, in no particular order.
	ListACLs(ctx context.Context) ([]ACL, error)
	// ACLVersion returns the version of the stored bindings. Read it
	// before ListACLs: the list is then at least as new as the version,
	// and a change in between is seen at the next poll.
	ACLVersion(ctx context.Context) (int64, error)
}

// ACL is one binding, each enum held as Kafka's wire code (as kmsg's
// ACLResourceType, ACLResourcePatternType, ACLOperation and
// ACLPermissionType define them), so that the store needs no Kafka
// package and the codes read the same in SQL as on the wire.
type ACL struct {
	ResourceType int8 // 2 topic, 3 group, 4 cluster, 5 transactional id, …
	ResourceName string
	PatternType  int8   // 3 literal, 4 prefixed
	Principal    string // "User:alice", or "User:*"
	Host         string // an IP address, or "*"
	Operation    int8   // 2 all, 3 read, 4 write, … 14 describe tokens
	Permission   int8   // 2 deny, 3 allow
}

const aclCols = "resource_type, resource_name, pattern_type, principal, host, operation, permission"

func (a ACL) args() []any {
	return []any{a.ResourceType, a.ResourceName, a.PatternType, a.Principal, a.Host, a.Operation, a.Permission}
}

func scanACL(r row) (ACL, error) {
	var a ACL
	err := r.Scan(&a.ResourceType, &a.ResourceName, &a.PatternType, &a.Principal, &a.Host, &a.Operation, &a.Permission)
	return a, err
}

// lockACLs takes the version row's lock first in every ACL change, so
// that changes run one at a time (SQLite's write transaction already
// does) and a delete's read of the bindings stays true until it commits.
func (s *sqlStore) lockACLs(ctx context.Context, q execer) error {
	return s.lockRows(ctx, q, "SELECT version FROM acl_version WHERE id = 1")
}

const bumpACLVersion = "UPDATE acl_version SET version = version + 1 WHERE id = 1"

func (s *sqlStore) CreateACLs(ctx context.Context, acls []ACL) error {
	if len(acls) == 0 {
		return nil
	}
	return s.tx(ctx, "create ACLs", func(q execer) error {
		if err := s.lockACLs(ctx, q); err != nil {
			return err
		}
		created := int64(0)
		for lo := 0; lo < len(acls); lo += maxStmtRows {
			chunk := acls[lo:min(lo+maxStmtRows, len(acls))]
			args := make([]any, 0, 7*len(chunk))
			for _, a := range chunk {
				args = append(args, a.args()...)
			}
			n, err := q.exec(ctx, "INSERT INTO acls ("+aclCols+") VALUES "+placeholders(len(chunk), 7)+
				" ON CONFLICT DO NOTHING", args...)
			if err != nil {
				return err
			}
			created += n
		}
		if created == 0 {
			return nil
		}
		_, err := q.exec(ctx, bumpACLVersion)
		return err
	})
}

func (s *sqlStore) DeleteACLs(ctx context.Context, match func(ACL) bool) ([]ACL, error) {
	var deleted []ACL
	err := s.tx(ctx, "delete ACLs", func(q execer) error {
		deleted = nil // a retried transaction starts over
		if err := s.lockACLs(ctx, q); err != nil {
			return err
		}
		err := scanAll(ctx, q, func(r rows) error {
			a, err := scanACL(r)
			if err == nil && match(a) {
				deleted = append(deleted, a)
			}
			return err
		}, "SELECT "+aclCols+" FROM acls")
		if err != nil || len(deleted) == 0 {
			return err
		}
		stmts := make([]stmt, 0, len(deleted)+1)
		for _, a := range deleted {
			stmts = append(stmts, stmt{q: `DELETE FROM acls WHERE resource_type = ? AND resource_name = ?
				AND pattern_type = ? AND principal = ? AND host = ? AND operation = ? AND permission = ?`, args: a.args()})
		}
		stmts = append(stmts, stmt{q: bumpACLVersion})
		return q.execAll(ctx, stmts)
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

func (s *sqlStore) ListACLs(ctx context.Context) ([]ACL, error) {
	var acls []ACL
	err := scanAll(ctx, s.b, func(r rows) error {
		a, err := scanACL(r)
		acls = append(acls, a)
		return err
	}, "SELECT "+aclCols+" FROM acls")
	if err != nil {
		return nil, s.wrap(ctx, "list ACLs", err)
	}
	return acls, nil
}

func (s *sqlStore) ACLVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.b.queryRow(ctx, "SELECT version FROM acl_version WHERE id = 1").Scan(&v)
	return v, s.wrap(ctx, "read ACL version", err)
}
