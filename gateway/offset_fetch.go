package gateway

// OffsetFetch, versions 0–9.
//
// Returns committed offsets: the requested partitions, or every committed
// partition of the group when topics is null (v2+). A partition without a
// commit gets offset -1 and no error. v8+ asks for several groups at once;
// v9 names the KIP-848 member and epoch, checked as OffsetCommit checks
// them (UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH). With require_stable (v7+)
// a partition that an open transaction has staged an offset for answers
// UNSTABLE_OFFSET_COMMIT (gateway/groups). It needs
// DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) and on each topic
// (TOPIC_AUTHORIZATION_FAILED; a topic it may not describe is left out of
// "every committed partition").

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.OffsetFetch, 0, 9, serveOffsetFetch) }

func serveOffsetFetch(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.OffsetFetchRequest)
	if req.Version >= 8 {
		return c.offsetFetchGroups(req)
	}
	groupOK := c.allowed(kmsg.ACLOperationDescribe, groupResource, req.Group)
	sub := *req
	var ok []bool
	sub.Topics, ok = c.describableTopics(req.Topics, groupOK)
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if groupOK {
		resp = c.g.groups.OffsetFetch(c.ctx, &sub)
	} else if req.Version >= 2 {
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp
	}
	if req.Topics == nil { // every committed partition: those it may see
		resp.Topics = slices.DeleteFunc(resp.Topics, func(t kmsg.OffsetFetchResponseTopic) bool {
			return !c.allowed(kmsg.ACLOperationDescribe, topicResource, t.Topic)
		})
		return resp
	}
	code := kerr.TopicAuthorizationFailed.Code
	if !groupOK {
		code = kerr.GroupAuthorizationFailed.Code
	}
	resp.Topics = mergeDenied(ok, resp.Topics, func(i int) kmsg.OffsetFetchResponseTopic {
		t := kmsg.NewOffsetFetchResponseTopic()
		t.Topic = req.Topics[i].Topic
		for _, p := range req.Topics[i].Partitions {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch, rp.ErrorCode = p, -1, -1, code
			t.Partitions = append(t.Partitions, rp)
		}
		return t
	})
	return resp
}

// offsetFetchGroups serves v8+, which asks for several groups.
func (c *conn) offsetFetchGroups(req *kmsg.OffsetFetchRequest) kmsg.Response {
	groupOK := make([]bool, len(req.Groups))
	topicOK := make([][]bool, len(req.Groups))
	sub := *req
	sub.Groups = nil
	for i, rg := range req.Groups {
		if groupOK[i] = c.allowed(kmsg.ACLOperationDescribe, groupResource, rg.Group); !groupOK[i] {
			continue
		}
		g := rg
		if rg.Topics != nil {
			g.Topics = []kmsg.OffsetFetchRequestGroupTopic{} // empty, not nil: nil asks for all
			topicOK[i] = make([]bool, len(rg.Topics))
			for j, t := range rg.Topics {
				if topicOK[i][j] = c.allowed(kmsg.ACLOperationDescribe, topicResource, t.Topic); topicOK[i][j] {
					g.Topics = append(g.Topics, t)
				}
			}
		}
		sub.Groups = append(sub.Groups, g)
	}
	resp := c.g.groups.OffsetFetch(c.ctx, &sub)
	resp.Groups = mergeDenied(groupOK, resp.Groups, func(i int) kmsg.OffsetFetchResponseGroup {
		g := kmsg.NewOffsetFetchResponseGroup()
		g.Group, g.ErrorCode = req.Groups[i].Group, kerr.GroupAuthorizationFailed.Code
		return g
	})
	for i := range resp.Groups {
		g := &resp.Groups[i]
		if !groupOK[i] {
			continue
		}
		if req.Groups[i].Topics == nil {
			g.Topics = slices.DeleteFunc(g.Topics, func(t kmsg.OffsetFetchResponseGroupTopic) bool {
				return !c.allowed(kmsg.ACLOperationDescribe, topicResource, t.Topic)
			})
			continue
		}
		rts := req.Groups[i].Topics
		g.Topics = mergeDenied(topicOK[i], g.Topics, func(j int) kmsg.OffsetFetchResponseGroupTopic {
			t := kmsg.NewOffsetFetchResponseGroupTopic()
			t.Topic = rts[j].Topic
			for _, p := range rts[j].Partitions {
				rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch, rp.ErrorCode = p, -1, -1, kerr.TopicAuthorizationFailed.Code
				t.Partitions = append(t.Partitions, rp)
			}
			return t
		})
	}
	return resp
}

// describableTopics keeps the topics the principal may DESCRIBE (none
// unless groupOK), and says which of topics they are; nil stays nil.
func (c *conn) describableTopics(topics []kmsg.OffsetFetchRequestTopic, groupOK bool) ([]kmsg.OffsetFetchRequestTopic, []bool) {
	if topics == nil {
		return nil, nil
	}
	ok := make([]bool, len(topics))
	kept := []kmsg.OffsetFetchRequestTopic{}
	for i, t := range topics {
		if ok[i] = groupOK && c.allowed(kmsg.ACLOperationDescribe, topicResource, t.Topic); ok[i] {
			kept = append(kept, t)
		}
	}
	return kept, ok
}
