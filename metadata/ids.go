package metadata

import "context"

// nextID draws from a cluster-wide monotonic sequence.
func (s *sqlStore) nextID(ctx context.Context, q execer, seq string) (int64, error) {
	var id int64
	var err error
	if s.d == dialectPostgres {
		err = q.queryRow(ctx, "SELECT nextval('"+seq+"')").Scan(&id)
	} else {
		err = q.queryRow(ctx, "UPDATE counters SET value = value + 1 WHERE name = ? RETURNING value", seq).Scan(&id)
	}
	return id, err
}

func (s *sqlStore) AllocateProducerID(ctx context.Context) (int64, error) {
	var id int64
	err := s.tx(ctx, "allocate producer id", func(q execer) error {
		var err error
		id, err = s.nextID(ctx, q, "producer_ids")
		return err
	})
	return id, err
}
