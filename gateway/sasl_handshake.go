package gateway

// SaslHandshake, version 1 (KIP-152: the exchange then goes in
// SaslAuthenticate requests; version 0's raw frames went with Kafka 4.0).
//
// Starts an exchange in the asked mechanism on a SASL listener, listing
// the enabled ones. A mechanism that is not enabled gets
// UNSUPPORTED_SASL_MECHANISM and the connection closes; a handshake on a
// listener without SASL, or while an exchange is under way, gets
// ILLEGAL_SASL_STATE. An authenticated connection may start again to
// re-authenticate (KIP-368), meanwhile serving its other requests.

import (
	"errors"
	"fmt"

	"github.com/caudal/caudal/gateway/auth"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.SASLHandshake, 1, 1, serveSASLHandshake) }

func serveSASLHandshake(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	if !c.listener.Protocol.usesSASL() || c.g.auth == nil || c.sasl != nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		c.closeAfterReply(0, fmt.Errorf("SaslHandshake out of place on listener %s", c.listener.Name))
		return resp
	}
	resp.SupportedMechanisms = c.g.auth.Mechanisms()
	s, err := c.g.auth.Start(req.Mechanism)
	if errors.Is(err, auth.ErrUnsupportedMechanism) {
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		c.closeAfterReply(0, err)
		return resp
	}
	if err != nil {
		resp.ErrorCode = kerr.UnknownServerError.Code
		c.closeAfterReply(0, err)
		return resp
	}
	c.sasl, c.saslMechanism = s, req.Mechanism
	return resp
}
