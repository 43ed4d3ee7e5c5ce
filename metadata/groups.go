package metadata

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// GroupRecord is a consumer group's coordinator state as persisted, so that
// a restarted coordinator keeps the generation (and raises it) and can
// describe the members until they rejoin.
type GroupRecord struct {
	Name         string
	Type         string // "classic" or "consumer" (KIP-848)
	ProtocolType string
	// Protocol is the classic group's selected protocol, or the KIP-848
	// group's server assignor.
	Protocol string
	// Generation is the classic generation or the KIP-848 group epoch.
	Generation int32
	Leader     string
	Members    []GroupMemberRecord
	UpdatedAt  time.Time
}

type GroupMemberRecord struct {
	MemberID           string
	InstanceID         string `json:",omitempty"`
	ClientID           string
	ClientHost         string
	SessionTimeoutMs   int32
	RebalanceTimeoutMs int32
	// Classic: the selected protocol's metadata and the leader's
	// assignment for this member.
	ProtocolMetadata []byte `json:",omitempty"`
	Assignment       []byte `json:",omitempty"`
	// KIP-848: member epoch, subscription and assigned partitions.
	MemberEpoch      int32              `json:",omitempty"`
	SubscribedTopics []string           `json:",omitempty"`
	SubscribedRegex  string             `json:",omitempty"`
	ServerAssignor   string             `json:",omitempty"`
	Assigned         []GroupMemberTopic `json:",omitempty"`
}

type GroupMemberTopic struct {
	TopicID    uuid.UUID
	Partitions []int32
}

func (s *sqlStore) SaveGroup(ctx context.Context, rec GroupRecord) error {
	doc, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode group %s: %w", rec.Name, err)
	}
	t := toMillis(rec.UpdatedAt)
	if t == 0 {
		t = s.nowMillis()
	}
	_, err = s.b.exec(ctx, `INSERT INTO groups (group_id, generation, record, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (group_id) DO UPDATE SET generation = excluded.generation, record = excluded.record,
		updated_at = excluded.updated_at`, rec.Name, rec.Generation, string(doc), t)
	return s.wrap(ctx, "save group "+rec.Name, err)
}

func (s *sqlStore) LoadGroup(ctx context.Context, name string) (GroupRecord, error) {
	var doc string
	err := s.b.queryRow(ctx, "SELECT record FROM groups WHERE group_id = ?", name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return GroupRecord{}, s.wrap(ctx, "load group "+name, err)
	}
	var rec GroupRecord
	if err := json.Unmarshal([]byte(doc), &rec); err != nil {
		return GroupRecord{}, fmt.Errorf("decode group %s: %w", name, err)
	}
	return rec, nil
}

func (s *sqlStore) DeleteGroup(ctx context.Context, name string) error {
	_, err := s.b.exec(ctx, "DELETE FROM groups WHERE group_id = ?", name)
	return s.wrap(ctx, "delete group "+name, err)
}
