package gateway

// SaslHandshake, versions 0–1.
//
// After version 1 the exchange goes in SaslAuthenticate requests
// (KIP-152); after version 0 the client sends the SASL tokens as frames
// of their own, without a request header, and gets the server's back the
// same way (sasl.go). Kafka 4.0 dropped version 0, but librdkafka up to
// at least 2.0 takes a broker that does not list it for one without SASL,
// and older sarama and kafka-python send it.
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

func init() { register(kmsg.SASLHandshake, 0, 1, serveSASLHandshake) }

func serveSASLHandshake(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.SASLHandshakeRequest)
	resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
	if !c.listener.Protocol.UsesSASL() || c.g.auth == nil || c.sasl != nil {
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
	c.rawSASL = req.Version == 0
	return resp
}
