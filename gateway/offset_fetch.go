package gateway

// OffsetFetch, versions 0–9.
//
// Returns committed offsets: the requested partitions, or every committed
// partition of the group when topics is null (v2+). A partition without a
// commit gets offset -1 and no error. v8+ asks for several groups at once;
// v9 names the KIP-848 member and epoch, checked as OffsetCommit checks
// them (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH). require_stable (v7+) is
// ignored: without transactions every commit is stable.

import (
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetFetch, 0, 9, serveOffsetFetch) }

func serveOffsetFetch(c *conn, kreq kmsg.Request) kmsg.Response {
	return c.g.groups.OffsetFetch(c.ctx, kreq.(*kmsg.OffsetFetchRequest))
}
