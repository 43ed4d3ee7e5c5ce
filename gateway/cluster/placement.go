package cluster

// Partition leaders and coordinators are chosen over the live list by
// rendezvous (highest-random-weight) hashing: each candidate's weight for
// a key is a hash of its node id and the key, and the heaviest wins. When
// a gateway joins or leaves, only the keys it wins or won move. Every
// gateway still accepts produce and fetch for any partition: the leader
// only steers clients (so producers and consumers of a partition meet on
// one gateway's cache). Coordinators are binding: the others answer
// NOT_COORDINATOR, and a gateway that stops coordinating a group hands it
// off (OnChange).
//
// Zones: a client that names its rack gets leaders among the gateways of
// that rack when it has live ones. Coordinators ignore zones: every
// gateway must agree on them.

import (
	"encoding/binary"

	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
)

// LeaderFor names the gateway that a client in rack (or any, when empty)
// should use for a partition: among the gateways of that rack when it has
// live ones, all of them otherwise.
func (r *Registry) LeaderFor(rack string, topic uuid.UUID, partition int32) int32 {
	cands := inRack(r.Gateways(), rack)
	return cands[rendezvous(cands, partitionKey(topic, partition))].NodeID
}

// CoordinatorFor names the gateway that coordinates a group (or
// transactional id): the same over all gateways, whatever their rack.
func (r *Registry) CoordinatorFor(key string) metadata.Gateway {
	live := r.Gateways()
	return live[rendezvous(live, groupKey(key))]
}

// Coordinates reports whether this gateway coordinates key.
func (r *Registry) Coordinates(key string) bool {
	return r.CoordinatorFor(key).NodeID == r.self.NodeID
}

// inRack returns the gateways of rack, or all when rack is empty or has none.
func inRack(live []metadata.Gateway, rack string) []metadata.Gateway {
	if rack == "" {
		return live
	}
	var out []metadata.Gateway
	for _, gw := range live {
		if gw.Rack == rack {
			out = append(out, gw)
		}
	}
	if len(out) == 0 {
		return live
	}
	return out
}

func partitionKey(topic uuid.UUID, partition int32) []byte {
	k := make([]byte, 0, 21)
	k = append(k, 'p')
	k = append(k, topic[:]...)
	return binary.BigEndian.AppendUint32(k, uint32(partition))
}

func groupKey(group string) []byte { return append([]byte{'g'}, group...) }

// rendezvous returns the index of the candidate with the highest weight
// for key (ties, practically impossible, go to the lower node id). cands
// must not be empty.
func rendezvous(cands []metadata.Gateway, key []byte) int {
	best, bestW := 0, uint64(0)
	for i, c := range cands {
		w := hrwWeight(c.NodeID, key)
		if i == 0 || w > bestW || (w == bestW && c.NodeID < cands[best].NodeID) {
			best, bestW = i, w
		}
	}
	return best
}

// hrwWeight is FNV-1a over the node id and the key, finished with
// splitmix64's mixer so that nearby inputs spread over the whole range.
func hrwWeight(node int32, key []byte) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	var nb [4]byte
	binary.BigEndian.PutUint32(nb[:], uint32(node))
	for _, b := range nb {
		h = (h ^ uint64(b)) * prime
	}
	for _, b := range key {
		h = (h ^ uint64(b)) * prime
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
