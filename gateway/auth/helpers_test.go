package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caudal/caudal/metadata"
)

var ctx = context.Background()

// memStore is an in-memory CredentialStore; err, when set, fails every
// read as an unreachable database would.
type memStore struct {
	mu    sync.Mutex
	creds map[[2]string]metadata.ScramCredential
	err   error
}

func newMemStore(creds ...metadata.ScramCredential) *memStore {
	s := &memStore{creds: map[[2]string]metadata.ScramCredential{}}
	for _, c := range creds {
		s.creds[[2]string{c.User, c.Mechanism}] = c
	}
	return s
}

func (s *memStore) ScramCredential(_ context.Context, user, mechanism string) (metadata.ScramCredential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return metadata.ScramCredential{}, s.err
	}
	c, ok := s.creds[[2]string{user, mechanism}]
	if !ok {
		return metadata.ScramCredential{}, metadata.ErrNotFound
	}
	return c, nil
}

func mustCred(t testing.TB, user, mechanism, password string) metadata.ScramCredential {
	t.Helper()
	c, err := NewScramCredential(user, mechanism, password, DefaultIterations)
	if err != nil {
		t.Fatalf("credential of %s: %v", user, err)
	}
	return c
}

func mustNew(t testing.TB, c Config) *Authenticator {
	t.Helper()
	a, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func mustStart(t testing.TB, a *Authenticator, mechanism string) Session {
	t.Helper()
	s, err := a.Start(mechanism)
	if err != nil {
		t.Fatalf("Start(%s): %v", mechanism, err)
	}
	return s
}

// wantRefused checks that err refuses the client with a reason holding
// want, and that the session established no one.
func wantRefused(t testing.TB, s Session, err error, want string) {
	t.Helper()
	if !errors.Is(err, ErrAuthenticationFailed) {
		t.Fatalf("got %v, want ErrAuthenticationFailed", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	if p := s.Principal(); p != "" {
		t.Fatalf("refused session has principal %q", p)
	}
}

// fixedClock is a settable clock.
type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }
