package metadata

import "context"

// ClientQuotas stores Kafka client quotas (KIP-546) for gateway/quota,
// which owns their meaning (entity rules, keys, precedence) and keeps all
// of them in memory. Every change raises a version in the same
// transaction, so that each gateway can poll one cheap row and reload the
// quotas only when they changed.
type ClientQuotas interface {
	// AlterClientQuotas sets or removes the values in one transaction;
	// removing a value that is not stored is no error. The version rises.
	AlterClientQuotas(ctx context.Context, changes []QuotaChange) error
	// ListClientQuotas returns every stored value, in no particular order.
	ListClientQuotas(ctx context.Context) ([]ClientQuota, error)
	// ClientQuotaVersion returns the version of the stored quotas. Read
	// it before ListClientQuotas, as ACLVersion before ListACLs.
	ClientQuotaVersion(ctx context.Context) (int64, error)
}

// QuotaEntity is what a quota applies to: up to one user, one client-id
// and one ip. It is comparable, so it can key a map.
type QuotaEntity struct {
	User, ClientID, IP QuotaName
}

// QuotaName is one part of a QuotaEntity.
type QuotaName struct {
	Kind QuotaNameKind
	Name string // set only when Kind is QuotaNamed
}

// QuotaNameKind says whether an entity has a part, and which.
type QuotaNameKind int8

const (
	QuotaAbsent  QuotaNameKind = iota // the entity has no such part
	QuotaDefault                      // Kafka's default entity, a null name
	QuotaNamed                        // a named user, client-id or ip
)

// ClientQuota is one stored value: Key is Kafka's quota name
// (producer_byte_rate, …).
type ClientQuota struct {
	Entity QuotaEntity
	Key    string
	Value  float64
}

// QuotaChange sets Key to Value for Entity, or removes it.
type QuotaChange struct {
	Entity QuotaEntity
	Key    string
	Value  float64
	Remove bool
}

const quotaCols = "user_kind, user_name, client_kind, client_name, ip_kind, ip_name, quota_key"

func (e QuotaEntity) args(key string) []any {
	return []any{e.User.Kind, e.User.Name, e.ClientID.Kind, e.ClientID.Name, e.IP.Kind, e.IP.Name, key}
}

const bumpQuotaVersion = "UPDATE client_quota_version SET version = version + 1 WHERE id = 1"

func (s *sqlStore) AlterClientQuotas(ctx context.Context, changes []QuotaChange) error {
	if len(changes) == 0 {
		return nil
	}
	return s.tx(ctx, "alter client quotas", func(q execer) error {
		// The version row's lock orders concurrent changes on PostgreSQL,
		// as lockACLs does for ACLs.
		if err := s.lockRows(ctx, q, "SELECT version FROM client_quota_version WHERE id = 1"); err != nil {
			return err
		}
		stmts := make([]stmt, 0, len(changes)+1)
		for _, c := range changes {
			if c.Remove {
				stmts = append(stmts, stmt{q: `DELETE FROM client_quotas WHERE user_kind = ? AND user_name = ?
					AND client_kind = ? AND client_name = ? AND ip_kind = ? AND ip_name = ? AND quota_key = ?`, args: c.Entity.args(c.Key)})
				continue
			}
			stmts = append(stmts, stmt{q: "INSERT INTO client_quotas (" + quotaCols + ", quota_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)" +
				" ON CONFLICT (" + quotaCols + ") DO UPDATE SET quota_value = excluded.quota_value",
				args: append(c.Entity.args(c.Key), c.Value)})
		}
		return q.execAll(ctx, append(stmts, stmt{q: bumpQuotaVersion}))
	})
}

func (s *sqlStore) ListClientQuotas(ctx context.Context) ([]ClientQuota, error) {
	var quotas []ClientQuota
	err := scanAll(ctx, s.b, func(r rows) error {
		var c ClientQuota
		e := &c.Entity
		err := r.Scan(&e.User.Kind, &e.User.Name, &e.ClientID.Kind, &e.ClientID.Name, &e.IP.Kind, &e.IP.Name, &c.Key, &c.Value)
		quotas = append(quotas, c)
		return err
	}, "SELECT "+quotaCols+", quota_value FROM client_quotas")
	if err != nil {
		return nil, s.wrap(ctx, "list client quotas", err)
	}
	return quotas, nil
}

func (s *sqlStore) ClientQuotaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.b.queryRow(ctx, "SELECT version FROM client_quota_version WHERE id = 1").Scan(&v)
	return v, s.wrap(ctx, "read client quota version", err)
}
