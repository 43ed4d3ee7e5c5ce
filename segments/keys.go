package segments

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/google/uuid"
)

// KeyPrefix is where segment objects live in the bucket: gateways write
// flushed objects there, compaction writes its rewrites there and orphan
// GC looks there.
const KeyPrefix = "segments/"

// NewObjectKey names a new segment object segments/HH/UUIDv7, where HH
// is the first byte, in hex, of the SHA-256 of the UUID's 16 bytes: 256
// prefixes that new objects fall on evenly.
//
// Why: S3 serves at least 3,500 PUT/COPY/POST/DELETE and 5,500 GET/HEAD
// requests per second per partitioned prefix, with no limit on the number
// of prefixes, and scales by spreading requests over several ("Best
// practices design patterns: optimizing Amazon S3 performance", S3 user
// guide). It partitions a bucket's key index by ranges of keys in UTF-8
// binary order, so sequential names such as timestamps keep hitting one
// partition; AWS's key-naming guidance is to lead with a few hex digits
// of a hash. A UUIDv7 leads with its creation time: bare UUIDv7 keys put
// every new object of the cluster, and the GETs of recent ones, at the
// tail of one range, and splitting the range does not help because the
// next objects go to the newest half. With the hash first, the load is
// even over the whole range and S3 can split it into up to 256 partitions.
//
// Why 256: one prefix caps a cluster at 3,500 PUTs and 5,500 GETs a
// second (a gateway PUTs 10 objects a second at 100 ms flushes, 500 at
// 2 ms, and cold fetches GET ranges of them more often); 256 lift that to
// about 900,000 and 1.4 million, beyond what one metadata store commits,
// so the prefix is no longer the limit. More digits would only name
// partitions S3 never has to create, since it splits under sustained
// load and not in advance.
//
// Why after KeyPrefix: S3 splits anywhere in the key space, so a constant
// lead (KeyPrefix, or the prefix of the bucket URL) costs nothing, and a
// List under KeyPrefix, which is recursive, still finds every segment
// object of both layouts in one listing.
//
// Buckets written before hold the earlier layout, segments/UUIDv7. No code
// reads meaning from a key: the metadata store keeps each object's full
// key, reads and deletes go by it, and orphan GC ages what it lists by
// when it first saw it, not by the time inside the UUID. So both layouts
// are read, listed, aged and deleted alike and cannot collide (a UUID is
// 36 characters, HH 2). Keys list in write order only within one prefix.
func NewObjectKey() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new object key: %w", err)
	}
	sum := sha256.Sum256(id[:])
	return KeyPrefix + hex.EncodeToString(sum[:1]) + "/" + id.String(), nil
}
