// Package metadata is caudal's small SQL state: topics and partitions, the
// offset index that maps offsets to byte ranges of segment objects, the
// object table, idempotent-producer sequences, committed group offsets, the
// gateway registry and leases. Two implementations share one schema:
// sqlite:// (embedded default) and postgres://.
package metadata

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Store is the whole metadata interface. Every method is safe for concurrent
// use by many goroutines and, on PostgreSQL, by many processes.
type Store interface {
	// CreateTopic creates a topic with its partitions, all empty.
	CreateTopic(ctx context.Context, spec TopicSpec) (Topic, error)
	// DeleteTopic removes the topic, its partitions, its index rows, its
	// producer state and every group's committed offsets of it, in one
	// transaction. Objects are left for the worker, which deletes those
	// that no index row references any more.
	DeleteTopic(ctx context.Context, name string) error
	Topic(ctx context.Context, name string) (Topic, error)
	TopicByID(ctx context.Context, id uuid.UUID) (Topic, error)
	Topics(ctx context.Context) ([]Topic, error)
	// SetTopicConfigs replaces the topic's explicitly set configs.
	SetTopicConfigs(ctx context.Context, name string, configs map[string]string) error
	// CreatePartitions raises the partition count; it never lowers it.
	CreatePartitions(ctx context.Context, name string, count int32) error

	Partition(ctx context.Context, topic uuid.UUID, partition int32) (PartitionState, error)
	Partitions(ctx context.Context, topic uuid.UUID) ([]PartitionState, error)
	// AdvanceLogStart moves the log start offset forward (DeleteRecords,
	// retention). An offset below the current start is a no-op; one past
	// the next offset is ErrOffsetOutOfRange.
	AdvanceLogStart(ctx context.Context, topic uuid.UUID, partition int32, offset int64) (PartitionState, error)

	// CommitObject is the produce path's one transaction per flushed object:
	// it assigns offsets to every batch, inserts the index rows and the
	// object row, and checks idempotent-producer sequences. It is all or
	// nothing; per-batch rejections are reported in the result and their
	// bytes are simply not indexed.
	CommitObject(ctx context.Context, c ObjectCommit) (CommitResult, error)

	// Index returns up to limit index rows of a partition whose last offset
	// is >= from, in offset order.
	Index(ctx context.Context, topic uuid.UUID, partition int32, from int64, limit int) ([]IndexEntry, error)
	// IndexByTimestamp returns the first index row (in offset order) whose
	// max timestamp is >= ts, or ok=false when there is none.
	IndexByTimestamp(ctx context.Context, topic uuid.UUID, partition int32, ts int64) (e IndexEntry, ok bool, err error)
	// IndexMaxTimestamp returns the row holding the partition's largest
	// timestamp (the earliest such row on ties, as Kafka picks the
	// earliest batch), or ok=false when empty.
	IndexMaxTimestamp(ctx context.Context, topic uuid.UUID, partition int32) (e IndexEntry, ok bool, err error)

	// AllocateProducerID hands out a cluster-unique producer id.
	AllocateProducerID(ctx context.Context) (int64, error)

	CommitOffsets(ctx context.Context, group string, offsets []GroupOffset) error
	FetchOffsets(ctx context.Context, group string) ([]GroupOffset, error)
	DeleteOffsets(ctx context.Context, group string, parts []TopicPartition) error
	// Groups lists the groups that have committed offsets.
	Groups(ctx context.Context) ([]string, error)
	// SaveGroup stores a group's coordinator state, replacing what was
	// stored; LoadGroup returns it, or ErrNotFound; DeleteGroup removes it
	// (a no-op when absent).
	SaveGroup(ctx context.Context, rec GroupRecord) error
	LoadGroup(ctx context.Context, name string) (GroupRecord, error)
	DeleteGroup(ctx context.Context, name string) error

	Object(ctx context.Context, key string) (Object, error)
	// Objects calls fn for every object row, in key order.
	Objects(ctx context.Context, fn func(Object) error) error
	// MarkObjects sets the objects' state to ObjectMarked with the given
	// delete-after time; the worker deletes them from the bucket after it.
	MarkObjects(ctx context.Context, keys []string, deleteAfter time.Time) error
	// ForgetObjects removes object rows once their objects are gone.
	ForgetObjects(ctx context.Context, keys []string) error

	// Heartbeat registers a gateway or refreshes its heartbeat. A NodeID
	// below zero asks the store to allocate one; the stored row is returned.
	// The registration takes the advertised address over from any other
	// node id: two gateways never share one address.
	Heartbeat(ctx context.Context, g Gateway) (Gateway, error)
	// Gateways returns the gateways whose heartbeat is newer than since.
	Gateways(ctx context.Context, since time.Time) ([]Gateway, error)
	// RemoveGateway deletes a gateway's registration, when it shuts down,
	// so that others stop listing it at once rather than after a timeout.
	RemoveGateway(ctx context.Context, nodeID int32) error
	// AcquireLease takes or renews the named lease for holder when it is
	// free, expired or already holder's. It returns the lease as stored.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (l Lease, acquired bool, err error)
	ReleaseLease(ctx context.Context, name, holder string) error

	// Maintenance is what the worker's retention and compaction jobs need
	// (maintenance.go).
	Maintenance

	// Watcher wakes this process on other processes' commits (notify.go).
	Watcher

	// ACLs stores Kafka ACL bindings (acls.go).
	ACLs

	// Credentials holds SASL users' SCRAM credentials (credentials.go).
	Credentials

	// Transactions holds the transaction coordinator's state
	// (transactions.go).
	Transactions

	// LogDirs sizes partitions for DescribeLogDirs (logdirs.go).
	LogDirs

	// BrokerConfigs holds dynamic broker configs (brokerconfigs.go).
	BrokerConfigs

	// ClientQuotas holds Kafka client quotas (quotas.go).
	ClientQuotas

	Close() error
}

// TopicSpec is what CreateTopic needs.
type TopicSpec struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16 // accepted and reported; storage is the bucket's
	Configs           map[string]string
}

type Topic struct {
	ID                uuid.UUID
	Name              string
	Partitions        int32
	ReplicationFactor int16
	Configs           map[string]string // only those set explicitly
	CreatedAt         time.Time
}

type PartitionState struct {
	Topic          uuid.UUID
	Partition      int32
	LogStartOffset int64
	NextOffset     int64 // the high watermark
	// LastStableOffset is the first offset of the oldest open transaction
	// on the partition, or NextOffset when none is open: read_committed
	// consumers read below it.
	LastStableOffset int64
}

// IndexEntry maps the offsets [BaseOffset, LastOffset] of one partition to a
// contiguous byte range of one object, holding whole RecordBatches stored
// with baseOffset 0; the reader derives each batch's offset from BaseOffset
// and the batches' record counts.
type IndexEntry struct {
	Topic        uuid.UUID
	Partition    int32
	BaseOffset   int64
	LastOffset   int64
	ObjectKey    string
	ByteOffset   int64
	ByteLength   int64
	MaxTimestamp int64
	// Absolute: the stored batches carry their real baseOffsets and the
	// offsets may have gaps (key compaction's output); readers take each
	// batch's offset from its header instead of patching from BaseOffset.
	Absolute bool
	// ObjectSize is the size of the whole object, filled in by reads (0 if
	// the store does not know it); writers leave it out.
	ObjectSize int64
}

// ObjectCommit describes one flushed segment object.
type ObjectCommit struct {
	Key  string
	Size int64
	Runs []PartitionRun
	// Completions end transactions whose markers are in Runs
	// (TxnCompletion).
	Completions []TxnCompletion
}

// PartitionRun is one partition's batches in an object, in object order.
type PartitionRun struct {
	Topic     uuid.UUID
	Partition int32
	Batches   []BatchAppend
}

// BatchAppend is one client RecordBatch inside an object.
type BatchAppend struct {
	ByteOffset   int64 // position in the object
	ByteLength   int64
	Records      int64 // offsets the batch spans: lastOffsetDelta + 1
	MaxTimestamp int64
	// Idempotence; ProducerID < 0 means a plain producer.
	ProducerID    int64
	ProducerEpoch int16
	BaseSequence  int32
	// Transactional: the batch belongs to its producer's open
	// transaction, which must hold the partition (ErrInvalidTxnState).
	Transactional bool
	// Control: the batch is a transaction marker (COMMIT when Commit,
	// else ABORT); it releases the partition from the transaction.
	Control bool
	Commit  bool
}

// CommitResult has one slice per run and one BatchResult per batch,
// parallel to the ObjectCommit.
type CommitResult struct {
	Runs [][]BatchResult
	// Appended is what the commit appended, one per partition it grew.
	Appended []Appended
}

// Appended is what one commit appended to one partition, as readers
// cache it: its index rows (ObjectSize set) are contiguous and in offset
// order, from the partition's next offset before the commit to the one
// after it. Commits tell their own process through CommitResult and
// other processes through Watch.
type Appended struct {
	Topic          uuid.UUID
	Partition      int32
	LogStartOffset int64
	Rows           []IndexEntry
	// Txn: a transactional batch or a marker was appended, so the last
	// stable offset may have moved; readers look it up again.
	Txn bool
}

// NextOffset is the partition's next offset after the commit.
func (a Appended) NextOffset() int64 { return a.Rows[len(a.Rows)-1].LastOffset + 1 }

type BatchResult struct {
	BaseOffset     int64
	LogStartOffset int64
	// Duplicate: the producer had already written this batch; BaseOffset
	// is the original one and nothing new was indexed.
	Duplicate bool
	// Err is nil, ErrUnknownPartition, ErrOutOfOrderSequence,
	// ErrInvalidProducerEpoch or ErrInvalidTxnState.
	Err error
}

type GroupOffset struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	CommitTime  time.Time
}

type TopicPartition struct {
	Topic     string
	Partition int32
}

type ObjectState string

const (
	ObjectLive   ObjectState = "live"
	ObjectMarked ObjectState = "marked" // waiting out the delete grace period
	// ObjectOrphan is a fence: orphan GC deletes or has deleted the
	// object, never committed, and its key can no longer be committed.
	ObjectOrphan ObjectState = "orphan"
)

type Object struct {
	Key         string
	Size        int64
	State       ObjectState
	CreatedAt   time.Time
	DeleteAfter time.Time // zero unless marked
	// Merged: merge compaction wrote it, possibly with runs of many
	// partitions, each recorded by its own ReplaceIndex.
	Merged bool
}

type Gateway struct {
	NodeID int32
	Addr   string // advertised host:port
	Rack   string
	// Listeners are its addresses by listener name, where it has more
	// than Addr (gateway.Listener).
	Listeners   map[string]string
	HeartbeatAt time.Time
}

type Lease struct {
	Name    string
	Holder  string
	Expires time.Time
}

// Options are shared by both implementations.
type Options struct {
	// Now is the clock; tests inject one. Defaults to time.Now.
	Now func() time.Time
	// UnsafeSQLiteNoSync runs SQLite with synchronous=NORMAL, which does
	// not fsync commits: an OS crash or power loss can then lose commits
	// that returned. Only benchmarks set it, to print what durability
	// costs; PostgreSQL ignores it.
	UnsafeSQLiteNoSync bool
}

// Errors, compared with errors.Is. The gateway maps them to Kafka codes.
var (
	ErrUnknownTopic         = errors.New("unknown topic")
	ErrUnknownPartition     = errors.New("unknown partition")
	ErrTopicExists          = errors.New("topic already exists")
	ErrInvalidPartitions    = errors.New("invalid partition count")
	ErrOffsetOutOfRange     = errors.New("offset out of range")
	ErrOutOfOrderSequence   = errors.New("out of order sequence number")
	ErrInvalidProducerEpoch = errors.New("producer epoch is fenced")
	ErrNotFound             = errors.New("not found")
	// ErrUnavailable wraps failures to reach the database; retriable.
	ErrUnavailable = errors.New("metadata store unavailable")
)
