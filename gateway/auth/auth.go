// Package auth decides who a SASL client is: PLAIN and SCRAM passwords
// against the SCRAM credentials in the metadata store, OAUTHBEARER tokens
// against configured keys; it also manages those credentials for KIP-554's
// admin APIs. It speaks no Kafka framing: the gateway's edge feeds it the
// SASL bytes and maps its typed errors to Kafka codes. Its error texts are
// safe to send to clients and never hold a password, a key or a hint of
// whether a user exists.
package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/caudal/caudal/metadata"
)

// The SASL mechanisms, by the names clients ask for.
const (
	MechanismPlain       = "PLAIN"
	MechanismScramSHA256 = "SCRAM-SHA-256"
	MechanismScramSHA512 = "SCRAM-SHA-512"
	MechanismOAuthBearer = "OAUTHBEARER"
)

// Errors, compared with errors.Is. Those of Step carry a reason after the
// sentinel's text that is meant for the client.
var (
	// ErrAuthenticationFailed: the client is not who it claims, or its
	// message is not valid for the mechanism (SASL_AUTHENTICATION_FAILED).
	ErrAuthenticationFailed = errors.New("authentication failed")
	// ErrUnsupportedMechanism: the mechanism is not enabled, or not a
	// SCRAM mechanism where one is needed (UNSUPPORTED_SASL_MECHANISM).
	ErrUnsupportedMechanism = errors.New("unsupported SASL mechanism")
	// ErrIllegalSaslState: Step after the exchange ended (ILLEGAL_SASL_STATE).
	ErrIllegalSaslState = errors.New("SASL exchange already finished")
	// ErrUnacceptableCredential: a credential outside Kafka's rules, such
	// as too few iterations or an empty user name (UNACCEPTABLE_CREDENTIAL).
	ErrUnacceptableCredential = errors.New("unacceptable credential")
	// ErrResourceNotFound: describing or deleting a credential that does
	// not exist (RESOURCE_NOT_FOUND).
	ErrResourceNotFound = errors.New("resource not found")
	// ErrDuplicateResource: one user named twice in one request
	// (DUPLICATE_RESOURCE).
	ErrDuplicateResource = errors.New("duplicate resource")
)

// CredentialStore is the part of the metadata store that authentication
// reads.
type CredentialStore interface {
	// ScramCredential returns user's credential for mechanism, or an
	// error matching metadata.ErrNotFound.
	ScramCredential(ctx context.Context, user, mechanism string) (metadata.ScramCredential, error)
}

// Config configures an Authenticator.
type Config struct {
	// Store holds the SCRAM credentials; PLAIN and the SCRAM mechanisms
	// need it.
	Store CredentialStore
	// Mechanisms are the enabled mechanisms, in the order SaslHandshake
	// lists them (Kafka's sasl.enabled.mechanisms).
	Mechanisms []string
	// OAuth configures OAUTHBEARER; it must name a key source when that
	// mechanism is enabled.
	OAuth OAuthConfig
	// Now is the clock that token times are checked against; time.Now
	// when nil.
	Now func() time.Time
	// Log receives what operators should see and clients must not: key
	// files that fail to reload. Discarded when nil.
	Log *slog.Logger
}

// Authenticator starts SASL sessions. It is safe for concurrent use.
type Authenticator struct {
	store      CredentialStore
	mechanisms []string
	oauth      *tokenVerifier // nil unless OAUTHBEARER is enabled
	// fakeKey derives the salts of users that do not exist, so that
	// asking twice for one gives the same answer, as for a real user.
	fakeKey []byte
	// serverNonce makes the server's part of a SCRAM nonce; tests
	// replace it to replay RFC test vectors.
	serverNonce func() string
}

// Session is one SASL exchange on one connection. It is not safe for
// concurrent use; start a new one to re-authenticate (KIP-368).
type Session interface {
	// Step takes the client's next message and returns the reply to send
	// and whether the exchange is over. An error ends it: the client is
	// refused (ErrAuthenticationFailed, whose text is safe to send), or
	// the store failed (any other error, whose text is for logs only).
	// A refused OAUTHBEARER token is not an error at first: the reply is
	// RFC 7628's error JSON with done false, and the client's next
	// message ("\x01") gets ErrAuthenticationFailed quoting it.
	Step(ctx context.Context, msg []byte) (reply []byte, done bool, err error)
	// Principal is the authenticated principal, such as "User:alice",
	// once Step has returned done; "" before.
	Principal() string
	// Expiry is when the credential stops being valid: an OAUTHBEARER
	// token's exp, which bounds the session's lifetime (KIP-368); zero
	// for passwords.
	Expiry() time.Time
}

// New checks c and returns an Authenticator for its mechanisms.
func New(c Config) (*Authenticator, error) {
	if len(c.Mechanisms) == 0 {
		return nil, errors.New("no SASL mechanism is enabled")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{
		store:       c.Store,
		mechanisms:  slices.Clone(c.Mechanisms),
		fakeKey:     make([]byte, 32),
		serverNonce: randomNonce,
	}
	rand.Read(a.fakeKey)
	for i, m := range c.Mechanisms {
		if slices.Contains(c.Mechanisms[:i], m) {
			return nil, fmt.Errorf("SASL mechanism %s is listed twice", m)
		}
		switch m {
		case MechanismPlain, MechanismScramSHA256, MechanismScramSHA512:
			if c.Store == nil {
				return nil, fmt.Errorf("SASL mechanism %s needs a credential store", m)
			}
		case MechanismOAuthBearer:
			v, err := newTokenVerifier(c.OAuth, c.Now, c.Log)
			if err != nil {
				return nil, fmt.Errorf("configure OAUTHBEARER: %w", err)
			}
			a.oauth = v
		default:
			return nil, fmt.Errorf("%w: %q", ErrUnsupportedMechanism, m)
		}
	}
	return a, nil
}

// Mechanisms returns the enabled mechanisms, for SaslHandshake's answer.
func (a *Authenticator) Mechanisms() []string { return slices.Clone(a.mechanisms) }

// Start begins an exchange with an enabled mechanism, or returns
// ErrUnsupportedMechanism.
func (a *Authenticator) Start(mechanism string) (Session, error) {
	if !slices.Contains(a.mechanisms, mechanism) {
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedMechanism, mechanism)
	}
	switch mechanism {
	case MechanismPlain:
		return &plainSession{a: a}, nil
	case MechanismOAuthBearer:
		return &oauthSession{v: a.oauth}, nil
	}
	return &scramSession{a: a, h: scramHashes[mechanism]}, nil
}

// refused is an ErrAuthenticationFailed with a reason for the client.
func refused(reason string) error { return fmt.Errorf("%w: %s", ErrAuthenticationFailed, reason) }

// principal names a user the way Kafka's default principal builder does.
func principal(user string) string { return "User:" + user }
