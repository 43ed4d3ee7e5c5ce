package metadata

import (
	"context"
	"maps"
)

// BrokerConfigs stores Kafka's dynamic broker configs for the gateways and
// the worker, which own their meaning (names, validation, precedence) via
// metadata/topicconfig. A resource is "" for the cluster-wide default or
// a broker id in decimal. Every change raises a version in the same
// transaction, so that each gateway can poll one cheap row and reload the
// configs only when they changed.
type BrokerConfigs interface {
	// UpdateBrokerConfigs replaces broker's configs with what update
	// returns given the stored ones, in one transaction that holds off
	// other changes, so that concurrent incremental changes both land.
	// An error from update is returned and nothing changes; so does an
	// unchanged result, without raising the version.
	UpdateBrokerConfigs(ctx context.Context, broker string, update func(cur map[string]string) (map[string]string, error)) error
	// ListBrokerConfigs returns every stored config by resource, then
	// by name.
	ListBrokerConfigs(ctx context.Context) (map[string]map[string]string, error)
	// BrokerConfigVersion returns the version of the stored configs.
	// Read it before ListBrokerConfigs, as ACLVersion before ListACLs.
	BrokerConfigVersion(ctx context.Context) (int64, error)
}

func (s *sqlStore) UpdateBrokerConfigs(ctx context.Context, broker string, update func(map[string]string) (map[string]string, error)) error {
	return s.tx(ctx, "update broker configs", func(q execer) error {
		if err := s.lockRows(ctx, q, "SELECT version FROM broker_config_version WHERE id = 1"); err != nil {
			return err
		}
		cur := map[string]string{}
		err := scanAll(ctx, q, func(r rows) error {
			var name, value string
			err := r.Scan(&name, &value)
			cur[name] = value
			return err
		}, "SELECT name, value FROM broker_configs WHERE broker = ?", broker)
		if err != nil {
			return err
		}
		next, err := update(maps.Clone(cur))
		if err != nil || maps.Equal(cur, next) {
			return err
		}
		stmts := []stmt{{q: "DELETE FROM broker_configs WHERE broker = ?", args: []any{broker}}}
		for name, value := range next {
			stmts = append(stmts, stmt{q: "INSERT INTO broker_configs (broker, name, value) VALUES (?, ?, ?)", args: []any{broker, name, value}})
		}
		return q.execAll(ctx, append(stmts, stmt{q: "UPDATE broker_config_version SET version = version + 1 WHERE id = 1"}))
	})
}

func (s *sqlStore) ListBrokerConfigs(ctx context.Context) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	err := scanAll(ctx, s.b, func(r rows) error {
		var broker, name, value string
		if err := r.Scan(&broker, &name, &value); err != nil {
			return err
		}
		if out[broker] == nil {
			out[broker] = map[string]string{}
		}
		out[broker][name] = value
		return nil
	}, "SELECT broker, name, value FROM broker_configs")
	if err != nil {
		return nil, s.wrap(ctx, "list broker configs", err)
	}
	return out, nil
}

func (s *sqlStore) BrokerConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.b.queryRow(ctx, "SELECT version FROM broker_config_version WHERE id = 1").Scan(&v)
	return v, s.wrap(ctx, "read broker config version", err)
}
