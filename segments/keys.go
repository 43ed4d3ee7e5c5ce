package segments

import (
	"fmt"

	"github.com/google/uuid"
)

// KeyPrefix is where segment objects live in the bucket: gateways write
// flushed objects there, compaction writes its rewrites there and orphan
// GC looks there.
const KeyPrefix = "segments/"

// NewObjectKey names a new segment object: a UUIDv7 under KeyPrefix. A
// UUIDv7 starts with its creation time, so keys sort in the order they
// were made and listing the bucket returns objects in write order.
func NewObjectKey() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new object key: %w", err)
	}
	return KeyPrefix + id.String(), nil
}
