package metadata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

func (s *sqlStore) Heartbeat(ctx context.Context, g Gateway) (Gateway, error) {
	g.HeartbeatAt = fromMillis(s.nowMillis())
	err := s.tx(ctx, "gateway heartbeat", func(q execer) error {
		for g.NodeID < 0 {
			id, err := s.nextID(ctx, q, "node_ids")
			if err != nil {
				return err
			}
			if id > 1<<31-1 {
				return errors.New("node ids exhausted")
			}
			var taken int
			err = q.queryRow(ctx, "SELECT 1 FROM gateways WHERE node_id = ?", int32(id)).Scan(&taken)
			if errors.Is(err, sql.ErrNoRows) {
				g.NodeID = int32(id) // not chosen explicitly by another gateway
			} else if err != nil {
				return err
			}
		}
		// The registration owns its address: it takes it over from any
		// other node id. A gateway killed and restarted under a new id
		// would otherwise stay listed beside it, at the same address and
		// leading partitions, until its heartbeat timed out. The unique
		// index on addr makes the takeover atomic: a concurrent insert
		// of the same address waits for this one, then updates its row.
		return q.execAll(ctx, []stmt{
			{"DELETE FROM gateways WHERE node_id = ? AND addr <> ?", []any{g.NodeID, g.Addr}}, // it moved
			{`INSERT INTO gateways (node_id, addr, rack, heartbeat_at, listeners) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (addr) DO UPDATE SET node_id = excluded.node_id, rack = excluded.rack, heartbeat_at = excluded.heartbeat_at,
			listeners = excluded.listeners`,
				[]any{g.NodeID, g.Addr, g.Rack, toMillis(g.HeartbeatAt), encodeStringMap(g.Listeners)}},
		})
	})
	if err != nil {
		return Gateway{}, err
	}
	return g, nil
}

func (s *sqlStore) Gateways(ctx context.Context, since time.Time) ([]Gateway, error) {
	var gs []Gateway
	err := scanAll(ctx, s.b, func(r rows) error {
		var (
			g         Gateway
			hb        int64
			listeners string
		)
		if err := r.Scan(&g.NodeID, &g.Addr, &g.Rack, &hb, &listeners); err != nil {
			return err
		}
		g.HeartbeatAt = fromMillis(hb)
		var err error
		if g.Listeners, err = decodeStringMap(listeners); err != nil {
			return fmt.Errorf("gateway %d listeners: %w", g.NodeID, err)
		}
		gs = append(gs, g)
		return nil
	}, "SELECT node_id, addr, rack, heartbeat_at, listeners FROM gateways WHERE heartbeat_at > ? ORDER BY node_id", since.UnixMilli())
	return gs, s.wrap(ctx, "list gateways", err)
}

func (s *sqlStore) RemoveGateway(ctx context.Context, nodeID int32) error {
	_, err := s.b.exec(ctx, "DELETE FROM gateways WHERE node_id = ?", nodeID)
	return s.wrap(ctx, fmt.Sprintf("remove gateway %d", nodeID), err)
}
