package auth

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/caudal/caudal/metadata"
)

// maxPlainMessage bounds a PLAIN message; RFC 4616 allows 255 bytes per
// field, and clients of token-like passwords send a little more.
const maxPlainMessage = 8 << 10

// plainSession checks RFC 4616's one message, authzid NUL authcid NUL
// passwd, against the user's SCRAM credential.
type plainSession struct {
	a         *Authenticator
	ended     bool
	principal string
}

func (s *plainSession) Step(ctx context.Context, msg []byte) ([]byte, bool, error) {
	if s.ended {
		return nil, false, ErrIllegalSaslState
	}
	s.ended = true
	if len(msg) > maxPlainMessage {
		return nil, false, refused("PLAIN message too long")
	}
	fields := bytes.Split(msg, []byte{0})
	if len(fields) != 3 {
		return nil, false, refused("malformed PLAIN message")
	}
	authz, user, password := string(fields[0]), string(fields[1]), string(fields[2])
	switch {
	case user == "":
		return nil, false, refused("PLAIN user name is empty")
	case password == "":
		return nil, false, refused("PLAIN password is empty")
	case authz != "" && authz != user:
		return nil, false, refused("authorization id differs from the user name")
	}
	ok, err := s.a.checkPassword(ctx, user, password)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, refused(invalidCredentials)
	}
	s.principal = principal(user)
	return nil, true, nil
}

func (s *plainSession) Principal() string { return s.principal }

func (s *plainSession) Expiry() time.Time { return time.Time{} }

// checkPassword derives the salted password with the user's stored salt and
// iterations and compares the keys, trying the SCRAM-SHA-512 credential
// first, then SCRAM-SHA-256. An unknown user costs the same derivation.
func (a *Authenticator) checkPassword(ctx context.Context, user, password string) (bool, error) {
	for _, h := range []*scramHash{scramSHA512, scramSHA256} {
		cred, err := a.store.ScramCredential(ctx, user, h.mechanism)
		if errors.Is(err, metadata.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("look up SCRAM credential: %w", err)
		}
		return passwordMatches(h, cred, password)
	}
	_, err := passwordMatches(scramSHA512, a.fakeCredential(scramSHA512, user), password)
	return false, err
}

func passwordMatches(h *scramHash, cred metadata.ScramCredential, password string) (bool, error) {
	salted, err := pbkdf2.Key(h.new, password, cred.Salt, cred.Iterations, h.size)
	if err != nil {
		return false, fmt.Errorf("derive SCRAM salted password: %w", err)
	}
	return subtle.ConstantTimeCompare(scramStoredKey(h, salted), cred.StoredKey) == 1, nil
}
