package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNewChecksMechanisms(t *testing.T) {
	store := newMemStore()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"none", Config{Store: store}, "no SASL mechanism"},
		{"unknown", Config{Store: store, Mechanisms: []string{"GSSAPI"}}, "unsupported SASL mechanism"},
		{"lower case", Config{Store: store, Mechanisms: []string{"plain"}}, "unsupported SASL mechanism"},
		{"twice", Config{Store: store, Mechanisms: []string{MechanismPlain, MechanismPlain}}, "listed twice"},
		{"PLAIN without a store", Config{Mechanisms: []string{MechanismPlain}}, "needs a credential store"},
		{"SCRAM without a store", Config{Mechanisms: []string{MechanismScramSHA512}}, "needs a credential store"},
		{"OAUTHBEARER without keys", Config{Mechanisms: []string{MechanismOAuthBearer}}, "configure OAUTHBEARER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

func TestStart(t *testing.T) {
	enabled := []string{MechanismScramSHA512, MechanismPlain, MechanismOAuthBearer}
	a := mustNew(t, Config{Store: newMemStore(), Mechanisms: enabled, OAuth: OAuthConfig{Unsecured: true}})
	if got := a.Mechanisms(); !slices.Equal(got, enabled) {
		t.Fatalf("Mechanisms() = %v", got)
	}
	a.Mechanisms()[0] = "changed"
	if a.Mechanisms()[0] != MechanismScramSHA512 {
		t.Fatal("Mechanisms() shares the Authenticator's slice")
	}
	for _, m := range enabled {
		s := mustStart(t, a, m)
		if s.Principal() != "" || !s.Expiry().IsZero() {
			t.Fatalf("%s: a fresh session has principal %q, expiry %v", m, s.Principal(), s.Expiry())
		}
	}
	for _, m := range []string{MechanismScramSHA256, "GSSAPI", "scram-sha-512", ""} {
		if _, err := a.Start(m); !errors.Is(err, ErrUnsupportedMechanism) {
			t.Fatalf("Start(%q): %v", m, err)
		}
	}
}
