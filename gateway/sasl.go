package gateway

// Authentication on SASL listeners, as Kafka's SaslServerAuthenticator
// does it (KIP-43, KIP-152, KIP-368). Until a connection has
// authenticated it may send ApiVersions, SaslHandshake and
// SaslAuthenticate only; anything else closes it. A failed authentication
// is answered SASL_AUTHENTICATION_FAILED, and the connection closes
// authFailureDelay later (Kafka's connection.failed.authentication.delay.ms).
// With a session lifetime (SASLConfig.ReauthMax, or an OAUTHBEARER
// token's expiry), a connection that has not re-authenticated by its end
// is closed at its next request other than a SASL one.

import (
	"errors"
	"fmt"
	"time"

	"github.com/caudal/caudal/gateway/auth"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SASLConfig configures authentication on SASL listeners.
type SASLConfig struct {
	// Mechanisms are the enabled ones (Kafka's sasl.enabled.mechanisms):
	// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER.
	Mechanisms []string
	// OAuth configures OAUTHBEARER.
	OAuth auth.OAuthConfig
	// ReauthMax is Kafka's connections.max.reauth.ms: the longest an
	// authentication lasts before the client must authenticate again on
	// the same connection; 0 for ever (or a token's expiry).
	ReauthMax time.Duration
}

// authFailureDelay is Kafka's connection.failed.authentication.delay.ms:
// how long a refused client waits for its connection to close, which
// slows down guessing.
const authFailureDelay = 100 * time.Millisecond

// errCloseAfterReply ends a connection once its last reply is written.
type errCloseAfterReply struct {
	delay  time.Duration
	reason error
}

func (e *errCloseAfterReply) Error() string { return e.reason.Error() }
func (e *errCloseAfterReply) Unwrap() error { return e.reason }

// saslAPI reports whether key may be sent before authenticating.
func saslAPI(key int16) bool {
	return key == kmsg.ApiVersions.Int16() || key == kmsg.SASLHandshake.Int16() || key == kmsg.SASLAuthenticate.Int16()
}

// admit decides whether a request with key may be served now.
func (c *conn) admit(key int16) error {
	switch {
	case saslAPI(key):
		return nil
	case !c.authenticated:
		return fmt.Errorf("%s before authentication on listener %s", kmsg.NameForKey(key), c.listener.Name)
	case !c.authExpiry.IsZero() && !time.Now().Before(c.authExpiry):
		return errors.New("SASL session expired without re-authentication")
	}
	return nil
}

// authenticated records the end of a successful exchange and returns the
// session lifetime to tell the client (0: none).
func (c *conn) authenticatedAs(s auth.Session) (time.Duration, error) {
	principal := s.Principal()
	if c.authenticated && c.principal != principal {
		return 0, fmt.Errorf("re-authentication as %s on a connection of %s", principal, c.principal)
	}
	lifetime := max(c.g.cfg.SASL.ReauthMax, 0)
	if exp := s.Expiry(); !exp.IsZero() {
		if left := time.Until(exp); lifetime == 0 || left < lifetime {
			lifetime = max(left, time.Millisecond)
		}
	}
	c.authExpiry = time.Time{}
	if lifetime > 0 {
		c.authExpiry = time.Now().Add(lifetime)
	}
	if principal != c.principal {
		c.acls = nil // its decisions were for the principal before
	}
	c.principal, c.authenticated, c.sasl = principal, true, nil
	return lifetime, nil
}

// saslStep runs one step of the exchange under way and, when it
// completes, records the authentication. It returns the server's token,
// whether the exchange is done and the session lifetime then (0: none).
// A refusal (refused, err the reason) is counted in authFailures; any
// other error means the step could not be judged, such as a store out of
// reach, and is not the client's fault.
func (c *conn) saslStep(token []byte) (answer []byte, done bool, lifetime time.Duration, refused bool, err error) {
	answer, done, err = c.sasl.Step(c.ctx, token)
	if err == nil && done {
		if lifetime, err = c.authenticatedAs(c.sasl); err != nil {
			err = fmt.Errorf("%w: %v", auth.ErrAuthenticationFailed, err)
		}
	}
	switch {
	case errors.Is(err, auth.ErrAuthenticationFailed) || errors.Is(err, auth.ErrIllegalSaslState):
		c.g.metrics.authFailures.WithLabelValues(c.saslMechanism).Inc()
		return nil, false, 0, true, err
	case err != nil:
		return nil, false, 0, false, fmt.Errorf("authenticate %s: %w", c.saslMechanism, err)
	}
	return answer, done, lifetime, false, nil
}

// maxRawSASLToken bounds a token of SaslHandshake v0's exchange; the
// mechanisms bound their messages far below it.
const maxRawSASLToken = 1 << 20

// handleRawSASL serves one token of SaslHandshake v0's exchange: the
// answer is the server's token, framed the same way. There is no way to
// answer a refusal in this exchange, so a refused or failed step closes
// the connection, after authFailureDelay for a refusal, as Kafka does.
func (c *conn) handleRawSASL(token []byte) (*reply, error) {
	if len(token) > maxRawSASLToken {
		return nil, fmt.Errorf("SASL token of %d bytes", len(token))
	}
	answer, done, _, refused, err := c.saslStep(token)
	if refused {
		time.Sleep(authFailureDelay)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if done {
		c.rawSASL = false
	}
	r := &reply{done: make(chan struct{}), raw: answer}
	if r.raw == nil {
		r.raw = []byte{}
	}
	close(r.done)
	return r, nil
}
