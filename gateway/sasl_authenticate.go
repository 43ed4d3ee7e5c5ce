package gateway

// SaslAuthenticate, versions 0–2.
//
// Carries the exchange SaslHandshake started. A refusal gets
// SASL_AUTHENTICATION_FAILED with the reason (never a hint of whether the
// user exists), counted in caudal_sasl_authentication_failures_total, and
// the connection closes authFailureDelay later. From version 1 the answer
// that completes the exchange carries the session's lifetime (KIP-368):
// the client must authenticate again before it ends. A store that cannot
// be reached closes the connection unanswered, so that clients retry
// rather than take it for bad credentials.

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(kmsg.SASLAuthenticate, 0, 2, serveSASLAuthenticate) }

func serveSASLAuthenticate(c *conn, kreq kmsg.Request) kmsg.Response {
	req := kreq.(*kmsg.SASLAuthenticateRequest)
	resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	if c.sasl == nil {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		c.closeAfterReply(0, errors.New("SaslAuthenticate without SaslHandshake"))
		return resp
	}
	reply, _, lifetime, refused, err := c.saslStep(req.SASLAuthBytes)
	switch {
	case refused:
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := err.Error()
		resp.ErrorMessage = &msg
		c.closeAfterReply(authFailureDelay, err)
		return resp
	case err != nil:
		c.closeAfterReply(-1, err)
		return nil
	}
	resp.SASLAuthBytes = reply
	if req.Version >= 1 {
		resp.SessionLifetimeMillis = lifetime.Milliseconds()
	}
	return resp
}
