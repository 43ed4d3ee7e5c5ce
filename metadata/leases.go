package metadata

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// AcquireLease is one atomic upsert: it writes only when the lease is free,
// expired or already the holder's, and RETURNING tells whether it did.
func (s *sqlStore) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, bool, error) {
	now := s.now()
	l := Lease{Name: name}
	acquired := false
	err := s.tx(ctx, "acquire lease "+name, func(q execer) error {
		var exp int64
		err := q.queryRow(ctx, `INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
			WHERE leases.holder = excluded.holder OR leases.expires <= ?
			RETURNING holder, expires`, name, holder, now.Add(ttl).UnixMilli(), now.UnixMilli()).Scan(&l.Holder, &exp)
		if err == nil {
			acquired = true
		} else if errors.Is(err, sql.ErrNoRows) {
			err = q.queryRow(ctx, "SELECT holder, expires FROM leases WHERE name = ?", name).Scan(&l.Holder, &exp)
		}
		l.Expires = fromMillis(exp)
		return err
	})
	if err != nil {
		return Lease{}, false, err
	}
	return l, acquired, nil
}

func (s *sqlStore) ReleaseLease(ctx context.Context, name, holder string) error {
	_, err := s.b.exec(ctx, "DELETE FROM leases WHERE name = ? AND holder = ?", name, holder)
	return s.wrap(ctx, "release lease "+name, err)
}
