package gateway

// DeleteTopics, versions 0–6.
//
// Deletes topics by name, or by id from v6. The topic's partitions and
// index rows go at once; its objects are deleted by the worker once no
// index row references them, after the delete grace period.

import (
	"github.com/caudal/caudal/metadata"
	"github.com/google/uuid"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.DeleteTopics, 0, 6, serveDeleteTopics) }

func serveDeleteTopics(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.DeleteTopicsRequest)
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	names := req.TopicNames
	if req.Version >= 6 {
		names = nil
		for _, t := range req.Topics {
			if t.Topic != nil {
				names = append(names, *t.Topic)
				continue
			}
			tr := kmsg.NewDeleteTopicsResponseTopic()
			tr.TopicID = t.TopicID
			top, err := c.g.topics.ByID(c.ctx, uuid.UUID(t.TopicID))
			if err != nil {
				tr.ErrorCode = kerr.UnknownTopicID.Code
				resp.Topics = append(resp.Topics, tr)
				continue
			}
			names = append(names, top.Name)
		}
	}
	for _, name := range names {
		tr := kmsg.NewDeleteTopicsResponseTopic()
		n := name
		tr.Topic = &n
		if err := c.g.deleteTopic(c, name, &tr); err != nil {
			tr.ErrorCode = errCode(err)
			tr.ErrorMessage = errMessage(err)
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

func (g *Gateway) deleteTopic(c *conn, name string, tr *kmsg.DeleteTopicsResponseTopic) error {
	if !c.allowed(kmsg.ACLOperationDelete, topicResource, name) {
		return kerr.TopicAuthorizationFailed
	}
	t, err := g.store.Topic(c.ctx, name)
	if err != nil {
		return err
	}
	tr.TopicID = t.ID
	if err := g.store.DeleteTopic(c.ctx, name); err != nil {
		return err
	}
	g.topics.Forget(name)
	g.log.Info("deleted topic", "topic", name)
	return nil
}

var _ = metadata.ErrUnknownTopic
